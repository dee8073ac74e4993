-- waypoint 0.4.0 -> 0.5.0 (ALTER EXTENSION waypoint UPDATE).

-- Thread roots (docs/apply-semantics.md, section "Thread roots"): four columns on
-- waypoint.casts (added without a rewrite), the resolver's queue and functions, two
-- secondary indexes, and the thread lines of state_lines(). The rows of a populated
-- mirror are queued, and the apply workers resolve them in the background after the
-- update (waypoint.sync_status.thread_roots_pending counts what is left).
ALTER TABLE waypoint.casts
  ADD COLUMN root_fid bigint,
  ADD COLUMN root_hash bytea,
  ADD COLUMN root_url text,
  ADD COLUMN root_open boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN waypoint.casts.root_fid IS 'Thread root: fid of the top cast of this cast''s thread (the cast itself when it replies to no cast). When an ancestor is not held by the node (deleted, pruned, or never seen), the thread stops at it: root_fid/root_hash name that ancestor and root_open is true.';
COMMENT ON COLUMN waypoint.casts.root_hash IS 'Thread root: hash of the top cast (see root_fid). Index: casts_thread_idx (the whole thread of a cast).';
COMMENT ON COLUMN waypoint.casts.root_url IS 'Thread root: the parent URL (channel) of the top cast, when the top cast is held; NULL otherwise.';
COMMENT ON COLUMN waypoint.casts.root_open IS 'True when the thread stops at an ancestor the node does not hold (root_fid/root_hash name it); it closes when that cast arrives.';

-- Casts whose thread root may have to change: every casts row the apply writes is queued
-- here in the same transaction, and waypoint.resolve_thread_roots() works the queue off.
-- A plain heap without an index: rows are appended and taken in any order.
CREATE TABLE waypoint.cast_thread_queue (
  fid bigint NOT NULL,
  hash bytea NOT NULL
);
COMMENT ON TABLE waypoint.cast_thread_queue IS
  'Internal: casts rows written since their thread roots were last resolved (waypoint.resolve_thread_roots()).';
INSERT INTO waypoint.cast_thread_queue (fid, hash) SELECT fid, hash FROM waypoint.casts;

INSERT INTO waypoint.secondary_indexes (name, table_name, definition) VALUES
  ('casts_thread_idx', 'casts', '(root_hash, root_fid, "timestamp") WHERE root_hash IS NOT NULL'),
  ('casts_root_open_idx', 'casts', '(root_hash) WHERE root_open')
ON CONFLICT (name) DO NOTHING;
-- Built now while every other index exists (the columns are all NULL / false, so they are
-- empty); during a bulk sync the workers build them with the others when it ends.
DO $do$
DECLARE
  r record;
BEGIN
  IF (SELECT mode FROM waypoint.storage_mode) = 'live' THEN
    FOR r IN SELECT * FROM waypoint.secondary_indexes WHERE name IN ('casts_thread_idx', 'casts_root_open_idx') ORDER BY name LOOP
      EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON waypoint.%I %s', r.name, r.table_name, r.definition);
    END LOOP;
  END IF;
END
$do$;

CREATE OR REPLACE VIEW waypoint.casts_live AS
  SELECT fid, hash, "timestamp", text, parent_fid, parent_hash, parent_url, embeds, mentions,
         mentions_positions, cast_type, root_fid, root_hash, root_url
  FROM waypoint.casts
  WHERE NOT removed AND pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL;
COMMENT ON VIEW waypoint.casts_live IS 'Casts the node holds now (not removed, pruned or revoked), with their thread root (root_fid, root_hash: the top cast; root_url: its channel URL).';

-- Writes thread roots by primary key: one statement for the rows a step changed.
CREATE FUNCTION waypoint.set_thread_roots(fids bigint[], hashes bytea[], root_fids bigint[], root_hashes bytea[],
                                          root_urls text[], root_opens boolean[]) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET jit = off
AS $$
  UPDATE waypoint.casts c
     SET root_fid = u.root_fid, root_hash = u.root_hash, root_url = u.root_url, root_open = u.root_open
    FROM unnest(fids, hashes, root_fids, root_hashes, root_urls, root_opens)
         AS u(fid, hash, root_fid, root_hash, root_url, root_open)
   WHERE c.fid = u.fid AND c.hash = u.hash
