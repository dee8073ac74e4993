// A blocking hiredis connection owned by one thread (hiredis contexts are not
// thread-safe). Errors are sticky in hiredis, so any I/O error drops the context and the
// next call reconnects (re-applying timeouts, keepalive, AUTH and SELECT).
#pragma once

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

namespace waypoint::sidecar {

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;
  std::string password;  // never logged
  int db = 0;
  std::string Redacted() const;  // host:port/db for logs
};

// ParseRedisUrl accepts redis://[[user]:password@]host:port[/db]; throws core::Error(kConfig).
RedisUrl ParseRedisUrl(const std::string& url);

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class Redis {
 public:
  explicit Redis(RedisUrl url, int timeout_ms = 5000) : url_(std::move(url)), timeout_ms_(timeout_ms) {}
  ~Redis();
  Redis(const Redis&) = delete;
  Redis& operator=(const Redis&) = delete;

  // Command runs one command; throws core::Error(kTransient) on connection trouble.
  // A Redis error reply is returned as a reply of type REDIS_REPLY_ERROR (callers decide).
  Reply Command(const std::vector<std::string>& argv);
  // Pipeline sends every command in one write and returns one reply per command.
  std::vector<Reply> Pipeline(const std::vector<std::vector<std::string>>& cmds);
  // Ok checks a reply is not an error; throws core::Error(kTransient) with `what` if it is.
  static void Check(const Reply& r, const std::string& what);
  bool connected() const { return ctx_ != nullptr; }
  void Disconnect();

 private:
  void Connect();
  RedisUrl url_;
  int timeout_ms_;
  redisContext* ctx_ = nullptr;
};

}  // namespace waypoint::sidecar
