-- Apply engine functions.

CREATE FUNCTION waypoint.apply_payloads(kinds text[], payloads bytea[])
RETURNS TABLE (ord int, applied boolean, reason text)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'waypoint_apply_payloads';
REVOKE ALL ON FUNCTION waypoint.apply_payloads(text[], bytea[]) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.apply_payloads(text[], bytea[]) IS
  'Superuser test surface: applies raw payloads (kind event = HubEvent, message = Message, onchain = OnChainEvent, fname = UserNameProof, signer = a Signer of GetSignersByFid, fid_start/<job>/<fid> and fid_done/<job>/<fid> backfill markers, whose payload is their JSON; channel_state/<as_of> = a backfill''s read of one channel''s state (core/channel_state.hpp) as of that data-shard-1 event id; merged = a Message as the message of a MERGE_MESSAGE event with id 0; a suffix @<shard> names the data shard the entry came from, default 1; a prefix full: marks it as written at verification level full) exactly as the apply workers do, inside the caller''s transaction. One result row per payload; applied = false with the reason for rejected (undecodable or invalid) payloads.';

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

-- The lock that keeps the thread-root resolver and the apply batches apart: every batch
-- takes it in shared mode before its first write, the resolver exclusively (it waits for
-- the batches in flight, and new batches wait for it). extension/src/apply/apply.cpp
-- (NextSequence) writes the same value out; change both together.
CREATE FUNCTION waypoint.thread_roots_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE
AS $$ SELECT 7176716458105632101::bigint $$;
REVOKE ALL ON FUNCTION waypoint.thread_roots_lock_key() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.thread_roots_lock_key() IS
  'Internal: the advisory lock key the apply batches take in shared mode and waypoint.resolve_thread_roots exclusively.';

-- The thread-root rule at the top of a thread (docs/apply-semantics.md "Thread roots"):
-- the root of a cast whose parent is not held, given the cast's own row. Both resolvers
-- take it from here (inlined: a set-returning SQL function in FROM).
--   - no parent cast: its own root, its parent URL (the channel) as root_url;
--   - a parent cast the node does not hold (deleted, pruned, not seen yet): open at it.
-- A cast whose parent is held has its parent's root.
CREATE FUNCTION waypoint.thread_root_at_top(fid bigint, hash bytea, parent_fid bigint, parent_hash bytea,
                                            parent_url text)
