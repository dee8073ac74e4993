// A small Redis client for Postgres processes (background workers and backends).
//
// Why not a blocking hiredis context: a blocking read retries EINTR internally, so a
// SIGTERM could never interrupt it. Here the socket is non-blocking and
// every wait goes through WaitLatchOrSocket(MyLatch | socket | timeout |
// WL_EXIT_ON_PM_DEATH): commands are written, then the process sleeps on the socket AND
// its latch, and reads only when the socket is readable. When the latch is set the
// pending interrupts are processed (CHECK_FOR_INTERRUPTS through PgCall): SIGTERM ends
// the process (the connection simply goes away with it), a query cancel becomes a C++
// PgError that unwinds and frees the connection. The hiredis reader builds replies as
// plain C++ values directly (client.cpp, kReplyFunctions).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "waypoint/core/redis_url.hpp"

struct redisContext;

namespace waypoint::redis {

// RedisUrl: redis://[[user]:password@]host[:port][/db], core's rule shared with the
// sidecar (waypoint/core/redis_url.hpp). Parse throws core::Error naming what is wrong.
using RedisUrl = core::RedisUrl;

// Reply is a copied Redis reply. Type names follow RESP2.
struct Reply {
  enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  std::string str;  // string, status and error replies
  long long integer = 0;
  std::vector<Reply> elements;

  bool IsNil() const { return type == Type::kNil; }
  bool IsError() const { return type == Type::kError; }
  bool IsArray() const { return type == Type::kArray; }
  bool IsString() const { return type == Type::kString || type == Type::kStatus; }
};

// A Redis failure: connection refused or lost, timeout, protocol error. The client is
// disconnected afterwards; callers reconnect with backoff.
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Command = std::vector<std::string>;

class Client {
 public:
  // wait_event: the wait event reported while waiting on Redis.
  Client(RedisUrl url, int timeout_ms, uint32_t wait_event);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connect (TCP, AUTH, SELECT); throws RedisError. A no-op when connected.
  void Connect();
  bool connected() const { return ctx_ != nullptr; }
  void Close();

  // Pipeline sends every command in one write and returns one reply per command, in
  // order. Error replies are returned, not thrown; I/O failures and timeouts throw
  // RedisError (and disconnect).
  std::vector<Reply> Pipeline(const std::vector<Command>& cmds);
  Reply Call(const Command& cmd);
  // Pipeline in two halves, to overlap Redis work with the caller's: Send writes the
  // commands, Receive(n) reads the next n replies (every sent command's reply must be
  // received, in order, before other commands' replies).
  void Send(const std::vector<Command>& cmds);
  std::vector<Reply> Receive(size_t n);

  const RedisUrl& url() const { return url_; }

 private:
  // Wait for the socket (events: WL_SOCKET_READABLE / WL_SOCKET_WRITEABLE) until the
  // deadline (ms since epoch of GetCurrentTimestamp/1000); throws RedisError on timeout.
  void WaitSocket(int events, int64_t deadline_ms);
  [[noreturn]] void Fail(const std::string& what);

  RedisUrl url_;
  int timeout_ms_;
  uint32_t wait_event_;
  redisContext* ctx_ = nullptr;
};

// Helpers for reading replies.
long long ReplyInt(const Reply& r);  // integer reply or decimal string
// Milliseconds part of a stream entry id "<ms>-<seq>"; 0 if malformed.
int64_t StreamIdMillis(const std::string& id);

}  // namespace waypoint::redis
