-- Control surface of the background workers: the backfill outbox, dead letters, apply
-- progress per shard, and the monitoring views. Vocabulary: a *job* is one backfill
-- request (a set of fids, or every fid); the dispatcher worker moves committed jobs to
-- the Redis job stream (the outbox pattern, architecture contract 8); the sidecar answers
-- with one `fid_done` stream entry per fid, which the apply workers record in
-- waypoint.backfill_fid_progress.

-- Roles granted waypoint_operator may enqueue backfills and read the Redis-backed views.
DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'waypoint_operator') THEN
    CREATE ROLE waypoint_operator NOLOGIN;
  END IF;
END
$do$;

CREATE TABLE waypoint.backfill_jobs (
  job_id          bigserial PRIMARY KEY,
  fids            bigint[],                     -- NULL: every fid the node knows
  types           text[] NOT NULL DEFAULT '{}', -- empty: every message type
  requested_by    name NOT NULL DEFAULT session_user,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  dispatched_at   timestamptz,
  stream_entry_id text,
  max_fid         bigint,                       -- with fids NULL: only fids <= max_fid
  CONSTRAINT backfill_jobs_fids_nonempty CHECK (fids IS NULL OR pg_catalog.cardinality(fids) > 0),
  CONSTRAINT backfill_jobs_max_fid CHECK (max_fid IS NULL OR (fids IS NULL AND max_fid > 0))
);
-- The dispatcher only ever looks for undispatched jobs; keep that lookup tiny.
CREATE INDEX backfill_jobs_undispatched ON waypoint.backfill_jobs (job_id) WHERE dispatched_at IS NULL;
COMMENT ON TABLE waypoint.backfill_jobs IS
  'Backfill outbox: one row per enqueue_backfill, enqueue_backfill_all, enqueue_backfill_upto or refresh_profiles call, written in the caller''s transaction; the dispatcher worker copies committed rows to the Redis job stream and sets dispatched_at.';
COMMENT ON COLUMN waypoint.backfill_jobs.fids IS 'Fids to backfill; NULL means every fid.';
COMMENT ON COLUMN waypoint.backfill_jobs.types IS 'Store names to backfill (docs/state-lines.md); empty means every type.';
COMMENT ON COLUMN waypoint.backfill_jobs.requested_by IS 'Session (login) role that enqueued the job; SET ROLE does not change it.';
COMMENT ON COLUMN waypoint.backfill_jobs.dispatched_at IS 'When the job reached the Redis job stream; NULL while still in the outbox.';
COMMENT ON COLUMN waypoint.backfill_jobs.stream_entry_id IS 'Redis entry id of the job in the job stream.';
COMMENT ON COLUMN waypoint.backfill_jobs.max_fid IS 'For an every-fid job (fids NULL): only fids up to this one; NULL means no bound.';

CREATE TABLE waypoint.backfill_fid_progress (
  job_id      bigint NOT NULL,
  fid         bigint NOT NULL,
  status      text NOT NULL CHECK (status IN ('ok', 'failed')),
  messages    bigint NOT NULL DEFAULT 0,
  error       text,
  reported_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (job_id, fid)
);
COMMENT ON TABLE waypoint.backfill_fid_progress IS
  'One row per fid of a backfill job the sidecar finished (fid_done stream entries); fid 0 is the job''s channel pass; a later report for the same fid replaces an earlier one.';

CREATE TABLE waypoint.shard_progress (
  shard            integer NOT NULL,
  partition        integer NOT NULL,
  applied_event_id bigint NOT NULL,
  applied_at       timestamptz NOT NULL,
  PRIMARY KEY (shard, partition)
);
-- Keyed by partition too so that workers never contend for one row.
COMMENT ON TABLE waypoint.shard_progress IS
  'Highest Snapchain event id applied from live stream entries, per data shard and partition stream.';

CREATE TABLE waypoint.dead_letters (
  id         bigserial PRIMARY KEY,
  stream     text NOT NULL,
  entry_id   text NOT NULL,
  reason     text NOT NULL,
  kind       text,
  fid        bigint,
  fields     jsonb NOT NULL,
  payload    bytea,
  worker     integer,
  failed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (stream, entry_id)
);
COMMENT ON TABLE waypoint.dead_letters IS
  'Stream entries that could not be decoded or applied, with the reason; they are acknowledged so they never block their partition. Also copied to the Redis dead-letter stream.';