RETURNS TABLE (root_fid bigint, root_hash bytea, root_url text, root_open boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN parent_hash IS NULL THEN fid ELSE parent_fid END,
         CASE WHEN parent_hash IS NULL THEN hash ELSE parent_hash END,
         CASE WHEN parent_hash IS NULL THEN parent_url END,
         parent_hash IS NOT NULL
$$;
REVOKE ALL ON FUNCTION waypoint.thread_root_at_top(bigint, bytea, bigint, bytea, text) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.thread_root_at_top(bigint, bytea, bigint, bytea, text) IS
  'Internal (the thread-root resolvers use it): the thread root of a cast whose parent is not held: its own (with its parent URL) when it replies to no cast, else open at the parent.';

-- Thread roots (docs/apply-semantics.md "Thread roots"). A cast's thread root is the top
-- of its chain of parents as far as the node holds them:
--   - a cast that replies to no cast is its own root (root_url: its parent URL, if any);
--   - a cast whose parent is held (an add, not pruned, revoked or dropped) has its parent's root;
--   - otherwise the thread stops at the parent (deleted, pruned, or not seen yet): root_fid
--     and root_hash name it, root_url is NULL and root_open is true.
-- It depends only on what the node holds, so every arrival order ends with the same roots.
-- The apply sets a first guess in every casts row it writes and queues the rows whose
-- guess may be wrong or that may change other rows (waypoint.cast_thread_queue; the rule is
-- in sql/apply/casts.sql); this function takes up to max_entries queued casts and, for each:
--   1. computes its root by the rule, walking up through parents that are queued too, open
--      or not resolved yet and taking the stored root of the first parent that is none of
--      these (an open root is never copied: where it stops may have come since, unqueued);
--   2. if it is held: the open rows that stopped at it take its root (the parent came);
--   3. if not: the rows whose thread ran through it stop at it (walked down the replies).
-- A closed root read from a row below a death that is still queued may be stale; that
-- death, when its turn comes, corrects it (3 walks down to every row that copied it). That needs one
-- resolver at a time, each step reading what is committed: an advisory lock keeps out a
-- second caller, who returns 0; and no batch in flight meanwhile (thread_roots_lock_key),
-- else a reply a batch is writing, open at a cast another batch just added, is missed by
-- step 2, and its own turn reads a parent whose change this call has not committed yet.
-- It waits while secondary indexes are missing (storage mode not 'live'), since 2 and 3
-- read casts_root_open_idx and casts_parent_hash_idx.
-- A queue that is a large share of the table goes to the set-based pass of the same rule
-- (waypoint.rebuild_thread_roots, below) instead.
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
  -- An empty queue returns before the lock below, which would wait for every batch in
  -- flight and hold the next ones back (the workers call this after every round).
  IF (SELECT mode FROM waypoint.storage_mode) <> 'live'
     OR NOT EXISTS (SELECT 1 FROM waypoint.cast_thread_queue)
     OR NOT pg_try_advisory_xact_lock(hashtext('waypoint.resolve_thread_roots')) THEN
    RETURN 0;
  END IF;
  -- A queue that is a large share of the table: one set-based pass instead.
  IF waypoint.thread_roots_rebuild_due() THEN
    RETURN waypoint.rebuild_thread_roots();
  END IF;
  -- No batch in flight while it runs: what it reads is every batch's committed rows, and
  -- no batch copies a root it is about to change.
  PERFORM pg_advisory_xact_lock(waypoint.thread_roots_lock_key());
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
         AND (p.root_hash IS NULL OR p.root_open OR EXISTS (SELECT 1 FROM e WHERE e.fid = p.fid AND e.hash = p.hash))
         AND w.depth < cardinality(fids)
    ),
    top AS (SELECT DISTINCT ON (sfid, shash) * FROM walk ORDER BY sfid, shash, depth DESC),
    -- The top's parent, held with a root: its root; else the rule at the top of a thread.
    n AS (
      SELECT t.sfid, t.shash, t.old_fid, t.old_hash, t.old_url, t.old_open, t.held,
             CASE WHEN p.root_hash IS NOT NULL THEN p.root_fid ELSE r.root_fid END AS root_fid,
             CASE WHEN p.root_hash IS NOT NULL THEN p.root_hash ELSE r.root_hash END AS root_hash,
             CASE WHEN p.root_hash IS NOT NULL THEN p.root_url ELSE r.root_url END AS root_url,
             CASE WHEN p.root_hash IS NOT NULL THEN p.root_open ELSE r.root_open END AS root_open
        FROM top t
        CROSS JOIN LATERAL waypoint.thread_root_at_top(t.fid, t.hash, t.parent_fid, t.parent_hash, t.parent_url) r
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

  -- 2. Held queued casts: the open rows that stopped at one continue to its root. That
  -- root, from step 1, may itself stop at another held cast of this call, whose rows this
  -- same step closes: follow such roots through the held casts first (else a row that
  -- stopped at the first would take a root already closed, and stay open for good).
  -- (The held casts are joined with themselves: a hash join, not a loop over the list.)
  PERFORM set_config('enable_hashjoin', 'on', true);
  WITH RECURSIVE h AS MATERIALIZED (
         SELECT * FROM unnest(h_fid, h_hash, h_root_fid, h_root_hash, h_root_url, h_root_open)
                    AS h(fid, hash, root_fid, root_hash, root_url, root_open)),
       f AS (
         SELECT h.fid, h.hash, h.root_fid, h.root_hash, h.root_url, h.root_open, 0 AS depth FROM h
         UNION ALL
         SELECT f.fid, f.hash, y.root_fid, y.root_hash, y.root_url, y.root_open, f.depth + 1
           FROM f JOIN h y ON y.fid = f.root_fid AND y.hash = f.root_hash
          WHERE f.root_open AND f.depth < cardinality(h_fid)),
       x AS (SELECT DISTINCT ON (fid, hash) * FROM f ORDER BY fid, hash, depth DESC)
  SELECT array_agg(fid), array_agg(hash), array_agg(root_fid), array_agg(root_hash), array_agg(root_url),
         array_agg(root_open)
    INTO h_fid, h_hash, h_root_fid, h_root_hash, h_root_url, h_root_open
    FROM x;
  PERFORM set_config('enable_hashjoin', 'off', true);
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
  'Internal (the apply workers call it between batches): resolves the thread roots of up to max_entries queued casts (waypoint.cast_thread_queue) and of the casts whose thread they change; a queue that is a large share of the table (waypoint.thread_roots_rebuild_due()) is resolved by waypoint.rebuild_thread_roots() instead; returns the entries taken, 0 when another caller is resolving or secondary indexes are missing.';

-- The set-based pass of the same rule, for a queue that is a large share of the table
-- (after a bulk sync every cast written meanwhile is queued; an upgrade from 0.4.0 queues
-- every cast): instead of a lookup per queued cast, every cast's root is computed anew
-- from casts alone, in a few hash joins over the whole table, and only the rows whose
-- stored root differs are written. Under the same locks as resolve_thread_roots (one
-- resolver; no batch in flight, so the whole queue is covered and emptied); batches wait
-- for it, their entries in Redis. It reads no secondary index, so it also runs in
-- storage mode 'building' before they are built (waypoint.storage_step).
--   1. thread_up: the casts whose parent is held, with the parent as their pointer. Every
--      other cast is the top of its thread, and its root follows from its own row:
--      itself (no parent cast; root_url its parent URL) or open at its parent.
--   2. pointer jumping: a cast whose pointer is a top (not in thread_up) has that top;
--      one whose pointer already has its top takes it; every other cast's pointer becomes
--      its pointer's pointer. A chain of depth d is done in about log2(d) rounds. (Parent
--      cycles cannot occur, since a hash covers the parent's hash; a self-parent or other
--      cycle in garbage would never reach a top and ends the rounds: below.)
--   3. every cast's root from its top's row; the rows where it differs are written.
-- Returns the number of queue entries emptied, 0 when another caller is resolving.
CREATE FUNCTION waypoint.rebuild_thread_roots() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = on
SET enable_hashjoin = on
SET enable_mergejoin = on
-- Every join but the last update's is of whole tables: hash joins. (The planner cannot
-- know how many pointers lead out of thread_up, and with an estimate of one row it chose
-- a loop over thread_top: 19.6 s instead of 0.2 s for 360k casts.)
SET enable_nestloop = off
SET jit = off
AS $$
DECLARE
  taken bigint;
  pending bigint;
  done bigint;
  rounds int := 0;
  started timestamptz := clock_timestamp();
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('waypoint.resolve_thread_roots')) THEN
    RETURN 0;
  END IF;
  PERFORM pg_advisory_xact_lock(waypoint.thread_roots_lock_key());
  SELECT count(*) INTO taken FROM waypoint.cast_thread_queue;
  -- Hash joins over the whole table: as much memory as an index build gets.
  PERFORM set_config('work_mem', current_setting('maintenance_work_mem'), true);

  -- 1.
  CREATE TEMP TABLE thread_up ON COMMIT DROP AS
    SELECT c.fid, c.hash, c.parent_fid AS up_fid, c.parent_hash AS up_hash
      FROM waypoint.casts c
      JOIN waypoint.casts p ON p.fid = c.parent_fid AND p.hash = c.parent_hash
     WHERE NOT p.removed AND p.pruned_at IS NULL AND p.revoked_at IS NULL AND p.dropped_at IS NULL;
  ANALYZE thread_up;
  CREATE TEMP TABLE thread_top (fid bigint, hash bytea, top_fid bigint, top_hash bytea) ON COMMIT DROP;

  -- 2.
  SELECT count(*) INTO pending FROM thread_up;
  WHILE pending > 0 LOOP
    INSERT INTO thread_top
      SELECT r.fid, r.hash, coalesce(d.top_fid, r.up_fid), coalesce(d.top_hash, r.up_hash)
        FROM thread_up r
        LEFT JOIN thread_top d ON d.fid = r.up_fid AND d.hash = r.up_hash
       WHERE NOT EXISTS (SELECT 1 FROM thread_up q WHERE q.fid = r.up_fid AND q.hash = r.up_hash);
    GET DIAGNOSTICS done = ROW_COUNT;
    EXIT WHEN done = 0;  -- only cycles are left
    rounds := rounds + 1;
    CREATE TEMP TABLE thread_next ON COMMIT DROP AS
      SELECT r.fid, r.hash, q.up_fid, q.up_hash
        FROM thread_up r JOIN thread_up q ON q.fid = r.up_fid AND q.hash = r.up_hash;
    DROP TABLE thread_up;
    ALTER TABLE thread_next RENAME TO thread_up;
    ANALYZE thread_up;
    ANALYZE thread_top;
    pending := pending - done;
  END LOOP;

  -- 3. A cast's top is itself, or the one its pointers reached; its root is the rule's at
  -- that top. (thread_up holds what only cycles left: not here.)
  CREATE TEMP TABLE thread_new ON COMMIT DROP AS
    SELECT x.fid, x.hash, r.root_fid, r.root_hash, r.root_url, r.root_open
      FROM (SELECT c.fid, c.hash, c.root_fid, c.root_hash, c.root_url, c.root_open,
                   CASE WHEN d.fid IS NULL THEN c.fid ELSE d.top_fid END AS top_fid,
                   CASE WHEN d.fid IS NULL THEN c.hash ELSE d.top_hash END AS top_hash,
                   CASE WHEN d.fid IS NULL THEN c.parent_fid ELSE d.top_parent_fid END AS top_parent_fid,
                   CASE WHEN d.fid IS NULL THEN c.parent_hash ELSE d.top_parent_hash END AS top_parent_hash,
                   CASE WHEN d.fid IS NULL THEN c.parent_url ELSE d.top_parent_url END AS top_parent_url
              FROM waypoint.casts c
              LEFT JOIN (SELECT d.fid, d.hash, t.fid AS top_fid, t.hash AS top_hash, t.parent_fid AS top_parent_fid,
                                t.parent_hash AS top_parent_hash, t.parent_url AS top_parent_url
                           FROM thread_top d JOIN waypoint.casts t ON t.fid = d.top_fid AND t.hash = d.top_hash) d
                ON d.fid = c.fid AND d.hash = c.hash
             WHERE NOT EXISTS (SELECT 1 FROM thread_up q WHERE q.fid = c.fid AND q.hash = c.hash)) x
      CROSS JOIN LATERAL waypoint.thread_root_at_top(x.top_fid, x.top_hash, x.top_parent_fid, x.top_parent_hash,
                                                     x.top_parent_url) r
     WHERE (x.root_fid, x.root_hash, x.root_url, x.root_open) IS DISTINCT FROM
           (r.root_fid, r.root_hash, r.root_url, r.root_open);
  ANALYZE thread_new;
  -- (few changed rows: by primary key; many: a hash join)
  PERFORM set_config('enable_nestloop', 'on', true);
  UPDATE waypoint.casts c
     SET root_fid = n.root_fid, root_hash = n.root_hash, root_url = n.root_url, root_open = n.root_open
    FROM thread_new n
   WHERE c.fid = n.fid AND c.hash = n.hash;
  GET DIAGNOSTICS done = ROW_COUNT;
  -- What cycles left (none but in garbage): as the incremental resolver's bounded walk
  -- leaves a self-parent and its replies: the stored root of the cycle's cast, else open
  -- at it.
  IF pending > 0 THEN
    UPDATE waypoint.casts c
       SET root_fid = n.root_fid, root_hash = n.root_hash, root_url = n.root_url, root_open = n.root_open
      FROM (SELECT r.fid, r.hash, coalesce(ap.root_fid, a.parent_fid) AS root_fid,
                   coalesce(ap.root_hash, a.parent_hash) AS root_hash,
                   CASE WHEN ap.root_hash IS NOT NULL THEN ap.root_url END AS root_url,
                   CASE WHEN ap.root_hash IS NOT NULL THEN ap.root_open ELSE true END AS root_open
              FROM thread_up r
              JOIN waypoint.casts a ON a.fid = r.up_fid AND a.hash = r.up_hash
              JOIN waypoint.casts ap ON ap.fid = a.parent_fid AND ap.hash = a.parent_hash) n
     WHERE c.fid = n.fid AND c.hash = n.hash
       AND (c.root_fid, c.root_hash, c.root_url, c.root_open) IS DISTINCT FROM
           (n.root_fid, n.root_hash, n.root_url, n.root_open);
  END IF;
  RAISE LOG 'waypoint: thread roots rebuilt: % queued casts, % casts written, % rounds, in % s', taken, done, rounds,
    round(extract(epoch FROM clock_timestamp() - started)::numeric, 1);
  DROP TABLE thread_up, thread_top, thread_new;
  TRUNCATE waypoint.cast_thread_queue;
  RETURN taken;
