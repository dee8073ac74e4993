-- Operating under pressure: queue alert thresholds, backfill modes (fids up to a bound,
-- profile refresh), the sidecar-health and breaker columns, and their privileges.
CREATE EXTENSION IF NOT EXISTS waypoint;

-- Alert settings and their defaults.
SELECT name, setting, unit, context FROM pg_settings
 WHERE name IN ('waypoint.alert_backlog_warning', 'waypoint.alert_backlog_critical',
                'waypoint.alert_pending_age_warning', 'waypoint.alert_pending_age_critical',
                'waypoint.redis_allow_eviction')
 ORDER BY name;

-- The status flips exactly at each threshold (explicit thresholds: 100 / 1000 entries,
-- 10 s / 60 s).
SELECT b AS backlog, waypoint.queue_alert_status(b, NULL, 100, 1000, '10 s', '60 s') AS status
  FROM unnest(ARRAY[0, 99, 100, 999, 1000, 5000]::bigint[]) AS b;
SELECT a AS oldest_pending_age, waypoint.queue_alert_status(0, a, 100, 1000, '10 s', '60 s') AS status
  FROM unnest(ARRAY['0', '9.999 s', '10 s', '59 s', '60 s', '1 h']::interval[]) AS a;
-- Either signal decides; the worse one wins.
SELECT waypoint.queue_alert_status(1000, '1 s', 100, 1000, '10 s', '60 s') AS backlog_critical,
       waypoint.queue_alert_status(5, '61 s', 100, 1000, '10 s', '60 s') AS age_critical,
       waypoint.queue_alert_status(150, '20 s', 100, 1000, '10 s', '60 s') AS both_warning;
-- A threshold of 0 is off.
SELECT waypoint.queue_alert_status(10000000, '10 days', 0, 0, '0', '0') AS all_off,
       waypoint.queue_alert_status(10000000, NULL, 0, 0, '10 s', '60 s') AS backlog_off;
-- Defaults come from the settings (250000 / 500000 entries, 1 min / 5 min).
SELECT waypoint.queue_alert_status(249999, '59 s') AS below,
       waypoint.queue_alert_status(250000, NULL) AS backlog_warning,
       waypoint.queue_alert_status(500000, NULL) AS backlog_critical,
       waypoint.queue_alert_status(0, '1 min') AS age_warning,
       waypoint.queue_alert_status(0, '5 min') AS age_critical;

-- Backfill modes.
SELECT waypoint.enqueue_backfill_upto(1000) AS upto_job;
SELECT waypoint.enqueue_backfill_upto(50, ARRAY['user_data', 'cast']) AS upto_types_job;
SELECT waypoint.enqueue_backfill_upto(0);
SELECT waypoint.enqueue_backfill_upto(NULL);
SELECT waypoint.enqueue_backfill_upto(10, ARRAY['profiles']);
SELECT waypoint.refresh_profiles(ARRAY[3, 1, 3]) AS profiles_job;
SELECT waypoint.refresh_profiles() AS all_profiles_job;
SELECT job_id, fids, types, max_fid FROM waypoint.backfill_jobs ORDER BY job_id;
SELECT job_id, state, all_fids, fids_queued, types FROM waypoint.backfill_progress ORDER BY job_id;
-- max_fid only bounds every-fid jobs.
\set VERBOSITY terse
INSERT INTO waypoint.backfill_jobs (fids, max_fid) VALUES (ARRAY[1], 5);
\set VERBOSITY default

-- The views carry the new columns.
SELECT attname FROM pg_attribute
 WHERE attrelid = 'waypoint.queue_depth'::regclass AND attnum > 0 ORDER BY attnum;
SELECT attname FROM pg_attribute
 WHERE attrelid = 'waypoint.sync_status'::regclass AND attnum > 0 ORDER BY attnum;

-- Privileges: the new verbs and the Redis-backed health only for waypoint_operator.
CREATE ROLE ops_reader;
CREATE ROLE ops_operator IN ROLE waypoint_operator;
SELECT p.proname,
       has_function_privilege('ops_reader', p.oid, 'EXECUTE') AS reader,
       has_function_privilege('ops_operator', p.oid, 'EXECUTE') AS operator
  FROM pg_proc AS p
 WHERE p.pronamespace = 'waypoint'::regnamespace
   AND p.proname IN ('enqueue_backfill_upto', 'refresh_profiles', 'sidecar_health',
                     'waypoint_enqueue_backfill_upto', 'waypoint_refresh_profiles')
 ORDER BY p.proname;
SET ROLE ops_reader;
SELECT waypoint.refresh_profiles(ARRAY[1]);
RESET ROLE;
SET ROLE ops_operator;
SELECT waypoint.refresh_profiles(ARRAY[7]) > 0 AS queued;
RESET ROLE;
DROP ROLE ops_reader;
DROP ROLE ops_operator;
-- Leave a fresh extension for the tests that follow.
DROP EXTENSION waypoint;
CREATE EXTENSION waypoint;