$$;
REVOKE ALL ON FUNCTION waypoint.set_thread_roots(bigint[], bytea[], bigint[], bytea[], text[], boolean[]) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.set_thread_roots(bigint[], bytea[], bigint[], bytea[], text[], boolean[]) IS
  'Internal (waypoint.resolve_thread_roots calls it): sets the thread roots of the given casts.';

-- Thread roots (docs/apply-semantics.md "Thread roots"). A cast's thread root is the top
-- of its chain of parents as far as the node holds them:
--   - a cast that replies to no cast is its own root (root_url: its parent URL, if any);
--   - a cast whose parent is held (an add, not pruned, revoked or dropped) has its parent's root;
--   - otherwise the thread stops at the parent (deleted, pruned, or not seen yet): root_fid
--     and root_hash name it, root_url is NULL and root_open is true.
-- It depends only on what the node holds, so every arrival order ends with the same roots.
-- The apply queues every casts row it writes (waypoint.cast_thread_queue) and sets a first
-- guess; this function takes up to max_entries queued casts and, for each:
--   1. computes its root by the rule, walking up through parents that are queued too or
--      not resolved yet and taking the stored root of the first parent that is neither;
--   2. if it is held: the open rows that stopped at it take its root (the parent came);
--   3. if not: the rows whose thread ran through it stop at it (walked down the replies).
-- A root read from a row whose own change is still queued may be stale; the queued change
-- corrects it when its turn comes (2 and 3 find every row that copied it). That needs one
-- resolver at a time, each step reading what is committed: an advisory lock keeps out a
-- second caller, who returns 0. It waits while secondary indexes are missing (storage mode
-- not 'live'), since 2 and 3 read casts_root_open_idx and casts_parent_hash_idx.
-- Every read is a lookup by key from the queued casts (LATERAL ... LIMIT 1 by the primary
-- key, or by those two indexes), and each step writes its changed rows in one statement
-- by primary key, so the cost is per queued cast and does not grow with the table: scans
-- and hash or merge joins are switched off for it, whatever the statistics suggest (a
-- worker caches its plans while the table is still empty, where a scan looks cheaper).
-- Returns the number of queue entries taken.
CREATE FUNCTION waypoint.resolve_thread_roots(max_entries int DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
-- No JIT: it compiled for 2 s per call for statements of 100 ms.
SET jit = off
AS $$
DECLARE
  taken bigint;
  fids bigint[];
  hashes bytea[];
  c_fid bigint[];
  c_hash bytea[];
  n_fid bigint[];
  n_hash bytea[];
  n_url text[];
  n_open boolean[];
  h_fid bigint[];      -- the queued casts that are held, with their roots after step 1
  h_hash bytea[];
  h_root_fid bigint[];
  h_root_hash bytea[];
  h_root_url text[];
  h_root_open boolean[];
  d_fid bigint[];      -- the queued casts that are not
  d_hash bytea[];
BEGIN
  IF (SELECT mode FROM waypoint.storage_mode) <> 'live'
     OR NOT pg_try_advisory_xact_lock(hashtext('waypoint.resolve_thread_roots')) THEN
    RETURN 0;
  END IF;
  WITH d AS (DELETE FROM waypoint.cast_thread_queue
              WHERE ctid = ANY (ARRAY(SELECT ctid FROM waypoint.cast_thread_queue LIMIT max_entries))
             RETURNING fid, hash),
       u AS (SELECT DISTINCT fid, hash FROM d)
  SELECT (SELECT count(*) FROM d), (SELECT array_agg(fid ORDER BY fid, hash) FROM u),
         (SELECT array_agg(hash ORDER BY fid, hash) FROM u)
    INTO taken, fids, hashes;
  IF taken = 0 THEN
    RETURN 0;
  END IF;

  -- 1. The queued casts' own roots.
  WITH RECURSIVE e AS MATERIALIZED (SELECT * FROM unnest(fids, hashes) AS e(fid, hash)),
    walk AS (
      SELECT c.fid AS sfid, c.hash AS shash, c.root_fid AS old_fid, c.root_hash AS old_hash,
             c.root_url AS old_url, c.root_open AS old_open,
             NOT c.removed AND c.pruned_at IS NULL AND c.revoked_at IS NULL AND c.dropped_at IS NULL AS held,
             c.fid, c.hash, c.parent_fid, c.parent_hash, c.parent_url, 0 AS depth
        FROM e CROSS JOIN LATERAL (
               SELECT * FROM waypoint.casts c WHERE c.fid = e.fid AND c.hash = e.hash LIMIT 1) c
      UNION ALL
      SELECT w.sfid, w.shash, w.old_fid, w.old_hash, w.old_url, w.old_open, w.held,
             p.fid, p.hash, p.parent_fid, p.parent_hash, p.parent_url, w.depth + 1
        FROM walk w CROSS JOIN LATERAL (
               SELECT * FROM waypoint.casts p WHERE p.fid = w.parent_fid AND p.hash = w.parent_hash LIMIT 1) p
       WHERE w.parent_hash IS NOT NULL
         AND NOT p.removed AND p.pruned_at IS NULL AND p.revoked_at IS NULL AND p.dropped_at IS NULL
         AND (p.root_hash IS NULL OR EXISTS (SELECT 1 FROM e WHERE e.fid = p.fid AND e.hash = p.hash))
         AND w.depth < cardinality(fids)
    ),
    top AS (SELECT DISTINCT ON (sfid, shash) * FROM walk ORDER BY sfid, shash, depth DESC),
    n AS (
      SELECT t.sfid, t.shash, t.old_fid, t.old_hash, t.old_url, t.old_open, t.held,
             CASE WHEN t.parent_hash IS NULL THEN t.fid WHEN p.root_hash IS NOT NULL THEN p.root_fid ELSE t.parent_fid END AS root_fid,
             CASE WHEN t.parent_hash IS NULL THEN t.hash WHEN p.root_hash IS NOT NULL THEN p.root_hash ELSE t.parent_hash END AS root_hash,
             CASE WHEN t.parent_hash IS NULL THEN t.parent_url WHEN p.root_hash IS NOT NULL THEN p.root_url END AS root_url,
             CASE WHEN t.parent_hash IS NULL THEN false WHEN p.root_hash IS NOT NULL THEN p.root_open ELSE true END AS root_open
        FROM top t
        LEFT JOIN LATERAL (
               SELECT * FROM waypoint.casts p WHERE p.fid = t.parent_fid AND p.hash = t.parent_hash LIMIT 1) p
          ON NOT p.removed AND p.pruned_at IS NULL AND p.revoked_at IS NULL AND p.dropped_at IS NULL
    )
  , m AS (SELECT *, (old_fid, old_hash, old_url, old_open) IS DISTINCT FROM (root_fid, root_hash, root_url, root_open)
                      AS changed FROM n)
  SELECT array_agg(sfid) FILTER (WHERE changed), array_agg(shash) FILTER (WHERE changed),
         array_agg(root_fid) FILTER (WHERE changed), array_agg(root_hash) FILTER (WHERE changed),
         array_agg(root_url) FILTER (WHERE changed), array_agg(root_open) FILTER (WHERE changed),
         array_agg(sfid) FILTER (WHERE held), array_agg(shash) FILTER (WHERE held),
         array_agg(root_fid) FILTER (WHERE held), array_agg(root_hash) FILTER (WHERE held),
         array_agg(root_url) FILTER (WHERE held), array_agg(root_open) FILTER (WHERE held),
         array_agg(sfid) FILTER (WHERE NOT held), array_agg(shash) FILTER (WHERE NOT held)
    INTO c_fid, c_hash, n_fid, n_hash, n_url, n_open,
         h_fid, h_hash, h_root_fid, h_root_hash, h_root_url, h_root_open, d_fid, d_hash
    FROM m;
  PERFORM waypoint.set_thread_roots(c_fid, c_hash, n_fid, n_hash, n_url, n_open);

  -- 2. Held queued casts: the open rows that stopped at one continue to its root.
  SELECT array_agg(m.fid), array_agg(m.hash), array_agg(x.root_fid), array_agg(x.root_hash), array_agg(x.root_url),
         array_agg(x.root_open)
    INTO c_fid, c_hash, n_fid, n_hash, n_url, n_open
      FROM unnest(h_fid, h_hash, h_root_fid, h_root_hash, h_root_url, h_root_open)
           AS x(fid, hash, root_fid, root_hash, root_url, root_open)
      CROSS JOIN LATERAL (
             SELECT c.fid, c.hash, c.root_fid, c.root_hash, c.root_url, c.root_open FROM waypoint.casts c
              WHERE c.root_open AND c.root_hash = x.hash AND c.root_fid = x.fid) m
     WHERE NOT (m.fid = x.fid AND m.hash = x.hash)
       AND (m.root_fid, m.root_hash, m.root_url, m.root_open) IS DISTINCT FROM (x.root_fid, x.root_hash, x.root_url, x.root_open);
  PERFORM waypoint.set_thread_roots(c_fid, c_hash, n_fid, n_hash, n_url, n_open);

  -- 3. Queued casts that are not held: the replies below one (through held replies) stop at it.
  WITH RECURSIVE x AS (SELECT * FROM unnest(d_fid, d_hash) AS x(fid, hash)),
    down AS (
      SELECT x.fid AS xfid, x.hash AS xhash, ch.fid, ch.hash, ch.held, ch.root_fid, ch.root_hash, ch.root_url, ch.root_open
        FROM x CROSS JOIN LATERAL (
               SELECT c.fid, c.hash, c.root_fid, c.root_hash, c.root_url, c.root_open,
                      NOT c.removed AND c.pruned_at IS NULL AND c.revoked_at IS NULL AND c.dropped_at IS NULL AS held
                 FROM waypoint.casts c WHERE c.parent_hash = x.hash AND c.parent_fid = x.fid) ch
      UNION ALL
      SELECT d.xfid, d.xhash, ch.fid, ch.hash, ch.held, ch.root_fid, ch.root_hash, ch.root_url, ch.root_open
        FROM down d CROSS JOIN LATERAL (
               SELECT c.fid, c.hash, c.root_fid, c.root_hash, c.root_url, c.root_open,
                      NOT c.removed AND c.pruned_at IS NULL AND c.revoked_at IS NULL AND c.dropped_at IS NULL AS held
                 FROM waypoint.casts c WHERE c.parent_hash = d.hash AND c.parent_fid = d.fid) ch
       WHERE d.held
    )
  SELECT array_agg(fid), array_agg(hash), array_agg(xfid), array_agg(xhash), array_agg(NULL::text), array_agg(true)
    INTO c_fid, c_hash, n_fid, n_hash, n_url, n_open
    FROM down
   WHERE (root_fid, root_hash, root_url, root_open) IS DISTINCT FROM (xfid, xhash, NULL::text, true);
  PERFORM waypoint.set_thread_roots(c_fid, c_hash, n_fid, n_hash, n_url, n_open);
  RETURN taken;
END
$$;
REVOKE ALL ON FUNCTION waypoint.resolve_thread_roots(int) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.resolve_thread_roots(int) IS
  'Internal (the apply workers call it between batches): resolves the thread roots of up to max_entries queued casts (waypoint.cast_thread_queue) and of the casts whose thread they change; returns the entries taken, 0 when another caller is resolving or secondary indexes are missing.';


CREATE OR REPLACE VIEW waypoint.sync_status AS
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
  'Per data shard: highest event id (and block height) applied from the live stream, the node head the sidecar last saw (height, event id, time), the lag in blocks, and the circuit breakers: node_breaker as the sidecar last reported it (closed, open, half_open; sidecar_seen_at says when), redis_breaker as the extension''s workers see Redis (open while any running worker is disconnected or refuses the server); storage_mode (live, bulk, building: docs/storage.md) and the secondary-index partitions still missing; verify_level, the sidecar''s verification of what it writes (docs/verification.md); thread_roots_pending, casts written whose thread roots are not resolved yet (counted up to a million; they wait while storage_mode is not live).';

-- App keys (KEY_ADD / KEY_REMOVE)
-- waypoint.app_keys (one row per (fid, key): the KEY_ADD the node keeps, or the last one
-- marked removed), waypoint.app_keys_live, waypoint.signers from both sources (new columns
-- source, scopes, ttl after the old ones), state lines for app keys, and the fill of
-- waypoint.app_keys from the KEY_ADD / KEY_REMOVE messages the mirror already holds.
CREATE TABLE waypoint.app_keys (
  fid bigint NOT NULL,
  key bytea NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  key_type int NOT NULL,
  scopes int[] NOT NULL,
  ttl bigint NOT NULL,
  nonce bigint NOT NULL,
  deadline bigint NOT NULL,
  request_fid bigint,
  removed boolean NOT NULL,
  removed_at timestamptz,
  remove_hash bytea,
  remove_event bigint,
  dropped_at timestamptz,
  dropped_reason text,
  confirmed_seq bigint NOT NULL DEFAULT 0,
  event_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fid, key)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('app_keys');

COMMENT ON TABLE waypoint.app_keys IS
  'App keys (KEY_ADD, message type 16), one row per (fid, key): the KEY_ADD the node keeps (the latest merged: a later KEY_ADD of the key replaces it), or the last one, marked removed, once a KEY_REMOVE (type 17) deleted it; a removed key may be added again (docs/apply-semantics.md, "App keys").';
COMMENT ON COLUMN waypoint.app_keys.fid IS 'Fid the key signs for.';
COMMENT ON COLUMN waypoint.app_keys.key IS 'Ed25519 public key (32 bytes).';
COMMENT ON COLUMN waypoint.app_keys.message_hash IS 'Hash of the winning KEY_ADD.';
COMMENT ON COLUMN waypoint.app_keys."timestamp" IS 'Timestamp of the winning KEY_ADD (Farcaster time converted): when the key was added or last upserted.';
COMMENT ON COLUMN waypoint.app_keys.key_type IS 'Key type (1 Ed25519).';
COMMENT ON COLUMN waypoint.app_keys.scopes IS 'MessageType values the key may sign.';
COMMENT ON COLUMN waypoint.app_keys.ttl IS 'Sliding lifetime in seconds: the node refuses messages once the key was unused for this long (not tracked by the mirror).';
COMMENT ON COLUMN waypoint.app_keys.nonce IS 'The fid''s user nonce the KEY_ADD consumed.';
COMMENT ON COLUMN waypoint.app_keys.deadline IS 'Deadline of the custody signature (Unix seconds).';
COMMENT ON COLUMN waypoint.app_keys.request_fid IS 'Fid of the app that requested the key (SignedKeyRequest metadata); NULL when the metadata does not decode.';
COMMENT ON COLUMN waypoint.app_keys.removed IS 'True when the node no longer holds the KEY_ADD (a KEY_REMOVE deleted it).';
COMMENT ON COLUMN waypoint.app_keys.removed_at IS 'Timestamp of the KEY_REMOVE that deleted the winning KEY_ADD.';
COMMENT ON COLUMN waypoint.app_keys.remove_hash IS 'Hash of that KEY_REMOVE (kept in waypoint.messages; the node does not store it).';
COMMENT ON COLUMN waypoint.app_keys.remove_event IS 'Snapchain event id that deleted the winning KEY_ADD, while removed.';
COMMENT ON COLUMN waypoint.app_keys.dropped_at IS 'When the node reported the winning KEY_ADD deleted (event time), while removed.';
COMMENT ON COLUMN waypoint.app_keys.dropped_reason IS 'deleted while removed (app keys are never reconciled: a backfill cannot read KEY_ADD messages).';
COMMENT ON COLUMN waypoint.app_keys.confirmed_seq IS 'waypoint.apply_seq value of the last batch that offered the current winner.';
COMMENT ON COLUMN waypoint.app_keys.event_id IS 'Latest Snapchain event id that merged the winning KEY_ADD.';
COMMENT ON COLUMN waypoint.app_keys.updated_at IS 'When this row last changed.';

CREATE VIEW waypoint.app_keys_live AS
  SELECT fid, key, key_type, scopes, ttl, nonce, request_fid, deadline, message_hash AS hash, "timestamp"
  FROM waypoint.app_keys
  WHERE NOT removed;
COMMENT ON VIEW waypoint.app_keys_live IS 'App keys the node holds now (KEY_ADD not removed), one per (fid, key); expiry by TTL is not tracked.';

-- Columns after active were added in 0.5.0 (CREATE OR REPLACE VIEW keeps views built on it).
CREATE OR REPLACE VIEW waypoint.signers AS
  SELECT fid, signer_key AS key, max(signer_key_type) AS key_type,
         min(block_timestamp) FILTER (WHERE signer_event_type = 1) AS added_at,
         min(block_timestamp) FILTER (WHERE signer_event_type IN (2, 3)) AS removed_at,
         bool_or(signer_event_type = 1) AND NOT bool_or(signer_event_type IN (2, 3)) AS active,
         'onchain'::text AS source, NULL::int[] AS scopes, NULL::bigint AS ttl
  FROM waypoint.onchain_events WHERE type = 1
  GROUP BY fid, signer_key
  UNION ALL
  SELECT fid, key, key_type::bigint, "timestamp", CASE WHEN removed THEN coalesce(removed_at, dropped_at) END,
         NOT removed, 'app', scopes, ttl
  FROM waypoint.app_keys;
COMMENT ON VIEW waypoint.signers IS 'Every key a fid may sign with now or could before, one row per (fid, key, source): source onchain (key registry events: added, removed by remove or admin reset) or app (KEY_ADD messages, with their scopes and ttl; removed by KEY_REMOVE). active: may sign now (app keys: expiry by TTL not tracked). Verification level full applies a message once its signer is a key of its fid here (docs/verification.md).';

-- (Thread lines and app-key lines: the whole function as installed.)
CREATE OR REPLACE FUNCTION waypoint.state_lines() RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT line FROM (
    SELECT 'msg' || E'\t' || 'cast' || E'\t' || encode(message_hash, 'hex') AS line
      FROM waypoint.casts WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'thread' || E'\t' || encode(hash, 'hex') || E'\t' || coalesce(root_fid::text, '-') || E'\t'
           || coalesce(encode(root_hash, 'hex'), '-') || E'\t' || coalesce(root_url, '')
      FROM waypoint.casts WHERE NOT removed AND pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'reaction' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.reactions WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'link' || E'\t' || encode(message_hash, 'hex') FROM waypoint.links_held
    UNION ALL
    SELECT 'msg' || E'\t' || 'link_compact_state' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.link_compact_states WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'verification' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.verifications WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'user_data' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.user_data WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'lend_storage' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.lend_storage WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'app_key' || E'\t' || encode(message_hash, 'hex') FROM waypoint.app_keys WHERE NOT removed
    UNION ALL
    SELECT 'onchain' || E'\t' || type || E'\t' || fid || E'\t' || encode(transaction_hash, 'hex') || E'\t' || log_index
      FROM waypoint.onchain_events
    UNION ALL
    SELECT 'fname' || E'\t' || name || E'\t' || fid FROM waypoint.username_proofs
      WHERE NOT deleted AND fid <> 0 AND reconciled_at IS NULL
  ) s
  ORDER BY line COLLATE "C";
$$;

GRANT SELECT ON waypoint.app_keys, waypoint.app_keys_live TO PUBLIC;

-- Derives waypoint.app_keys from the KEY_ADD and KEY_REMOVE messages already in
-- waypoint.messages (an upgrade from a version that kept them there only): each KEY_ADD
-- goes through the apply as a candidate without a new event, so its standing (merge and
-- death events) decides as it did when it arrived, and the remove of a removed key is the
-- KEY_REMOVE merged by the event that deleted its KEY_ADD (sql/apply/app_keys.sql).
CREATE FUNCTION waypoint.fill_app_keys() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  chunk record;
  n bigint := 0;
BEGIN
  FOR chunk IN
    SELECT array_agg(m.raw) AS raws
      FROM (SELECT raw, (row_number() OVER (ORDER BY fid, hash) - 1) / 5000 AS c
              FROM waypoint.messages WHERE type = 16) AS m
     GROUP BY m.c ORDER BY m.c
  LOOP
    SELECT n + count(*) FILTER (WHERE applied) INTO n
      FROM waypoint.apply_payloads(array_fill('message'::text, ARRAY[cardinality(chunk.raws)]), chunk.raws);
  END LOOP;
  RETURN n;
END
$$;
REVOKE ALL ON FUNCTION waypoint.fill_app_keys() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.fill_app_keys() IS
  'Internal (the upgrade scripts call it): fills waypoint.app_keys from the KEY_ADD and KEY_REMOVE messages in waypoint.messages; returns the KEY_ADDs applied.';

-- The fill runs the upserts compiled into the library being installed, which may be a
-- later version's: give the table that version's columns first (0.6.0: last_used_at; the
-- 0.5.0 -> 0.6.0 step adds it only where it is missing).
ALTER TABLE waypoint.app_keys ADD COLUMN IF NOT EXISTS last_used_at timestamptz;
SELECT waypoint.fill_app_keys();
