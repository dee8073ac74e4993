// A blocking hiredis connection owned by one thread (hiredis contexts are not
// thread-safe). Errors are sticky in hiredis, so any I/O error drops the context and the
// next call reconnects (re-applying timeouts, keepalive, AUTH and SELECT).
#pragma once

#include <hiredis/hiredis.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "waypoint/core/redis_policy.hpp"
#include "waypoint/core/redis_url.hpp"

namespace waypoint::sidecar {

// The URL rule is core's, shared with the extension (waypoint/core/redis_url.hpp).
using RedisUrl = core::RedisUrl;

// ParseRedisUrl accepts redis://[[user]:password@]host[:port][/db]; throws core::Error(kConfig).
inline RedisUrl ParseRedisUrl(const std::string& url) { return core::RedisUrl::Parse(url); }

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
  int timeout_ms() const { return timeout_ms_; }

 private:
  void Connect();
  RedisUrl url_;
  int timeout_ms_;
  redisContext* ctx_ = nullptr;
};

// ReadDurability asks the server for its eviction policy and persistence (CONFIG GET,
// falling back to INFO where CONFIG is renamed away, as on some managed services).
core::RedisDurability ReadDurability(Redis& r);

// CheckDurability reads the server's settings and throws core::Error(kConfig) with a
// clear message when the eviction policy can evict streams and allow_eviction is false.
// A missing persistence setting is logged (warn) once per process.
void CheckDurability(Redis& r, const std::string& where, bool allow_eviction);

// RedisPool: long-lived connections shared by the sidecar's concurrent short commands
// (never one connection per operation). A lease holds one connection for a unit of work
// and returns it on destruction; a lease that was used when an I/O error happened
// returns a disconnected client that reconnects on its next use. Blocking reads
// (XREADGROUP BLOCK) never use the pool: they keep a dedicated connection, so they can
// not starve other work of connections. Health figures go to the metrics as
// waypoint_sidecar_redis_pool_{in_use,idle,size,waits_total,timeouts_total}{pool=NAME}.
class RedisPool {
 public:
  RedisPool(std::string name, RedisUrl url, size_t size, int timeout_ms, int wait_ms);
  class Lease {
   public:
    Lease() = default;
    Lease(RedisPool* pool, std::unique_ptr<Redis> c) : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&& o) noexcept;
    ~Lease();
    Redis& operator*() { return *c_; }
    Redis* operator->() { return c_.get(); }
    explicit operator bool() const { return c_ != nullptr; }

   private:
    RedisPool* pool_ = nullptr;
    std::unique_ptr<Redis> c_;
  };
  // Acquire waits up to wait_ms for a free connection; throws core::Error(kTransient)
  // ("pool exhausted") after that, counted in timeouts_total.
  Lease Acquire();
  size_t in_use();
  size_t idle();
  size_t size() const { return size_; }

 private:
  void Release(std::unique_ptr<Redis> c);
  void Publish();  // requires mu_
  std::string name_;
  RedisUrl url_;
  size_t size_;
  int timeout_ms_, wait_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Redis>> idle_;
  size_t created_ = 0, in_use_ = 0;
};

}  // namespace waypoint::sidecar