END
$$;
REVOKE ALL ON FUNCTION waypoint.rebuild_thread_roots() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.rebuild_thread_roots() IS
  'Internal (waypoint.resolve_thread_roots and waypoint.storage_step call it when waypoint.thread_roots_rebuild_due()): computes every cast''s thread root anew in a few passes over casts, writes the rows that differ and empties waypoint.cast_thread_queue; returns the entries emptied, 0 when another caller is resolving.';

-- Whether the queue is large enough for the set-based pass: at least
-- waypoint.thread_roots_rebuild_min entries and an eighth of the casts (estimated from the
-- table's size). The incremental resolver costs a few index lookups per queued cast, the
-- set-based pass a few sequential passes over the table (bench/notes.md, round 8).
CREATE FUNCTION waypoint.thread_roots_rebuild_due() RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  need bigint;
  casts_estimate float8;
BEGIN
  -- The planner's estimate of the rows of every casts partition (reltuples per page times
  -- the pages it has now; 40 rows a page where it was never analyzed).
  SELECT coalesce(sum(CASE WHEN c.reltuples >= 0 AND c.relpages > 0 THEN c.reltuples / c.relpages ELSE 40 END
                      * (pg_relation_size(c.oid) / current_setting('block_size')::int)), 0)
    INTO casts_estimate
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'waypoint.casts'::regclass;
  need := greatest(coalesce(current_setting('waypoint.thread_roots_rebuild_min', true)::bigint, 10000),
                   (casts_estimate / 8)::bigint, 1);
  -- The queue's size in pages bounds its rows (about 130 a page): count only when it can be enough.
  IF pg_relation_size('waypoint.cast_thread_queue') / current_setting('block_size')::int * 160 < need THEN
    RETURN false;
  END IF;
  RETURN (SELECT count(*) FROM (SELECT 1 FROM waypoint.cast_thread_queue LIMIT need) q) >= need;
