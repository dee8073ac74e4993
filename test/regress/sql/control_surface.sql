-- The control surface: GUCs, privileges of waypoint_operator, the workers view and the
-- comments on every object of the control surface.
CREATE EXTENSION IF NOT EXISTS waypoint;

-- GUCs: documented defaults; postmaster-only ones cannot be changed in a session, and
-- the waypoint.* prefix is reserved.
SELECT name, setting, unit, context FROM pg_settings WHERE name LIKE 'waypoint.%' AND name <> 'waypoint.redis_url'
  ORDER BY name;
SELECT setting AS redis_url, context FROM pg_settings WHERE name = 'waypoint.redis_url';
SET waypoint.partitions = 4;
SET waypoint.redis_url = 'redis://elsewhere:6379';
SET waypoint.no_such_setting = 1;
-- waypoint.redis_url is checked when set (ALTER SYSTEM runs the check hook).
ALTER SYSTEM SET waypoint.redis_url = 'http://127.0.0.1:6379';
ALTER SYSTEM SET waypoint.redis_url = 'redis://127.0.0.1:99999';
ALTER SYSTEM SET waypoint.redis_url = 'redis://user@127.0.0.1';
ALTER SYSTEM SET waypoint.redis_url = 'redis://:p%zzss@127.0.0.1';
ALTER SYSTEM SET waypoint.redis_url = 'redis://127.0.0.1:6379/x';
ALTER SYSTEM SET waypoint.redis_url = 'redis://:p%40ss@[::1]:6380/2';
ALTER SYSTEM SET waypoint.redis_url = 'redis://default:secret@redis.internal';
ALTER SYSTEM RESET waypoint.redis_url;
ALTER SYSTEM SET waypoint.key_prefix = 'has{braces}';

-- One row per worker slot: apply worker i owns partitions p with p % workers = i.
SELECT worker, role, partitions FROM waypoint.workers ORDER BY worker;
SELECT count(*) AS columns FROM information_schema.columns
 WHERE table_schema = 'waypoint' AND table_name = 'workers';

-- Only roles granted waypoint_operator may enqueue or read the Redis-backed views.
CREATE ROLE control_plain;
CREATE ROLE control_op IN ROLE waypoint_operator;
SET ROLE control_plain;
SELECT waypoint.waypoint_enqueue_backfill(ARRAY[1]::bigint[]);
SELECT waypoint.waypoint_enqueue_backfill_all();
SELECT * FROM waypoint.queue_depth;
SELECT * FROM waypoint.sync_status;
SELECT count(*) FROM waypoint.backfill_jobs;
RESET ROLE;
SET ROLE control_op;
SELECT waypoint.waypoint_enqueue_backfill(ARRAY[42]::bigint[]) > 0 AS operator_can_enqueue;
SELECT fids, requested_by FROM waypoint.backfill_jobs WHERE fids = ARRAY[42]::bigint[];
SELECT count(*) >= 0 AS operator_reads_progress FROM waypoint.backfill_progress;
SELECT count(*) >= 0 AS operator_reads_dead_letters FROM waypoint.dead_letters;
SELECT count(*) >= 0 AS operator_reads_refused FROM waypoint.refused_messages;
-- sync_status as an operator (no Redis here: NOTICEs, one row per shard with progress).
SELECT count(*) >= 0 AS operator_reads_sync_status FROM waypoint.sync_status;
-- Operators read the outbox but cannot forge or delete jobs behind the dispatcher's back.
DELETE FROM waypoint.backfill_jobs;
RESET ROLE;
DELETE FROM waypoint.backfill_jobs;
DROP ROLE control_op;
DROP ROLE control_plain;

-- Dead letters are unique per stream entry, so a redelivered poison entry is kept once.
INSERT INTO waypoint.dead_letters (stream, entry_id, reason, fields) VALUES ('s', '1-1', 'test', '{}');
INSERT INTO waypoint.dead_letters (stream, entry_id, reason, fields) VALUES ('s', '1-1', 'test', '{}')
  ON CONFLICT (stream, entry_id) DO NOTHING;
SELECT count(*) AS dead_letters FROM waypoint.dead_letters;
DELETE FROM waypoint.dead_letters;

-- Every control-surface object carries a comment.
SELECT c.relname AS missing_comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'waypoint'
   AND c.relname IN ('backfill_jobs', 'backfill_fid_progress', 'shard_progress', 'dead_letters',
                     'queue_depth', 'workers', 'sync_status', 'backfill_progress')
   AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT p.proname AS missing_comment
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'waypoint'
   AND p.proname IN ('waypoint_enqueue_backfill', 'waypoint_enqueue_backfill_all', 'worker_stats',
                     'redis_queue_depth', 'node_heads', 'backfill_type_names', 'check_backfill_types')
   AND obj_description(p.oid, 'pg_proc') IS NULL;
