// Shared worker helpers (see worker_util.hpp).
#include "worker_util.hpp"

#include "settings.hpp"
#include "shmem.hpp"
#include "spi.hpp"
#include "waypoint/ext/guard.hpp"

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

void WaitForExtension() {
  bool logged = false;
  for (;;) {
    BeginTransaction("waypoint: checking for the extension");
    bool exists = false;
    try {
      exists = ExtensionExists();
      CommitTransaction();
    } catch (...) {
      AbortTransaction();
      throw;
    }
    if (exists) return;
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
  client_ = std::make_unique<redis::Client>(redis::RedisUrl::Parse(url), settings::redis_timeout_ms,
                                            PG_WAIT_EXTENSION);
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
  if (down_ || !ever_up_)
    LogMessage(LOG, std::string("waypoint: connected to ") + client_->url().Redacted());
  down_ = false;
  ever_up_ = true;
  backoff_.Reset();
  delay_ms_ = 0;
  NoteRedis(slot_, true);
  return client_.get();
}

void RedisLink::Failed(const std::string& what) {
  client_->Close();
  delay_ms_ = backoff_.Next();
  NoteRedis(slot_, false);
  if (!down_) {
    LogMessage(WARNING, "waypoint: Redis unavailable, retrying with backoff: " + what);
    NoteError(slot_, what.c_str());
  }
  down_ = true;
}

}  // namespace waypoint::bgw