END
$$;
REVOKE ALL ON FUNCTION waypoint.thread_roots_rebuild_due() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.thread_roots_rebuild_due() IS
  'Internal: whether waypoint.cast_thread_queue holds at least waypoint.thread_roots_rebuild_min entries and an eighth of the casts, so that waypoint.rebuild_thread_roots() is cheaper than the incremental resolver.';

-- Under a backlog the apply workers call this instead of resolve_thread_roots (a lookup
-- per queued cast and an exclusive lock every round cost a catch-up more than a pass):
-- the set-based pass once it is due, else nothing. Like resolve_thread_roots, only in
-- storage mode 'live' (a bulk sync's queue is taken when it ends).
CREATE FUNCTION waypoint.rebuild_thread_roots_if_due() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF (SELECT mode FROM waypoint.storage_mode) <> 'live' OR NOT waypoint.thread_roots_rebuild_due() THEN
    RETURN 0;
  END IF;
  RETURN waypoint.rebuild_thread_roots();
END
$$;
REVOKE ALL ON FUNCTION waypoint.rebuild_thread_roots_if_due() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.rebuild_thread_roots_if_due() IS
  'Internal (the apply workers call it between the batches of a backlog): waypoint.rebuild_thread_roots() when waypoint.thread_roots_rebuild_due() and the storage mode is live, else nothing; returns the entries emptied.';

-- The database's state as text lines, to compare with the node (docs/state-lines.md).
CREATE FUNCTION waypoint.state_lines() RETURNS SETOF text
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
    SELECT 'app_key' || E'\t' || fid || E'\t' || encode(key, 'hex') || E'\t' || nonce || E'\t'
           || array_to_string(scopes, ',') || E'\t' || ttl
      FROM waypoint.app_keys WHERE NOT removed
    UNION ALL
    SELECT 'onchain' || E'\t' || type || E'\t' || fid || E'\t' || encode(transaction_hash, 'hex') || E'\t' || log_index
      FROM waypoint.onchain_events
    UNION ALL
    SELECT 'fname' || E'\t' || name || E'\t' || fid FROM waypoint.username_proofs
      WHERE NOT deleted AND fid <> 0 AND reconciled_at IS NULL
    UNION ALL
    SELECT 'channel' || E'\t' || encode(channel_id, 'hex') || E'\t' || channel_key || E'\t'
           || encode(owner_address, 'hex') || E'\t' || coalesce(extract(epoch FROM expiry)::bigint, 0) || E'\t'
           || coalesce(owner_fid, 0)
      FROM waypoint.channels
    UNION ALL
    SELECT 'channel_meta' || E'\t' || encode(channel_id, 'hex') || E'\t' || casting_mode || E'\t' || membership_mode
           || E'\t' || coalesce(encode(convert_to(name, 'UTF8'), 'hex'), '-')
           || E'\t' || coalesce(encode(convert_to(description, 'UTF8'), 'hex'), '-')
           || E'\t' || coalesce(encode(convert_to(image_url, 'UTF8'), 'hex'), '-')
           || E'\t' || coalesce(encode(convert_to(header, 'UTF8'), 'hex'), '-')
           || E'\t' || coalesce(encode(convert_to(rules, 'UTF8'), 'hex'), '-')
           || E'\t' || coalesce(encode(message_hash, 'hex'), '')
      FROM waypoint.channel_metadata
     -- a row derived from a state read that says nothing (the defaults): the read cannot
     -- tell it from a channel without an update (docs/state-lines.md)
     WHERE message_hash IS NOT NULL OR name IS NOT NULL OR description IS NOT NULL OR image_url IS NOT NULL
        OR header IS NOT NULL OR rules IS NOT NULL OR casting_mode <> 'members_only' OR membership_mode <> 'approval'
    UNION ALL
    SELECT 'channel_member' || E'\t' || encode(channel_id, 'hex') || E'\t' || member_fid || E'\t' || state || E'\t'
           || coalesce(encode(message_hash, 'hex'), '')
      FROM waypoint.channel_members
    UNION ALL
    SELECT 'channel_pin' || E'\t' || encode(channel_id, 'hex') || E'\t' || coalesce(encode(cast_hash, 'hex'), '')
           || E'\t' || coalesce(author_fid::text, '') || E'\t' || coalesce(encode(message_hash, 'hex'), '')
      FROM waypoint.channel_pins
     WHERE message_hash IS NOT NULL OR cast_hash IS NOT NULL  -- a derived "no pin" has no line
    UNION ALL
    SELECT 'channel_moderation' || E'\t' || encode(channel_id, 'hex') || E'\t' || encode(cast_hash, 'hex') || E'\t'
           || CASE WHEN hidden THEN 'hidden' ELSE 'visible' END || E'\t' || coalesce(author_fid::text, '')
           || E'\t' || coalesce(encode(message_hash, 'hex'), '')
      FROM waypoint.channel_moderations
  ) s
  ORDER BY line COLLATE "C";
