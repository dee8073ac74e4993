#include "redis.hpp"

#include <sys/time.h>

#include <spdlog/spdlog.h>

#include <atomic>

#include "metrics.hpp"
#include "util.hpp"
#include "waypoint/core/errors.hpp"

namespace waypoint::sidecar {

using core::Error;
using core::ErrorClass;

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

core::RedisDurability ReadDurability(Redis& r) {
  core::RedisDurability d;
  auto replies = r.Pipeline({{"CONFIG", "GET", "maxmemory-policy"},
                             {"CONFIG", "GET", "appendonly"},
                             {"CONFIG", "GET", "save"},
                             {"INFO", "memory"},
                             {"INFO", "persistence"}});
  auto config_value = [](const Reply& rep, std::string* out) {
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 || rep->element[1]->type != REDIS_REPLY_STRING)
      return false;
    out->assign(rep->element[1]->str, rep->element[1]->len);
    return true;
  };
  std::string v;
  if (config_value(replies[0], &v)) d.maxmemory_policy = v;
  if (config_value(replies[1], &v)) d.aof = v == "yes" ? 1 : 0;
  if (config_value(replies[2], &v)) d.rdb = v.find_first_not_of(' ') == std::string::npos ? 0 : 1;
  // INFO works where CONFIG is disabled; it knows the policy and whether AOF is on.
  if (replies[3]->type == REDIS_REPLY_STRING && d.maxmemory_policy.empty())
    d.maxmemory_policy = core::InfoField(std::string(replies[3]->str, replies[3]->len), "maxmemory_policy");
  if (replies[4]->type == REDIS_REPLY_STRING && d.aof == -1) {
    const std::string aof = core::InfoField(std::string(replies[4]->str, replies[4]->len), "aof_enabled");
    if (!aof.empty()) d.aof = aof == "1" ? 1 : 0;
  }
  return d;
}

void CheckDurability(Redis& r, const std::string& where, bool allow_eviction) {
  static std::atomic<bool> warned_eviction{false}, warned_persistence{false};
  const core::RedisDurability d = ReadDurability(r);
  const std::string refusal = core::EvictionRefusal(d, where);
  if (!refusal.empty()) {
    if (!allow_eviction) throw Error(ErrorClass::kConfig, refusal + " (redis.allow_eviction = true)");
    if (!warned_eviction.exchange(true)) spdlog::warn("{} (allowed by redis.allow_eviction)", refusal);
  }
  if (d.maxmemory_policy.empty() && !warned_eviction.exchange(true))
    spdlog::warn("Redis {}: cannot read maxmemory-policy; make sure it is noeviction", where);
  const std::string warning = core::PersistenceWarning(d, where);
  if (!warning.empty() && !warned_persistence.exchange(true)) spdlog::warn("{}", warning);
}

RedisPool::RedisPool(std::string name, RedisUrl url, size_t size, int timeout_ms, int wait_ms)
    : name_(std::move(name)),
      url_(std::move(url)),
      size_(std::max<size_t>(1, size)),
      timeout_ms_(timeout_ms),
      wait_ms_(wait_ms) {
  std::lock_guard<std::mutex> l(mu_);
  GlobalMetrics().Set("waypoint_sidecar_redis_pool_size", Label("pool", name_), static_cast<double>(size_));
  GlobalMetrics().Add("waypoint_sidecar_redis_pool_waits_total", Label("pool", name_), 0);
  GlobalMetrics().Add("waypoint_sidecar_redis_pool_timeouts_total", Label("pool", name_), 0);
  Publish();
}

void RedisPool::Publish() {
  const std::string label = Label("pool", name_);
  GlobalMetrics().Set("waypoint_sidecar_redis_pool_in_use", label, static_cast<double>(in_use_));
  GlobalMetrics().Set("waypoint_sidecar_redis_pool_idle", label, static_cast<double>(idle_.size()));
}

RedisPool::Lease RedisPool::Acquire() {
  std::unique_lock<std::mutex> l(mu_);
  auto available = [&] { return !idle_.empty() || created_ < size_; };
  if (!available()) {
    GlobalMetrics().Add("waypoint_sidecar_redis_pool_waits_total", Label("pool", name_));
    if (!cv_.wait_for(l, Ms(wait_ms_), available)) {
      GlobalMetrics().Add("waypoint_sidecar_redis_pool_timeouts_total", Label("pool", name_));
      throw Error(ErrorClass::kTransient, "Redis pool '" + name_ + "' exhausted: no connection free after " +
                                              std::to_string(wait_ms_) + " ms (" + std::to_string(size_) + " in use)");
    }
  }
  std::unique_ptr<Redis> c;
  if (!idle_.empty()) {
    c = std::move(idle_.back());
    idle_.pop_back();
  } else {
    ++created_;
    c = std::make_unique<Redis>(url_, timeout_ms_);  // connects lazily on first command
  }
  ++in_use_;
  Publish();
  return Lease(this, std::move(c));
}

void RedisPool::Release(std::unique_ptr<Redis> c) {
  {
    std::lock_guard<std::mutex> l(mu_);
    --in_use_;
    idle_.push_back(std::move(c));
    Publish();
  }
  cv_.notify_one();
}

size_t RedisPool::in_use() {
  std::lock_guard<std::mutex> l(mu_);
  return in_use_;
}

size_t RedisPool::idle() {
  std::lock_guard<std::mutex> l(mu_);
  return idle_.size();
}

RedisPool::Lease& RedisPool::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    if (pool_ && c_) pool_->Release(std::move(c_));
    pool_ = o.pool_;
    c_ = std::move(o.c_);
    o.pool_ = nullptr;
  }
  return *this;
}

RedisPool::Lease::~Lease() {
  if (pool_ && c_) pool_->Release(std::move(c_));
}

}  // namespace waypoint::sidecar
