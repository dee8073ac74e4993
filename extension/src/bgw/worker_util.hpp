// Pieces shared by the apply workers and the outbox dispatcher: latch sleeps that honour
// SIGTERM/SIGHUP, logging from C++ (never ERROR: C++ code throws instead), waiting for
// CREATE EXTENSION, and a Redis link that reconnects with capped backoff and logs only
// when its state changes.
#pragma once

#include <memory>
#include <string>

#include "../redis/client.hpp"
#include "waypoint/core/backoff.hpp"

namespace waypoint::bgw {

// Log at LOG/WARNING/DEBUG1 (no ERROR and above: an ERROR outside a transaction ends the worker).
void LogMessage(int level, const std::string& msg);

// Sleep on the latch for up to ms; processes interrupts (SIGTERM ends the process) and
// returns true when the configuration was reloaded.
bool Sleep(int ms);

// ProcessPending handles interrupts and a pending SIGHUP; true if reloaded.
bool ProcessPending();

// ExtensionCreated checks, in a transaction of its own, whether the extension exists.
bool ExtensionCreated();
// Blocks (on the latch) until the extension exists in the database.
void WaitForExtension();

class RedisLink {
 public:
  explicit RedisLink(int slot);
  // Connected client, or nullptr while Redis is unreachable (the caller sleeps
  // DelayMs() and tries again).
  redis::Client* Get();
  // Call after a RedisError: drops the connection, logs once per outage.
  void Failed(const std::string& what);
  int DelayMs() const { return delay_ms_; }
  // Rebuild the client from the current GUCs (after a reload changed them).
  void Reconfigure();
  // Durability guard, run after each connect: a Redis whose maxmemory-policy can evict
  // the streams is refused (unless waypoint.redis_allow_eviction); missing persistence
  // is warned about once. Returns false when refused.
  bool CheckDurability();

 private:
  int slot_;
  std::unique_ptr<redis::Client> client_;
  std::string url_text_;
  core::Backoff backoff_{100, 10000};
  int delay_ms_ = 0;
  bool down_ = false;  // an outage was logged and not yet recovered
  bool ever_up_ = false;
  bool refused_ = false;  // the durability guard refused this server (logged once)
  bool warned_persistence_ = false;
};

}  // namespace waypoint::bgw