$$;
COMMENT ON FUNCTION waypoint.state_lines() IS
  'The mirror''s state as sorted tab-separated lines (docs/state-lines.md), for comparison with the node''s own dump.';

-- Farcaster data is public: every role may read the mirror (Redis-backed and control
-- objects carry their own grants). Writing stays with the apply workers.
GRANT USAGE ON SCHEMA waypoint TO PUBLIC;
GRANT SELECT ON waypoint.messages, waypoint.casts, waypoint.reactions, waypoint.links,
  waypoint.link_compact_states, waypoint.link_compact_state_history, waypoint.verifications, waypoint.user_data,
  waypoint.username_proof_messages, waypoint.lend_storage, waypoint.username_proofs, waypoint.username_proof_standing,
  waypoint.onchain_events, waypoint.casts_live, waypoint.reactions_live, waypoint.links_held,
  waypoint.links_live, waypoint.link_compact_states_live, waypoint.verifications_live,
  waypoint.user_data_live, waypoint.profiles, waypoint.username_proof_messages_live,
  waypoint.lend_storage_live, waypoint.fnames, waypoint.signer_events,
  waypoint.signer_migrated_events, waypoint.id_register_events, waypoint.storage_rent_events,
  waypoint.tier_purchases, waypoint.signers TO PUBLIC;

