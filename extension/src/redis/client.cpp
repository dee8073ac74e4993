// The latch-driven Redis client (see client.hpp for why it exists).
#include "client.hpp"

#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "waypoint/ext/guard.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
}

namespace waypoint::redis {
namespace {

int64_t NowMs() { return GetCurrentTimestamp() / 1000; }

Reply CopyReply(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(CopyReply(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

struct ReplyFree {
  void operator()(void* r) const { freeReplyObject(r); }
};

}  // namespace

Client::Client(RedisUrl url, int timeout_ms, uint32_t wait_event)
    : url_(std::move(url)), timeout_ms_(timeout_ms), wait_event_(wait_event) {}

Client::~Client() { Close(); }

void Client::Close() {
  if (ctx_ != nullptr) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
}

void Client::Fail(const std::string& what) {
  std::string msg = "redis " + url_.Redacted() + ": " + what;
  Close();
  throw RedisError(msg);
}

void Client::WaitSocket(int events, int64_t deadline_ms) {
  for (;;) {
    const int64_t left = deadline_ms - NowMs();
    if (left <= 0) Fail("timed out after " + std::to_string(timeout_ms_) + " ms");
    int rc = 0;
    const int fd = ctx_->fd;
    const uint32_t we = wait_event_;
    ext::PgCall([&] {
      rc = WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH | events, fd, left, we);
    });
    if (rc & WL_LATCH_SET) {
      try {
        // SIGTERM ends the process here (FATAL): the connection goes away with it. A
        // query cancel arrives as PgError: drop the connection, then let it propagate.
        ext::PgCall([] {
          ResetLatch(MyLatch);
          CHECK_FOR_INTERRUPTS();
        });
      } catch (...) {
        Close();
        throw;
      }
    }
    if (rc & events) return;
  }
}

void Client::Connect() {
  if (ctx_ != nullptr) return;
  const int64_t deadline = NowMs() + timeout_ms_;
  redisContext* c = redisConnectNonBlock(url_.host.c_str(), url_.port);
  if (c == nullptr) throw RedisError("redis " + url_.Redacted() + ": cannot allocate a context");
  if (c->err) {
    std::string msg = "redis " + url_.Redacted() + ": " + c->errstr;
    redisFree(c);
    throw RedisError(msg);
  }
  ctx_ = c;
  WaitSocket(WL_SOCKET_WRITEABLE, deadline);  // the non-blocking connect finished
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(ctx_->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) Fail(std::string("connect failed: ") + strerror(err));

  std::vector<Command> init;
  if (!url_.password.empty()) {
    if (url_.user.empty())
      init.push_back({"AUTH", url_.password});
    else
      init.push_back({"AUTH", url_.user, url_.password});
  }
  if (url_.db != 0) init.push_back({"SELECT", std::to_string(url_.db)});
  if (init.empty()) return;
  for (const Reply& r : Pipeline(init))
    if (r.IsError()) Fail("connection setup failed: " + r.str);
}

std::vector<Reply> Client::Pipeline(const std::vector<Command>& cmds) {
  Send(cmds);
  return Receive(cmds.size());
}

void Client::Send(const std::vector<Command>& cmds) {
  Connect();
  const int64_t deadline = NowMs() + timeout_ms_;
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const Command& cmd : cmds) {
    argv.clear();
    argvlen.clear();
    for (const std::string& a : cmd) {
      argv.push_back(a.data());
      argvlen.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), argvlen.data()) != REDIS_OK)
      Fail(ctx_->errstr);
  }
  int done = 0;
  for (;;) {
    if (redisBufferWrite(ctx_, &done) != REDIS_OK) Fail(ctx_->errstr);
    if (done) break;
    WaitSocket(WL_SOCKET_WRITEABLE, deadline);
  }
}

std::vector<Reply> Client::Receive(size_t n) {
  if (ctx_ == nullptr) throw RedisError("redis " + url_.Redacted() + ": not connected");
  const int64_t deadline = NowMs() + timeout_ms_;
  std::vector<Reply> replies;
  replies.reserve(n);
  while (replies.size() < n) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(ctx_, &raw) != REDIS_OK) Fail(ctx_->errstr);
    if (raw != nullptr) {
      std::unique_ptr<void, ReplyFree> owned(raw);
      replies.push_back(CopyReply(static_cast<redisReply*>(raw)));
      continue;
    }
    WaitSocket(WL_SOCKET_READABLE, deadline);
    if (redisBufferRead(ctx_) != REDIS_OK) Fail(ctx_->errstr);
  }
  return replies;
}

Reply Client::Call(const Command& cmd) { return std::move(Pipeline({cmd}).front()); }

long long ReplyInt(const Reply& r) {
  if (r.type == Reply::Type::kInteger) return r.integer;
  if (r.IsString()) {
    char* end = nullptr;
    errno = 0;
    const long long v = strtoll(r.str.c_str(), &end, 10);
    if (errno == 0 && end != r.str.c_str() && *end == '\0') return v;
  }
  return 0;
}

int64_t StreamIdMillis(const std::string& id) {
  int64_t ms = 0;
  for (char c : id) {
    if (c == '-') return ms;
    if (c < '0' || c > '9') return 0;
    ms = ms * 10 + (c - '0');
  }
  return ms;
}

}  // namespace waypoint::redis
