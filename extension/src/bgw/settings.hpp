// Waypoint's GUC values (defined and registered in module.cpp). Read them only in the
// process that owns them; PGC_SIGHUP ones change after ProcessConfigFile.
#pragma once

namespace waypoint::settings {

extern char* redis_url;            // waypoint.redis_url        (SIGHUP, superuser only: may hold a password)
extern char* database;             // waypoint.database         (postmaster)
extern int partitions;             // waypoint.partitions       (postmaster) must equal the sidecar's
extern int workers;                // waypoint.workers          (postmaster) apply workers
extern int batch_size;             // waypoint.batch_size       (SIGHUP) entries per partition read
extern int block_ms;               // waypoint.block_ms         (SIGHUP) idle poll interval
extern char* key_prefix;           // waypoint.key_prefix       (postmaster) core::KeyLayout prefix
extern int claim_idle_ms;          // waypoint.claim_idle_ms    (SIGHUP) XAUTOCLAIM idle threshold
extern int redis_timeout_ms;       // waypoint.redis_timeout_ms (SIGHUP) bound on one Redis round trip
extern bool apply_paused;          // waypoint.apply_paused (SIGHUP) workers read nothing while on
extern bool redis_allow_eviction;  // waypoint.redis_allow_eviction (SIGHUP) accept an evicting Redis
// Queue alert thresholds (SIGHUP; 0 = off), read by SQL through current_setting in
// waypoint.queue_depth.status.
extern int alert_backlog_warning;
extern int alert_backlog_critical;
extern int alert_age_warning_ms;
extern int alert_age_critical_ms;
// waypoint.thread_roots_rebuild_min (SUSET), read by SQL in waypoint.thread_roots_rebuild_due().
extern int thread_roots_rebuild_min;

}  // namespace waypoint::settings