COMMENT ON COLUMN waypoint.dead_letters.fields IS 'The entry''s fields other than the payload (non-UTF-8 values as \x-prefixed hex).';
COMMENT ON COLUMN waypoint.dead_letters.payload IS 'The entry''s payload field d (node protobuf bytes), NULL if absent.';

-- Store names a backfill may be restricted to (docs/state-lines.md), plus on-chain events
-- and fname proofs.
CREATE FUNCTION waypoint.backfill_type_names() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ARRAY['cast', 'reaction', 'link', 'link_compact_state', 'verification', 'user_data',
                   'username_proof', 'lend_storage', 'onchain', 'fname', 'app_key', 'channel']::text[] $$;
COMMENT ON FUNCTION waypoint.backfill_type_names() IS
  'The names accepted in the types argument of waypoint.enqueue_backfill, enqueue_backfill_all and enqueue_backfill_upto.';

-- check_backfill_types validates and normalises a types argument (NULL = every type).
CREATE FUNCTION waypoint.check_backfill_types(types text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  bad text;
BEGIN
  IF types IS NULL OR cardinality(types) = 0 THEN
    RETURN '{}'::text[];
  END IF;
  IF array_ndims(types) > 1 THEN
    RAISE EXCEPTION 'types must be a one-dimensional array' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF array_position(types, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'types must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT t INTO bad FROM unnest(types) AS t
   WHERE NOT (t OPERATOR(pg_catalog.=) ANY (waypoint.backfill_type_names())) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'unknown backfill type "%"', bad USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Valid types: ' || array_to_string(waypoint.backfill_type_names(), ', ') || '.';
  END IF;
  RETURN ARRAY(SELECT DISTINCT t FROM unnest(types) AS t ORDER BY t);
END
$$;
REVOKE ALL ON FUNCTION waypoint.check_backfill_types(text[]) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.check_backfill_types(text[]) IS
  'Internal (called by the enqueue functions): validates a backfill types argument and returns it sorted and deduplicated (empty = every type).';

CREATE FUNCTION waypoint.enqueue_backfill(fids bigint[], types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  bad bigint;
  clean_types text[];
  job bigint;
BEGIN
  IF fids IS NULL THEN
    RAISE EXCEPTION 'fids must not be NULL' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'To backfill every fid, call waypoint.enqueue_backfill_all().';
  END IF;
  IF cardinality(fids) = 0 THEN
    RAISE EXCEPTION 'fids must not be empty' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'To backfill every fid, call waypoint.enqueue_backfill_all().';
  END IF;
  IF array_ndims(fids) > 1 THEN
    RAISE EXCEPTION 'fids must be a one-dimensional array' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF array_position(fids, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'fids must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT f INTO bad FROM unnest(fids) AS f WHERE f OPERATOR(pg_catalog.<=) 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'fid % is not valid', bad USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'Farcaster fids are positive integers.';
  END IF;
  clean_types := waypoint.check_backfill_types(types);
  INSERT INTO waypoint.backfill_jobs (fids, types)
  VALUES (ARRAY(SELECT DISTINCT f FROM unnest(fids) AS f ORDER BY f), clean_types)
  RETURNING job_id INTO job;
  RETURN job;
END
$$;
COMMENT ON FUNCTION waypoint.enqueue_backfill(bigint[], text[]) IS
  'Queues a backfill of the given fids (deduplicated), optionally restricted to some types (see waypoint.backfill_type_names()), in the caller''s transaction; returns the job id. The job reaches the sidecar only if the transaction commits. Requires waypoint_operator.';

CREATE FUNCTION waypoint.enqueue_backfill_all(types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  job bigint;
BEGIN
  INSERT INTO waypoint.backfill_jobs (fids, types)
  VALUES (NULL, waypoint.check_backfill_types(types))
  RETURNING job_id INTO job;
  RETURN job;
END
$$;
COMMENT ON FUNCTION waypoint.enqueue_backfill_all(text[]) IS
  'Queues a backfill of every fid the node knows, optionally restricted to some types, in the caller''s transaction; returns the job id. Requires waypoint_operator.';

CREATE FUNCTION waypoint.enqueue_backfill_upto(max_fid bigint, types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  job bigint;
BEGIN
  IF max_fid IS NULL OR max_fid OPERATOR(pg_catalog.<=) 0 THEN
    RAISE EXCEPTION 'max_fid must be a positive fid' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO waypoint.backfill_jobs (fids, types, max_fid)
  VALUES (NULL, waypoint.check_backfill_types(types), max_fid)
  RETURNING job_id INTO job;
  RETURN job;
END
$$;
COMMENT ON FUNCTION waypoint.enqueue_backfill_upto(bigint, text[]) IS
  'Queues a backfill of every fid the node knows that is <= max_fid (the sidecar lists fids with GetFids and skips the rest), optionally restricted to some types; returns the job id. Requires waypoint_operator.';

CREATE FUNCTION waypoint.refresh_profiles(fids bigint[] DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN fids IS NULL THEN waypoint.enqueue_backfill_all(ARRAY['user_data'])
              ELSE waypoint.enqueue_backfill(fids, ARRAY['user_data']) END
$$;
COMMENT ON FUNCTION waypoint.refresh_profiles(bigint[]) IS
  'Queues a user-data-only backfill (display name, bio, pfp, url, username...) of the given fids, or of every fid when NULL: it reads and rewrites nothing but user data. Returns the job id. Requires waypoint_operator.';

-- Deprecated aliases: the names of 0.3.0 and earlier, which repeated the schema, kept so
-- that their callers keep working. Each calls the function of the new name with its
-- arguments, with the same rights as before (SECURITY DEFINER, EXECUTE for
-- waypoint_operator), so a role that could call the old name still can.
CREATE FUNCTION waypoint.waypoint_enqueue_backfill(fids bigint[], types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.enqueue_backfill(fids, types);
COMMENT ON FUNCTION waypoint.waypoint_enqueue_backfill(bigint[], text[]) IS
  'Deprecated since 0.4.0: use waypoint.enqueue_backfill(fids, types), which this calls.';

CREATE FUNCTION waypoint.waypoint_enqueue_backfill_all(types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.enqueue_backfill_all(types);
COMMENT ON FUNCTION waypoint.waypoint_enqueue_backfill_all(text[]) IS
  'Deprecated since 0.4.0: use waypoint.enqueue_backfill_all(types), which this calls.';

CREATE FUNCTION waypoint.waypoint_enqueue_backfill_upto(max_fid bigint, types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.enqueue_backfill_upto(max_fid, types);
COMMENT ON FUNCTION waypoint.waypoint_enqueue_backfill_upto(bigint, text[]) IS
  'Deprecated since 0.4.0: use waypoint.enqueue_backfill_upto(max_fid, types), which this calls.';

CREATE FUNCTION waypoint.waypoint_refresh_profiles(fids bigint[] DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.refresh_profiles(fids);
COMMENT ON FUNCTION waypoint.waypoint_refresh_profiles(bigint[]) IS
  'Deprecated since 0.4.0: use waypoint.refresh_profiles(fids), which this calls.';

-- queue_alert_status: ok / warning / critical for a stream's backlog (pending + lag) and
-- the age of its oldest pending entry (rule shared with the sidecar: core/redis_policy.hpp).
-- A threshold of 0 is off. Thresholds default to the waypoint.alert_* settings.
CREATE FUNCTION waypoint.queue_alert_status(
  backlog bigint, oldest_pending_age interval,
  backlog_warning bigint DEFAULT pg_catalog.current_setting('waypoint.alert_backlog_warning', true)::bigint,
  backlog_critical bigint DEFAULT pg_catalog.current_setting('waypoint.alert_backlog_critical', true)::bigint,
  age_warning interval DEFAULT pg_catalog.current_setting('waypoint.alert_pending_age_warning', true)::interval,
  age_critical interval DEFAULT pg_catalog.current_setting('waypoint.alert_pending_age_critical', true)::interval)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE
    WHEN (coalesce(backlog_critical, 0) > 0 AND coalesce(backlog, 0) >= backlog_critical)
      OR (coalesce(age_critical, '0') > '0' AND oldest_pending_age >= age_critical) THEN 'critical'
    WHEN (coalesce(backlog_warning, 0) > 0 AND coalesce(backlog, 0) >= backlog_warning)
      OR (coalesce(age_warning, '0') > '0' AND oldest_pending_age >= age_warning) THEN 'warning'
    ELSE 'ok' END
$$;
COMMENT ON FUNCTION waypoint.queue_alert_status(bigint, interval, bigint, bigint, interval, interval) IS
  'Alert status of a stream: critical when the backlog or the oldest pending age reaches its critical threshold, warning likewise, else ok. Thresholds default to waypoint.alert_backlog_warning/critical and waypoint.alert_pending_age_warning/critical (0 = off).';

-- C functions over shared memory and Redis; the views below are the public face.
CREATE FUNCTION waypoint.worker_stats(
  OUT worker integer, OUT role text, OUT pid integer, OUT partitions integer[],
  OUT redis_connected boolean, OUT entries_applied bigint, OUT batches bigint,
  OUT dead_letters bigint, OUT errors bigint, OUT started_at timestamptz,
  OUT last_batch_at timestamptz, OUT last_applied_at timestamptz,
  OUT last_error_at timestamptz, OUT last_error text)
RETURNS SETOF record
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'waypoint_worker_stats';
COMMENT ON FUNCTION waypoint.worker_stats() IS
  'Counters of the apply workers and the outbox dispatcher, from shared memory (one row per configured worker slot).';

CREATE FUNCTION waypoint.redis_queue_depth(
  OUT stream text, OUT partition integer, OUT group_name text, OUT length bigint,
  OUT pending bigint, OUT lag bigint, OUT consumers integer, OUT last_delivered_id text,
  OUT oldest_pending_id text, OUT oldest_pending_age interval)
RETURNS SETOF record
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'waypoint_redis_queue_depth';
COMMENT ON FUNCTION waypoint.redis_queue_depth() IS
  'Reads every partition stream, the backfill job stream and the dead-letter stream from Redis (bounded by waypoint.redis_timeout_ms). Requires waypoint_operator.';

CREATE FUNCTION waypoint.node_heads(OUT shard integer, OUT node_height bigint, OUT node_event_id bigint,
                                    OUT node_head_at timestamptz)
RETURNS SETOF record
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'waypoint_node_heads';
COMMENT ON FUNCTION waypoint.node_heads() IS
  'Head of each data shard as last seen by the sidecar: Redis hashes <prefix>:node:shard:<n>:head (fields block, event_id, ts in Unix ms), shards 1..64; empty, with a NOTICE, when Redis is unreachable. Requires waypoint_operator.';

CREATE FUNCTION waypoint.sidecar_health(OUT node_breaker text, OUT redis_state text, OUT consumer text,
                                        OUT mode text, OUT seen_at timestamptz, OUT verify_level text)
RETURNS SETOF record
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'waypoint_sidecar_health';
COMMENT ON FUNCTION waypoint.sidecar_health() IS
  'What the sidecar last reported in the Redis hash <prefix>:sidecar:health (every second): its node circuit breaker (closed, open, half_open), its view of Redis, consumer name, mode, when, and the verification level of what it writes (off, hash, signature, full; docs/verification.md). No row, with a NOTICE, when Redis is unreachable or no sidecar ever ran. Requires waypoint_operator.';

CREATE VIEW waypoint.queue_depth AS
  SELECT stream, partition, group_name, length, pending, lag, consumers, last_delivered_id,
         oldest_pending_id, oldest_pending_age,
         CASE WHEN partition IS NOT NULL THEN
           waypoint.queue_alert_status(coalesce(pending OPERATOR(pg_catalog.+) lag, length), oldest_pending_age)
         END AS status
    FROM waypoint.redis_queue_depth();
COMMENT ON VIEW waypoint.queue_depth IS
  'Per Redis stream (each partition stream, the backfill job stream, the dead-letter stream) and consumer group: length, entries delivered but not acknowledged (pending), entries not yet delivered (lag), age of the oldest pending entry, and for partition streams the alert status (ok, warning, critical; see waypoint.queue_alert_status). Read live from Redis.';

CREATE VIEW waypoint.workers AS
  SELECT w.worker, w.role, w.pid, w.partitions, w.redis_connected, w.entries_applied, w.batches,
         w.dead_letters, w.errors, w.started_at, w.last_batch_at, w.last_applied_at,
         w.last_error_at, w.last_error, a.backend_type, a.application_name, a.state,
         a.wait_event_type, a.wait_event, a.backend_start
    FROM waypoint.worker_stats() AS w
    LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid OPERATOR(pg_catalog.=) w.pid;
COMMENT ON VIEW waypoint.workers IS
  'Apply workers and the outbox dispatcher: shared-memory counters joined with pg_stat_activity (pid is NULL while a worker is not running).';

CREATE VIEW waypoint.sync_status AS
  WITH applied AS (
    SELECT sp.shard, max(sp.applied_event_id) AS applied_event_id, max(sp.applied_at) AS applied_at
      FROM waypoint.shard_progress AS sp GROUP BY sp.shard
  )
  SELECT coalesce(a.shard, h.shard) AS shard,
         a.applied_event_id,
         a.applied_event_id OPERATOR(pg_catalog.>>) 14 AS applied_height,
         a.applied_at,
         h.node_height,
         h.node_event_id,
         h.node_head_at,
         h.node_height OPERATOR(pg_catalog.-) (a.applied_event_id OPERATOR(pg_catalog.>>) 14) AS lag_blocks,
         s.node_breaker,
         CASE WHEN w.up IS NULL THEN NULL WHEN w.up THEN 'closed' ELSE 'open' END AS redis_breaker,
         s.seen_at AS sidecar_seen_at,
         st.storage_mode,
         st.indexes_missing,
         s.verify_level,
         tq.pending AS thread_roots_pending
    FROM applied AS a
    FULL JOIN waypoint.node_heads() AS h ON h.shard OPERATOR(pg_catalog.=) a.shard
    LEFT JOIN waypoint.sidecar_health() AS s ON true
    LEFT JOIN (SELECT bool_and(ws.redis_connected) AS up FROM waypoint.worker_stats() AS ws
                WHERE ws.pid IS NOT NULL) AS w ON true
    LEFT JOIN waypoint.storage_state() AS st ON true
    LEFT JOIN (SELECT pg_catalog.count(*) AS pending
                 FROM (SELECT 1 FROM waypoint.cast_thread_queue LIMIT 1000000) AS q) AS tq ON true;
COMMENT ON VIEW waypoint.sync_status IS
  'Per data shard: highest event id (and block height) applied from the live stream, the node head the sidecar last saw (height, event id, time), the lag in blocks, and the circuit breakers: node_breaker as the sidecar last reported it (closed, open, half_open; sidecar_seen_at says when), redis_breaker as the extension''s workers see Redis (open while any running worker is disconnected or refuses the server); storage_mode (live, bulk, building: docs/storage.md) and the secondary-index partitions still missing; verify_level, the sidecar''s verification of what it writes (docs/verification.md); thread_roots_pending, casts written whose thread roots are not resolved yet (counted up to a million; the ones a bulk sync queued are resolved in one pass when it ends, before the casts indexes are built, else they wait while storage_mode is not live).';

CREATE VIEW waypoint.refused_messages AS
  SELECT d.id, d.fid, d.fields OPERATOR(pg_catalog.->>) 'ck' AS check_failed,
         d.fields OPERATOR(pg_catalog.->>) 'why' AS reason,
         d.fields OPERATOR(pg_catalog.->>) 'rk' AS kind,
         pg_catalog.decode(nullif(d.fields OPERATOR(pg_catalog.->>) 'mh', ''), 'hex') AS message_hash,
         d.fields OPERATOR(pg_catalog.->>) 'src' AS source,
         nullif(d.fields OPERATOR(pg_catalog.->>) 'sh', '')::integer AS shard,
         nullif(d.fields OPERATOR(pg_catalog.->>) 'id', '')::bigint AS event_id,
         d.payload, d.stream, d.entry_id, d.failed_at
    FROM waypoint.dead_letters AS d
   WHERE d.kind OPERATOR(pg_catalog.=) 'refused';
COMMENT ON VIEW waypoint.refused_messages IS
  'Events and backfill messages the sidecar''s verification refused (docs/verification.md): the check that failed (hash_mismatch, bad_signature, bad_data, data_mismatch, wrong_network, ...), why, and the payload exactly as the node sent it. They are dead letters of kind refused, never applied.';

-- A job that reads channels (its types name channel, or an every-fid job of every type)
-- reports its channel pass as the fid_done of fid 0 (docs/architecture.md): such a job is
-- done once that is in too, and a channels-only job (types exactly channel) has no fids.
CREATE VIEW waypoint.backfill_progress AS
  WITH p AS (
    SELECT fp.job_id,
           count(*) FILTER (WHERE fp.fid OPERATOR(pg_catalog.<>) 0 AND fp.status OPERATOR(pg_catalog.=) 'ok') AS fids_done,
           count(*) FILTER (WHERE fp.fid OPERATOR(pg_catalog.<>) 0 AND fp.status OPERATOR(pg_catalog.=) 'failed') AS fids_failed,
           sum(fp.messages) AS messages,
           max(fp.reported_at) AS last_report_at,
           max(fp.status) FILTER (WHERE fp.fid OPERATOR(pg_catalog.=) 0) AS channel_pass
      FROM waypoint.backfill_fid_progress AS fp GROUP BY fp.job_id
  ), t AS (
    -- The sidecar counts an all-fid job's fids and sends the total on every fid_start.
    SELECT fs.job_id, max(fs.fids_total) AS fids_total
      FROM waypoint.backfill_fid_starts AS fs GROUP BY fs.job_id
  ), r AS (
    SELECT j.*, coalesce(p.fids_done, 0) AS fids_done, coalesce(p.fids_failed, 0) AS fids_failed,
           coalesce(p.messages, 0)::bigint AS messages, p.last_report_at, p.channel_pass,
           'channel' OPERATOR(pg_catalog.=) ANY (j.types)
             OR (j.fids IS NULL AND cardinality(j.types) OPERATOR(pg_catalog.=) 0) AS reads_channels,
           CASE WHEN j.types OPERATOR(pg_catalog.=) ARRAY['channel']::text[] THEN 0::bigint
                ELSE coalesce(cardinality(j.fids)::bigint, t.fids_total) END AS fids_total,
           extract(epoch FROM p.last_report_at OPERATOR(pg_catalog.-) j.dispatched_at) AS secs
      FROM waypoint.backfill_jobs AS j LEFT JOIN p ON p.job_id OPERATOR(pg_catalog.=) j.job_id
      LEFT JOIN t ON t.job_id OPERATOR(pg_catalog.=) j.job_id
  )
  SELECT r.job_id,
         CASE WHEN r.dispatched_at IS NULL THEN 'queued'
              WHEN r.fids_total IS NOT NULL
               AND r.fids_done OPERATOR(pg_catalog.+) r.fids_failed OPERATOR(pg_catalog.>=) r.fids_total
               AND (r.channel_pass IS NOT NULL OR NOT r.reads_channels) THEN
                CASE WHEN r.fids_failed OPERATOR(pg_catalog.>) 0 OR r.channel_pass OPERATOR(pg_catalog.=) 'failed'
                     THEN 'done_with_failures' ELSE 'done' END
              ELSE 'running' END AS state,
         r.fids IS NULL AS all_fids,
         r.fids_total AS fids_queued,
         r.fids_done, r.fids_failed, r.messages, r.types, r.requested_by, r.created_at,
         r.dispatched_at, r.last_report_at,
         CASE WHEN r.secs OPERATOR(pg_catalog.>) 0
              THEN round(((r.fids_done OPERATOR(pg_catalog.+) r.fids_failed) OPERATOR(pg_catalog./) r.secs)::numeric, 2) END AS fids_per_second,
         CASE WHEN r.secs OPERATOR(pg_catalog.>) 0
              THEN round((r.messages OPERATOR(pg_catalog./) r.secs)::numeric, 1) END AS messages_per_second,
         CASE WHEN r.fids_total IS NOT NULL AND r.secs OPERATOR(pg_catalog.>) 0
               AND r.fids_done OPERATOR(pg_catalog.+) r.fids_failed OPERATOR(pg_catalog.>) 0
              THEN make_interval(secs => greatest(r.fids_total OPERATOR(pg_catalog.-) r.fids_done OPERATOR(pg_catalog.-) r.fids_failed, 0)
                                        OPERATOR(pg_catalog.*) r.secs OPERATOR(pg_catalog./) (r.fids_done OPERATOR(pg_catalog.+) r.fids_failed)) END AS eta,
         CASE WHEN r.reads_channels
              THEN coalesce(r.channel_pass, CASE WHEN r.dispatched_at IS NULL THEN 'queued' ELSE 'running' END) END AS channels
    FROM r;
COMMENT ON VIEW waypoint.backfill_progress IS
  'Per backfill job: state (queued, running, done, done_with_failures), fids queued (for all-fid jobs: as counted by the sidecar, known from the first fid_start on; 0 for a channels-only job)/done/failed, messages written (channel entries included), rates since dispatch, the estimated time left, and for a job that reads channels the outcome of its channel pass (queued, running, ok, failed; NULL when the job reads none).';

CREATE FUNCTION waypoint.enqueue_backfill_channels()
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.enqueue_backfill_all(ARRAY['channel']);
COMMENT ON FUNCTION waypoint.enqueue_backfill_channels() IS
  'Queues a backfill of every registered channel''s state (the CHANNEL_REGISTER events and each channel''s metadata, pin, members and moderations as the node reads them) and of no fid, in the caller''s transaction; returns the job id. enqueue_backfill_all() with no types does it too. Requires waypoint_operator.';
REVOKE ALL ON FUNCTION waypoint.enqueue_backfill_channels() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION waypoint.enqueue_backfill_channels() TO waypoint_operator;

-- Privileges: the verbs and Redis-backed views only for waypoint_operator (and superusers).
GRANT USAGE ON SCHEMA waypoint TO waypoint_operator, pg_monitor;
REVOKE ALL ON FUNCTION waypoint.enqueue_backfill(bigint[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.enqueue_backfill_all(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.redis_queue_depth() FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.node_heads() FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.sidecar_health() FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.enqueue_backfill_upto(bigint, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.refresh_profiles(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION waypoint.sidecar_health() TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.enqueue_backfill_upto(bigint, text[]) TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.refresh_profiles(bigint[]) TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.enqueue_backfill(bigint[], text[]) TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.enqueue_backfill_all(text[]) TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.redis_queue_depth() TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.node_heads() TO waypoint_operator;
-- The deprecated aliases: the same grants as the functions they call.
REVOKE ALL ON FUNCTION waypoint.waypoint_enqueue_backfill(bigint[], text[]), waypoint.waypoint_enqueue_backfill_all(text[]),
  waypoint.waypoint_enqueue_backfill_upto(bigint, text[]), waypoint.waypoint_refresh_profiles(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION waypoint.waypoint_enqueue_backfill(bigint[], text[]), waypoint.waypoint_enqueue_backfill_all(text[]),
  waypoint.waypoint_enqueue_backfill_upto(bigint, text[]), waypoint.waypoint_refresh_profiles(bigint[]) TO waypoint_operator;
REVOKE ALL ON waypoint.queue_depth, waypoint.sync_status FROM PUBLIC;
GRANT SELECT ON waypoint.queue_depth, waypoint.sync_status TO waypoint_operator;
REVOKE ALL ON waypoint.backfill_jobs, waypoint.backfill_fid_progress, waypoint.shard_progress,
              waypoint.dead_letters FROM PUBLIC;
GRANT SELECT ON waypoint.backfill_jobs, waypoint.backfill_fid_progress, waypoint.shard_progress,
               waypoint.dead_letters, waypoint.backfill_progress, waypoint.workers, waypoint.refused_messages
  TO waypoint_operator, pg_monitor;
REVOKE ALL ON waypoint.refused_messages FROM PUBLIC;
GRANT SELECT ON waypoint.held_messages TO waypoint_operator, pg_monitor;
GRANT SELECT ON waypoint.backfill_fid_starts TO waypoint_operator, pg_monitor;
-- sync_status reads the storage mode (storage_state() runs with the caller's rights).
GRANT SELECT ON waypoint.storage_mode, waypoint.secondary_indexes TO waypoint_operator, pg_monitor;
GRANT EXECUTE ON FUNCTION waypoint.missing_index_partitions() TO waypoint_operator, pg_monitor;
