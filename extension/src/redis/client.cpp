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

// The reader builds Reply values directly (instead of hiredis' own reply objects that
// would then be copied): a child is constructed in place in its parent's elements,
// which are sized once when the array header is read, so the pointers hiredis keeps
// stay valid. Only a root is ever freed (hiredis frees the reply it is building on a
// protocol error; Receive takes complete ones). No C++ exception may cross into
// hiredis: an allocation failure returns NULL, which hiredis reports as out of memory.
Reply* Place(const redisReadTask* task) {
  if (task->parent == nullptr) return new Reply();
  return &static_cast<Reply*>(task->parent->obj)->elements[static_cast<size_t>(task->idx)];
}

void* CreateString(const redisReadTask* task, char* str, size_t len) {
  try {
    Reply* r = Place(task);
    r->type = task->type == REDIS_REPLY_ERROR    ? Reply::Type::kError
              : task->type == REDIS_REPLY_STATUS ? Reply::Type::kStatus
                                                 : Reply::Type::kString;
    r->str.assign(str, len);
    return r;
  } catch (...) {
    return nullptr;
  }
}

void* CreateArray(const redisReadTask* task, int elements) {
  try {
    Reply* r = Place(task);
    r->type = Reply::Type::kArray;
    r->elements.resize(elements > 0 ? static_cast<size_t>(elements) : 0);
    return r;
  } catch (...) {
    return nullptr;
  }
}

void* CreateInteger(const redisReadTask* task, long long value) {
  try {
    Reply* r = Place(task);
    r->type = Reply::Type::kInteger;
    r->integer = value;
    return r;
  } catch (...) {
    return nullptr;
  }
}

void* CreateNil(const redisReadTask* task) {
  try {
    return Place(task);  // a default Reply is nil
  } catch (...) {
    return nullptr;
  }
}

void FreeReply(void* root) { delete static_cast<Reply*>(root); }

redisReplyObjectFunctions kReplyFunctions = {CreateString, CreateArray, CreateInteger, CreateNil, FreeReply};

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
  c->reader->fn = &kReplyFunctions;
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
      std::unique_ptr<Reply> owned(static_cast<Reply*>(raw));
      replies.push_back(std::move(*owned));
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