-- App keys (KEY_ADD / KEY_REMOVE).
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

-- Channels (docs/apply-semantics.md, "Channels").
GRANT SELECT ON waypoint.channel_registry_events, waypoint.channel_metadata, waypoint.channel_members,
  waypoint.channel_pins, waypoint.channel_moderations, waypoint.channels, waypoint.channel_members_live,
  waypoint.channel_pins_live, waypoint.channel_hidden_casts TO PUBLIC;

-- Derives the channel tables from what the mirror already holds (an upgrade from a
-- version that kept channel messages and CHANNEL_REGISTER events as raw rows only): every
-- CHANNEL_REGISTER event of waypoint.onchain_events goes through the apply again (the
-- registry is folded by a view, so nothing else is needed), and every channel message
-- the mirror holds alive (its latest merge after its latest deletion) takes its slot as a
-- merge at event 0, before every real event: any channel message merged later replaces
-- it. The node holds one message per slot, so a mirror that saw the whole stream has one
-- alive message per slot; the standing stays right although versions before 0.6.0
-- applied the copies of every data shard (each shard replays the same merges), but their
-- merge order is lost (ids of different shards do not compare), hence event 0.
CREATE FUNCTION waypoint.fill_channels() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  chunk record;
  n bigint := 0;
BEGIN
  FOR chunk IN
    SELECT array_agg(o.raw) AS raws
      FROM (SELECT raw, (row_number() OVER (ORDER BY transaction_hash, log_index) - 1) / 5000 AS c
              FROM waypoint.onchain_events WHERE type = 6) AS o
     GROUP BY o.c ORDER BY o.c
  LOOP
    PERFORM 1 FROM waypoint.apply_payloads(array_fill('onchain'::text, ARRAY[cardinality(chunk.raws)]), chunk.raws);
  END LOOP;
  FOR chunk IN
    SELECT array_agg(m.raw) AS raws
      FROM (SELECT raw, (row_number() OVER (ORDER BY fid, hash) - 1) / 5000 AS c
              FROM waypoint.messages
             WHERE type BETWEEN 18 AND 21 AND merge_event IS NOT NULL
               AND (death_event IS NULL OR death_event < merge_event)) AS m
     GROUP BY m.c ORDER BY m.c
  LOOP
    SELECT n + count(*) FILTER (WHERE applied) INTO n
      FROM waypoint.apply_payloads(array_fill('merged@1'::text, ARRAY[cardinality(chunk.raws)]), chunk.raws);
  END LOOP;
  RETURN n;
