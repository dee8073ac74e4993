// Shared worker helpers (see worker_util.hpp).
#include "worker_util.hpp"

#include "settings.hpp"
#include "shmem.hpp"
#include "waypoint/core/redis_policy.hpp"
#include "waypoint/ext/guard.hpp"
#include "waypoint/ext/spi.hpp"
#include "waypoint/ext/transaction.hpp"

extern "C" {
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/guc.h"
}

namespace waypoint::bgw {

void LogMessage(int level, const std::string& msg) {
  const char* text = msg.c_str();
  ext::PgCall([&] { ereport(level, (errmsg_internal("%s", text))); });
}

bool ProcessPending() {
  bool reloaded = false;
  ext::PgCall([&] {
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
      reloaded = true;
    }
  });
  return reloaded;
}

bool Sleep(int ms) {
  ext::PgCall([&] {
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  });
  return ProcessPending();
}

bool ExtensionCreated() {
  using ext::pg::ArrayParam;
  using ext::pg::ParamType;
  static ext::pg::PreparedStatement installed{
      "extension_version", "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'waypoint'", {}};
  std::vector<ArrayParam> rows = {ArrayParam(ParamType::kText)};
  ext::pg::WithTransaction("waypoint: checking for the extension",
                           [&] { ext::pg::ExecuteArrays(installed, {}, &rows); });
  const bool exists = rows[0].size() > 0;
  const std::string version(exists && !rows[0].null_at(0) ? rows[0].str_at(0) : "");
  // The workers apply with this module's SQL, which needs this module's schema: an older
  // installed version waits for ALTER EXTENSION waypoint UPDATE (entries wait in Redis).
  static std::string logged_version;
  if (exists && version != WAYPOINT_EXTVERSION) {
    if (logged_version != version)
      LogMessage(LOG, "waypoint: extension waypoint is at version " + version + ", this module needs " +
                          WAYPOINT_EXTVERSION + ": run ALTER EXTENSION waypoint UPDATE; waiting");
    logged_version = version;
    return false;
  }
  logged_version.clear();
  return exists;
}

void WaitForExtension() {
  bool logged = false;
  for (;;) {
    if (ExtensionCreated()) return;
    if (!logged)
      LogMessage(DEBUG1, std::string("waypoint: waiting for CREATE EXTENSION waypoint in database \"") +
                             settings::database + "\"");
    logged = true;
    Sleep(5000);
  }
}

RedisLink::RedisLink(int slot) : slot_(slot) { Reconfigure(); }

void RedisLink::Reconfigure() {
  const std::string url = settings::redis_url ? settings::redis_url : "";
  const std::string key = url + "|" + std::to_string(settings::redis_timeout_ms);
  if (client_ && key == url_text_) return;
  // After a reload that changed the settings, log the next connection again.
  if (client_) ever_up_ = false;
  url_text_ = key;
  // The GUC check hook already validated the URL.
  client_ = std::make_unique<redis::Client>(redis::RedisUrl::Parse(url), settings::redis_timeout_ms, PG_WAIT_EXTENSION);
  backoff_.Reset();
  delay_ms_ = 0;
}

redis::Client* RedisLink::Get() {
  if (client_->connected()) return client_.get();
  try {
    client_->Connect();
  } catch (const redis::RedisError& e) {
    Failed(e.what());
    return nullptr;
  }
  bool allowed = false;
  try {
    allowed = CheckDurability();
  } catch (const redis::RedisError& e) {
    Failed(e.what());
    return nullptr;
  }
  if (!allowed) {
    client_->Close();
    delay_ms_ = 10000;  // re-check now and then: the operator may fix the policy live
    NoteRedis(slot_, false);
    return nullptr;
  }
  if (down_ || !ever_up_) LogMessage(LOG, std::string("waypoint: connected to ") + client_->url().Redacted());
  down_ = false;
  ever_up_ = true;
  backoff_.Reset();
  delay_ms_ = 0;
  NoteRedis(slot_, true);
  return client_.get();
}

bool RedisLink::CheckDurability() {
  const auto replies = client_->Pipeline({{"CONFIG", "GET", "maxmemory-policy"},
                                          {"CONFIG", "GET", "appendonly"},
                                          {"CONFIG", "GET", "save"},
                                          {"INFO", "memory"},
                                          {"INFO", "persistence"}});
  core::RedisDurability d;
  auto config_value = [](const redis::Reply& r, std::string* out) {
    if (!r.IsArray() || r.elements.size() < 2 || !r.elements[1].IsString()) return false;
    *out = r.elements[1].str;
    return true;
  };
  std::string v;
  if (config_value(replies[0], &v)) d.maxmemory_policy = v;
  if (config_value(replies[1], &v)) d.aof = v == "yes" ? 1 : 0;
  if (config_value(replies[2], &v)) d.rdb = v.find_first_not_of(' ') == std::string::npos ? 0 : 1;
  // INFO still answers where CONFIG is renamed away (managed services).
  if (d.maxmemory_policy.empty() && replies[3].IsString())
    d.maxmemory_policy = core::InfoField(replies[3].str, "maxmemory_policy");
  if (d.aof == -1 && replies[4].IsString()) {
    const std::string aof = core::InfoField(replies[4].str, "aof_enabled");
    if (!aof.empty()) d.aof = aof == "1" ? 1 : 0;
  }
  const std::string where = client_->url().Redacted();
  const std::string refusal = core::EvictionRefusal(d, where);
  if (!refusal.empty() && !settings::redis_allow_eviction) {
    if (!refused_) {
      const std::string msg = "waypoint: refusing to apply: " + refusal + " (waypoint.redis_allow_eviction = on)";
      LogMessage(WARNING, msg);
      NoteError(slot_, msg.c_str());
    }
    refused_ = true;
    return false;
  }
  if (refused_) LogMessage(LOG, "waypoint: Redis " + where + " accepted (maxmemory-policy " + d.maxmemory_policy + ")");
  refused_ = false;
  const std::string warning = core::PersistenceWarning(d, where);
  if (!warning.empty() && !warned_persistence_) LogMessage(WARNING, "waypoint: " + warning);
  warned_persistence_ = true;
  return true;
}

void RedisLink::Failed(const std::string& what) {
  client_->Close();
  delay_ms_ = static_cast<int>(backoff_.Next());
  NoteRedis(slot_, false);
  if (!down_) {
    LogMessage(WARNING, "waypoint: Redis unavailable, retrying with backoff: " + what);
    NoteError(slot_, what.c_str());
  }
  down_ = true;
}

}  // namespace waypoint::bgw
