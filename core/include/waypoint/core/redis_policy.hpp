// Redis durability and alert rules shared by the sidecar and the extension, so both
// halves refuse the same servers and call the same backlog "warning" (header-only: the
// extension and the sidecar each bring their own Redis client).
#pragma once

#include <cstdint>
#include <string>

namespace waypoint::core {

// What a Redis server says about eviction and persistence.
struct RedisDurability {
  std::string maxmemory_policy;  // empty: unknown (INFO/CONFIG refused)
  int aof = -1;                  // 1 on, 0 off, -1 unknown
  int rdb = -1;                  // 1: some "save" rule, 0: none, -1 unknown
};

// Value of `field` in an INFO reply ("field:value\r\n" lines); empty when absent.
inline std::string InfoField(const std::string& info, const std::string& field) {
  const std::string key = field + ":";
  size_t pos = 0;
  while (pos < info.size()) {
    size_t end = info.find('\n', pos);
    if (end == std::string::npos) end = info.size();
    if (info.compare(pos, key.size(), key) == 0) {
      std::string v = info.substr(pos + key.size(), end - pos - key.size());
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
      return v;
    }
    pos = end + 1;
  }
  return "";
}

// EvictionRefusal: a message when the policy may evict stream keys (any policy but
// noeviction; an evicted partition stream loses unapplied entries silently), else "".
inline std::string EvictionRefusal(const RedisDurability& d, const std::string& where) {
  if (d.maxmemory_policy.empty() || d.maxmemory_policy == "noeviction") return "";
  return "Redis " + where + " has maxmemory-policy " + d.maxmemory_policy +
         ", which can evict Waypoint's streams and lose entries that were never applied; set "
         "maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf), "
         "or override explicitly if you accept the loss";
}

// PersistenceWarning: a message when neither AOF nor RDB snapshots are on, else "".
inline std::string PersistenceWarning(const RedisDurability& d, const std::string& where) {
  if (d.aof == 1 || d.rdb == 1) return "";
  if (d.aof == -1 && d.rdb == -1)
    return "Redis " + where + " does not say whether it persists (CONFIG refused); a restart may lose queued entries";
  return "Redis " + where +
         " has no persistence (appendonly no, no save rules): a Redis restart loses every "
         "queued entry and the sidecar cursors; enable appendonly yes";
}

// Queue alert level of one stream/group: 0 ok, 1 warning, 2 critical. A threshold of 0
// (or less) is off. backlog = pending + lag; age_ms < 0 means no pending entry.
inline int QueueAlertLevel(int64_t backlog, int64_t age_ms, int64_t backlog_warning, int64_t backlog_critical,
                           int64_t age_warning_ms, int64_t age_critical_ms) {
  if ((backlog_critical > 0 && backlog >= backlog_critical) || (age_critical_ms > 0 && age_ms >= age_critical_ms))
    return 2;
  if ((backlog_warning > 0 && backlog >= backlog_warning) || (age_warning_ms > 0 && age_ms >= age_warning_ms)) return 1;
  return 0;
}
inline const char* QueueAlertName(int level) { return level >= 2 ? "critical" : level == 1 ? "warning" : "ok"; }

}  // namespace waypoint::core
