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
SELECT waypoint.enqueue_backfill(ARRAY[1]::bigint[]);
SELECT waypoint.enqueue_backfill_all();
SELECT * FROM waypoint.queue_depth;
SELECT * FROM waypoint.sync_status;
SELECT count(*) FROM waypoint.backfill_jobs;
RESET ROLE;
SET ROLE control_op;
SELECT waypoint.enqueue_backfill(ARRAY[42]::bigint[]) > 0 AS operator_can_enqueue;
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
   AND p.proname IN ('enqueue_backfill', 'enqueue_backfill_all', 'worker_stats',
                     'redis_queue_depth', 'node_heads', 'backfill_type_names', 'check_backfill_types',
                     'enqueue_backfill_upto', 'refresh_profiles', 'waypoint_enqueue_backfill',
                     'waypoint_enqueue_backfill_all', 'waypoint_enqueue_backfill_upto',
                     'waypoint_refresh_profiles', 'fid_partition_hash', 'create_fid_partitions',
                     'create_secondary_indexes', 'missing_index_partitions', 'storage_step', 'storage_state')
   AND obj_description(p.oid, 'pg_proc') IS NULL;

-- The names before 0.4.0 are deprecated aliases: they say so, have the grants of the
-- functions they call, and still enqueue (as an operator; a plain role is refused).
SELECT p.oid::regprocedure AS alias, obj_description(p.oid, 'pg_proc') AS comment,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may,
       has_function_privilege('waypoint_operator', p.oid, 'EXECUTE') AS operator_may,
       p.prosecdef AS security_definer
  FROM pg_proc p
 WHERE p.pronamespace = 'waypoint'::regnamespace AND p.proname LIKE 'waypoint\_%' ORDER BY 1::text;
CREATE ROLE alias_plain;
CREATE ROLE alias_op IN ROLE waypoint_operator;
SET ROLE alias_plain;
SELECT waypoint.waypoint_enqueue_backfill(ARRAY[5]::bigint[]);
RESET ROLE;
SET ROLE alias_op;
SELECT waypoint.waypoint_enqueue_backfill(ARRAY[5, 4, 5]::bigint[], ARRAY['cast']) AS job_a \gset
SELECT waypoint.waypoint_enqueue_backfill_all(ARRAY['link']) AS job_b \gset
SELECT waypoint.waypoint_enqueue_backfill_upto(99) AS job_c \gset
SELECT waypoint.waypoint_refresh_profiles(ARRAY[6]) AS job_d \gset
SELECT waypoint.waypoint_refresh_profiles() AS job_e \gset
-- Validation is the new functions' own.
SELECT waypoint.waypoint_enqueue_backfill('{}');
RESET ROLE;
SELECT job_id = :job_a AS a, job_id = :job_b AS b, job_id = :job_c AS c, job_id = :job_d AS d,
       job_id = :job_e AS e, fids, types, max_fid, requested_by = session_user AS by_me
  FROM waypoint.backfill_jobs WHERE job_id >= :job_a ORDER BY job_id;
DELETE FROM waypoint.backfill_jobs;
DROP ROLE alias_op;
DROP ROLE alias_plain;

-- Internal helpers: their comment says so and PUBLIC may not execute them; a plain role
-- still reads the fid-partitioned tables, pruned to one partition by fid.
SELECT p.oid::regprocedure AS internal, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may
  FROM pg_proc p
 WHERE p.pronamespace = 'waypoint'::regnamespace AND obj_description(p.oid, 'pg_proc') LIKE 'Internal%'
 ORDER BY 1::text;
CREATE ROLE internal_plain;
SET ROLE internal_plain;
SELECT waypoint.missing_index_partitions();
SELECT count(*) AS casts_of_fid_3 FROM waypoint.casts WHERE fid = 3;
EXPLAIN (COSTS OFF) SELECT fid FROM waypoint.casts WHERE fid = 3;
RESET ROLE;
DROP ROLE internal_plain;