END
$$;
REVOKE ALL ON FUNCTION waypoint.fill_channels() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.fill_channels() IS
  'Internal (the upgrade scripts call it): fills the channel tables from the CHANNEL_REGISTER events in waypoint.onchain_events and the channel messages in waypoint.messages; returns the channel messages applied.';

-- Applies a backfill's read of one channel's state (entry kind channel_state; the apply
-- calls it once per entry; docs/apply-semantics.md, "Channel backfill"). The state counts
-- as of the data-shard-1 position as_of: it reflects every merge up to it and may reflect
-- later ones. Per slot: a row merged after as_of stays as it is; a row at or before as_of
-- that says what the state says is kept (with its message hash, author and timestamp) and
-- takes as_of as its merge_event; one that says something else is replaced by a row
-- derived from the state (message_hash, "timestamp" NULL, author_fid as the read gives
-- it or NULL; merge_event = as_of); a slot the mirror lacks gets such a row; member and
-- moderation rows at or before as_of that the state does not list are deleted (the node
-- never deletes a slot, so such a row was never the node's). A stream merge after as_of
-- replaces a derived row as any later merge does; one at or before it changes nothing.
-- The metadata and pin slots always get a row (the defaults, an unpinned pin): it
-- records as_of, so a delayed older merge cannot take the slot back. Parameters: the
-- folded metadata (casting_mode, membership_mode as numbers, already resolved), the pin
-- (NULL: none), members (fid, ChannelMemberState 1..4), moderations (cast hash,
-- ChannelModerateAction 1..2, author fid).
CREATE FUNCTION waypoint.apply_channel_state(
  channel bytea, as_of bigint, m_name text, m_description text, m_image_url text, m_header text, m_rules text,
  m_casting int, m_membership int, pin_cast bytea, pin_author bigint,
  member_fids bigint[], member_states int[], mod_casts bytea[], mod_actions int[], mod_authors bigint[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cm text := CASE m_casting WHEN 1 THEN 'everyone' WHEN 3 THEN 'recommended' ELSE 'members_only' END;
  mm text := CASE m_membership WHEN 1 THEN 'open' ELSE 'approval' END;
BEGIN
  INSERT INTO waypoint.channel_metadata (channel_id, name, description, image_url, header, rules, casting_mode,
                                         membership_mode, author_fid, message_hash, "timestamp", merge_event)
  VALUES (channel, m_name, m_description, m_image_url, m_header, m_rules, cm, mm, NULL, NULL, NULL, as_of)
  ON CONFLICT (channel_id) DO NOTHING;
  UPDATE waypoint.channel_metadata t SET
    name = m_name, description = m_description, image_url = m_image_url, header = m_header, rules = m_rules,
    casting_mode = cm, membership_mode = mm,
    author_fid = CASE WHEN x.same THEN t.author_fid END,
    message_hash = CASE WHEN x.same THEN t.message_hash END,
    "timestamp" = CASE WHEN x.same THEN t."timestamp" END,
    merge_event = as_of,
    updated_at = CASE WHEN x.same THEN t.updated_at ELSE now() END
  FROM (SELECT c.channel_id,
               c.name IS NOT DISTINCT FROM m_name AND c.description IS NOT DISTINCT FROM m_description
               AND c.image_url IS NOT DISTINCT FROM m_image_url AND c.header IS NOT DISTINCT FROM m_header
               AND c.rules IS NOT DISTINCT FROM m_rules AND c.casting_mode = cm AND c.membership_mode = mm AS same
          FROM waypoint.channel_metadata c WHERE c.channel_id = channel) AS x
  WHERE t.channel_id = channel AND x.channel_id = t.channel_id AND t.merge_event <= as_of;

  INSERT INTO waypoint.channel_pins (channel_id, cast_hash, author_fid, message_hash, "timestamp", merge_event)
  VALUES (channel, pin_cast, CASE WHEN pin_cast IS NOT NULL THEN pin_author END, NULL, NULL, as_of)
  ON CONFLICT (channel_id) DO NOTHING;
  UPDATE waypoint.channel_pins t SET
    cast_hash = pin_cast,
    author_fid = CASE WHEN x.same THEN t.author_fid WHEN pin_cast IS NOT NULL THEN pin_author END,
    message_hash = CASE WHEN x.same THEN t.message_hash END,
    "timestamp" = CASE WHEN x.same THEN t."timestamp" END,
    merge_event = as_of,
    updated_at = CASE WHEN x.same THEN t.updated_at ELSE now() END
  FROM (SELECT c.channel_id,
               c.cast_hash IS NOT DISTINCT FROM pin_cast
               AND (pin_cast IS NULL OR c.author_fid IS NOT DISTINCT FROM pin_author) AS same
          FROM waypoint.channel_pins c WHERE c.channel_id = channel) AS x
  WHERE t.channel_id = channel AND x.channel_id = t.channel_id AND t.merge_event <= as_of;

  INSERT INTO waypoint.channel_members (channel_id, member_fid, state, action, author_fid, message_hash,
                                        "timestamp", merge_event)
  SELECT channel, u.fid,
         CASE u.st WHEN 1 THEN 'member' WHEN 2 THEN 'moderator' WHEN 3 THEN 'removed' ELSE 'banned' END,
         NULL, NULL, NULL, NULL, as_of
    FROM unnest(member_fids, member_states) AS u(fid, st)
   ORDER BY u.fid
  ON CONFLICT (channel_id, member_fid) DO NOTHING;
  UPDATE waypoint.channel_members t SET
    state = x.state,
    action = CASE WHEN x.same THEN t.action END,
    author_fid = CASE WHEN x.same THEN t.author_fid END,
    message_hash = CASE WHEN x.same THEN t.message_hash END,
    "timestamp" = CASE WHEN x.same THEN t."timestamp" END,
    merge_event = as_of,
    updated_at = CASE WHEN x.same THEN t.updated_at ELSE now() END
  FROM (SELECT c.member_fid, s.state, c.state = s.state AS same
          FROM (SELECT u.fid, CASE u.st WHEN 1 THEN 'member' WHEN 2 THEN 'moderator' WHEN 3 THEN 'removed'
                                        ELSE 'banned' END AS state
                  FROM unnest(member_fids, member_states) AS u(fid, st)) AS s
          JOIN waypoint.channel_members c ON c.channel_id = channel AND c.member_fid = s.fid) AS x
  WHERE t.channel_id = channel AND t.member_fid = x.member_fid AND t.merge_event <= as_of;
  DELETE FROM waypoint.channel_members t
   WHERE t.channel_id = channel AND t.merge_event <= as_of AND t.member_fid <> ALL (member_fids);

  INSERT INTO waypoint.channel_moderations (channel_id, cast_hash, action, hidden, author_fid, message_hash,
                                            "timestamp", merge_event)
  SELECT channel, u.cast_hash, CASE u.act WHEN 1 THEN 'hide' ELSE 'unhide' END, u.act = 1, u.author, NULL, NULL, as_of
    FROM unnest(mod_casts, mod_actions, mod_authors) AS u(cast_hash, act, author)
   ORDER BY u.cast_hash
  ON CONFLICT (channel_id, cast_hash) DO NOTHING;
  UPDATE waypoint.channel_moderations t SET
    action = x.action, hidden = x.hidden,
    author_fid = CASE WHEN x.same THEN t.author_fid ELSE x.author END,
    message_hash = CASE WHEN x.same THEN t.message_hash END,
    "timestamp" = CASE WHEN x.same THEN t."timestamp" END,
    merge_event = as_of,
    updated_at = CASE WHEN x.same THEN t.updated_at ELSE now() END
  FROM (SELECT c.cast_hash, s.action, s.hidden, s.author,
               c.action = s.action AND c.author_fid IS NOT DISTINCT FROM s.author AS same
          FROM (SELECT u.cast_hash, CASE u.act WHEN 1 THEN 'hide' ELSE 'unhide' END AS action, u.act = 1 AS hidden,
                       u.author
                  FROM unnest(mod_casts, mod_actions, mod_authors) AS u(cast_hash, act, author)) AS s
          JOIN waypoint.channel_moderations c ON c.channel_id = channel AND c.cast_hash = s.cast_hash) AS x
  WHERE t.channel_id = channel AND t.cast_hash = x.cast_hash AND t.merge_event <= as_of;
  DELETE FROM waypoint.channel_moderations t
   WHERE t.channel_id = channel AND t.merge_event <= as_of AND t.cast_hash <> ALL (mod_casts);
END
$$;
REVOKE ALL ON FUNCTION waypoint.apply_channel_state(bytea, bigint, text, text, text, text, text, int, int, bytea, bigint,
  bigint[], int[], bytea[], int[], bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.apply_channel_state(bytea, bigint, text, text, text, text, text, int, int, bytea, bigint,
  bigint[], int[], bytea[], int[], bigint[]) IS
  'Internal (the apply workers call it for a channel_state entry): sets one channel''s slots to the state a backfill read as of a data-shard-1 position, keeping later merges and rows that already say the same.';
