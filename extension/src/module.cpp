// Waypoint's module entry: _PG_init declares the GUCs, requests shared memory and
// registers the static launcher. Nothing else happens here: no
// sockets, no threads; Redis connections are made lazily by the workers.
#include <climits>
#include <exception>
#include <string>

#include "bgw/settings.hpp"
#include "bgw/shmem.hpp"
#include "redis/client.hpp"
#include "waypoint/ext/guard.hpp"

extern "C" {
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace waypoint::settings {
char* redis_url = nullptr;
char* database = nullptr;
int partitions = 8;
int workers = 2;
int batch_size = 2000;
int block_ms = 200;
char* key_prefix = nullptr;
int claim_idle_ms = 30000;
int redis_timeout_ms = 5000;
bool redis_allow_eviction = false;
bool apply_paused = false;
int alert_backlog_warning = 250000;
int alert_backlog_critical = 500000;
int alert_age_warning_ms = 60000;
int alert_age_critical_ms = 300000;
int thread_roots_rebuild_min = 10000;
}  // namespace waypoint::settings

namespace {

// A GUC check hook runs in the postmaster too: it may not throw, so C++ errors become a
// rejected value with the parser's message as detail.
bool CheckRedisUrl(char** newval, void** extra, GucSource source) {
  if (*newval == nullptr) return false;
  const char* problem = nullptr;
  try {
    (void)waypoint::redis::RedisUrl::Parse(*newval);
  } catch (const std::exception& e) {
    problem = pstrdup(e.what());
  } catch (...) {
    problem = "invalid redis URL";
  }
  if (problem != nullptr) {
    GUC_check_errdetail("%s", problem);
    return false;
  }
  return true;
}

bool CheckKeyPrefix(char** newval, void** extra, GucSource source) {
  if (*newval == nullptr || **newval == '\0') {
    GUC_check_errdetail("waypoint.key_prefix must not be empty.");
    return false;
  }
  for (const char* p = *newval; *p; ++p) {
    if (*p == '{' || *p == '}' || *p == ' ') {
      GUC_check_errdetail("waypoint.key_prefix must not contain braces (hash tags) or spaces.");
      return false;
    }
  }
  return true;
}

void DefineGucs() {
  using namespace waypoint::settings;
  DefineCustomStringVariable("waypoint.redis_url", "Redis holding the Waypoint streams.",
                             "redis://[[user]:password@]host[:port][/db]; the same Redis the sidecar writes to.",
                             &redis_url, "redis://127.0.0.1:6379", PGC_SIGHUP, GUC_SUPERUSER_ONLY, CheckRedisUrl,
                             nullptr, nullptr);
  DefineCustomStringVariable("waypoint.database", "Database the Waypoint workers apply into.",
                             "CREATE EXTENSION waypoint must be run in this database.", &database, "postgres",
                             PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("waypoint.partitions", "Number of partition streams (fid mod partitions).",
                          "Must equal the sidecar's partition count.", &partitions, 8, 1, 1024, PGC_POSTMASTER, 0,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("waypoint.workers", "Number of apply workers.",
                          "Worker i applies the partitions p with p % workers = i. Each uses one "
                          "max_worker_processes slot, plus one for the launcher and one for the dispatcher.",
                          &workers, 2, 1, 64, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("waypoint.batch_size", "Entries read per partition stream in one batch.",
                          "One transaction applies the entries read from all of a worker's partitions.", &batch_size,
                          2000, 1, 100000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("waypoint.block_ms", "How long an idle worker's read waits in Redis for new entries.",
                          nullptr, &block_ms, 200, 1, 10000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("waypoint.key_prefix", "Prefix of every Redis key Waypoint uses.",
                             "Must equal the sidecar's key prefix.", &key_prefix, "waypoint", PGC_POSTMASTER, 0,
                             CheckKeyPrefix, nullptr, nullptr);
  DefineCustomIntVariable("waypoint.claim_idle_ms",
                          "Pending entries idle this long are claimed from other consumers (XAUTOCLAIM).", nullptr,
                          &claim_idle_ms, 30000, 100, 86400000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("waypoint.redis_timeout_ms", "Upper bound of one Redis round trip (connect or command).",
                          "Also bounds the Redis reads of the waypoint.queue_depth and waypoint.sync_status views.",
                          &redis_timeout_ms, 5000, 100, 600000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable("waypoint.redis_allow_eviction", "Apply even when Redis' maxmemory-policy can evict keys.",
                           "Off: workers refuse a Redis whose maxmemory-policy is not noeviction (an evicted stream "
                           "loses entries that were never applied) and log why.",
                           &redis_allow_eviction, false, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable("waypoint.apply_paused", "Apply workers read nothing while on (entries wait in Redis).",
                           "For maintenance and for benchmarks that prefill the streams; nothing is lost, the "
                           "workers resume where they stopped when it is turned off (reload).",
                           &apply_paused, false, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("waypoint.alert_backlog_warning",
                          "Unapplied entries (pending + lag) of a partition stream that make its status 'warning'.",
                          "0 turns the threshold off. Shown in waypoint.queue_depth.status.", &alert_backlog_warning,
                          250000, 0, INT_MAX, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("waypoint.alert_backlog_critical",
                          "Unapplied entries of a partition stream that make its status 'critical'.",
                          "0 turns the threshold off.", &alert_backlog_critical, 500000, 0, INT_MAX, PGC_SIGHUP, 0,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("waypoint.alert_pending_age_warning",
                          "Age of the oldest pending entry that makes a partition's status 'warning'.",
                          "0 turns the threshold off.", &alert_age_warning_ms, 60000, 0, INT_MAX, PGC_SIGHUP,
                          GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("waypoint.alert_pending_age_critical",
                          "Age of the oldest pending entry that makes a partition's status 'critical'.",
                          "0 turns the threshold off.", &alert_age_critical_ms, 300000, 0, INT_MAX, PGC_SIGHUP,
                          GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("waypoint.thread_roots_rebuild_min",
                          "Queued casts from which thread roots are resolved by one set-based pass over casts.",
                          "The pass (waypoint.rebuild_thread_roots) runs when the queue holds at least this many "
                          "casts and an eighth of the table; below, the incremental resolver takes them in steps.",
                          &thread_roots_rebuild_min, 10000, 1, INT_MAX, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("waypoint");
}

void RegisterLauncher() {
  BackgroundWorker w;
  memset(&w, 0, sizeof w);
  // The launcher only starts and watches workers: no database connection needed.
  w.bgw_flags = BGWORKER_SHMEM_ACCESS;
  w.bgw_start_time = BgWorkerStart_RecoveryFinished;
  w.bgw_restart_time = 5;
  strlcpy(w.bgw_library_name, "waypoint", sizeof w.bgw_library_name);
  strlcpy(w.bgw_function_name, "waypoint_launcher_main", sizeof w.bgw_function_name);
  strlcpy(w.bgw_name, "waypoint launcher", sizeof w.bgw_name);
  strlcpy(w.bgw_type, "waypoint launcher", sizeof w.bgw_type);
  RegisterBackgroundWorker(&w);
}

}  // namespace

void _PG_init(void) {
  if (!process_shared_preload_libraries_in_progress) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("waypoint must be loaded via shared_preload_libraries"),
                    errhint("Add waypoint to shared_preload_libraries in postgresql.conf and restart the server.")));
  }
  DefineGucs();
  waypoint::bgw::InstallShmemHooks();
  RegisterLauncher();
}
