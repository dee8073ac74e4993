#include "redis.hpp"

#include <sys/time.h>

#include <charconv>

#include "waypoint/core/errors.hpp"

namespace waypoint::sidecar {

using core::Error;
using core::ErrorClass;

std::string RedisUrl::Redacted() const { return host + ":" + std::to_string(port) + "/" + std::to_string(db); }

RedisUrl ParseRedisUrl(const std::string& url) {
  auto bad = [&](const std::string& why) -> Error {
    // The URL may hold a password: say what is wrong without echoing it.
    return Error(ErrorClass::kConfig, "bad Redis URL: " + why);
  };
  const std::string scheme = "redis://";
  if (url.rfind("rediss://", 0) == 0) throw bad("TLS (rediss://) is not supported by hiredis 0.14");
  if (url.rfind(scheme, 0) != 0) throw bad("must start with redis://");
  std::string rest = url.substr(scheme.size());
  RedisUrl out;
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = cred.find(':'); colon != std::string::npos) {
      out.user = cred.substr(0, colon);
      out.password = cred.substr(colon + 1);
    } else {
      out.password = cred;
    }
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    const std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), out.db);
      if (ec != std::errc() || p != db.data() + db.size() || out.db < 0) throw bad("database '" + db + "' is not a number");
    }
  }
  if (rest.empty()) throw bad("no host");
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc() || p != port.data() + port.size() || out.port <= 0 || out.port > 65535)
      throw bad("port '" + port + "' is not valid");
    out.host = rest.substr(0, colon);
  } else {
    out.host = rest;
  }
  if (out.host.empty()) throw bad("no host");
  return out;
}

Redis::~Redis() { Disconnect(); }

void Redis::Disconnect() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

void Redis::Connect() {
  timeval tv{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
  redisContext* c = redisConnectWithTimeout(url_.host.c_str(), url_.port, tv);
  if (c == nullptr || c->err) {
    const std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    throw Error(ErrorClass::kTransient, "cannot connect to Redis " + url_.Redacted() + ": " + why);
  }
  redisSetTimeout(c, tv);
  redisEnableKeepAlive(c);
  ctx_ = c;
  if (!url_.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!url_.user.empty()) auth.push_back(url_.user);
    auth.push_back(url_.password);
    Reply r = Command(auth);
    if (r->type == REDIS_REPLY_ERROR) {
      Disconnect();
      throw Error(ErrorClass::kTransient, "Redis AUTH failed: " + std::string(r->str, r->len));
    }
  }
  if (url_.db != 0) Check(Command({"SELECT", std::to_string(url_.db)}), "SELECT");
}

Reply Redis::Command(const std::vector<std::string>& argv) {
  auto replies = Pipeline({argv});
  return std::move(replies.front());
}

std::vector<Reply> Redis::Pipeline(const std::vector<std::vector<std::string>>& cmds) {
  if (!ctx_) Connect();
  for (const auto& argv : cmds) {
    std::vector<const char*> a;
    std::vector<size_t> l;
    a.reserve(argv.size());
    l.reserve(argv.size());
    for (const auto& s : argv) {
      a.push_back(s.data());
      l.push_back(s.size());
    }
    redisAppendCommandArgv(ctx_, static_cast<int>(a.size()), a.data(), l.data());
  }
  std::vector<Reply> out;
  out.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      const std::string why = ctx_->errstr;
      Disconnect();  // errors are sticky: this context is done
      throw Error(ErrorClass::kTransient, "Redis I/O error: " + why);
    }
    out.emplace_back(static_cast<redisReply*>(raw));
  }
  return out;
}

void Redis::Check(const Reply& r, const std::string& what) {
  if (!r) throw Error(ErrorClass::kTransient, what + ": no reply");
  if (r->type == REDIS_REPLY_ERROR) throw Error(ErrorClass::kTransient, what + ": " + std::string(r->str, r->len));
}

}  // namespace waypoint::sidecar
