-- Apply engine functions.

CREATE FUNCTION waypoint.apply_payloads(kinds text[], payloads bytea[])
RETURNS TABLE (ord int, applied boolean, reason text)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'waypoint_apply_payloads';
REVOKE ALL ON FUNCTION waypoint.apply_payloads(text[], bytea[]) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.apply_payloads(text[], bytea[]) IS
  'Superuser test surface: applies raw payloads (kind event = HubEvent, message = Message, onchain = OnChainEvent, fname = UserNameProof, fid_start/<job>/<fid> and fid_done/<job>/<fid> backfill markers, whose payload is their JSON) exactly as the apply workers do, inside the caller''s transaction. One result row per payload; applied = false with the reason for rejected (undecodable or invalid) payloads.';

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
-- Returns the number of queue entries taken.
CREATE FUNCTION waypoint.resolve_thread_roots(max_entries int DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  taken bigint;
  fids bigint[];
  hashes bytea[];
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
  WITH RECURSIVE e AS (SELECT * FROM unnest(fids, hashes) AS e(fid, hash)),
  walk AS (
    SELECT c.fid AS sfid, c.hash AS shash, c.fid, c.hash, c.parent_fid, c.parent_hash, c.parent_url, 0 AS depth
      FROM e JOIN waypoint.casts c ON c.fid = e.fid AND c.hash = e.hash
    UNION ALL
    SELECT w.sfid, w.shash, p.fid, p.hash, p.parent_fid, p.parent_hash, p.parent_url, w.depth + 1
      FROM walk w JOIN waypoint.casts p ON p.fid = w.parent_fid AND p.hash = w.parent_hash
     WHERE NOT p.removed AND p.pruned_at IS NULL AND p.revoked_at IS NULL AND p.dropped_at IS NULL
       AND (p.root_hash IS NULL OR EXISTS (SELECT 1 FROM e WHERE e.fid = p.fid AND e.hash = p.hash))
       AND w.depth < cardinality(fids)
  ),
  top AS (SELECT DISTINCT ON (sfid, shash) * FROM walk ORDER BY sfid, shash, depth DESC),
  r AS (
    SELECT t.sfid, t.shash,
           CASE WHEN t.parent_hash IS NULL THEN t.fid WHEN p.root_hash IS NOT NULL THEN p.root_fid ELSE t.parent_fid END AS root_fid,
           CASE WHEN t.parent_hash IS NULL THEN t.hash WHEN p.root_hash IS NOT NULL THEN p.root_hash ELSE t.parent_hash END AS root_hash,
           CASE WHEN t.parent_hash IS NULL THEN t.parent_url WHEN p.root_hash IS NOT NULL THEN p.root_url END AS root_url,
           CASE WHEN t.parent_hash IS NULL THEN false WHEN p.root_hash IS NOT NULL THEN p.root_open ELSE true END AS root_open
      FROM top t
      LEFT JOIN waypoint.casts p ON p.fid = t.parent_fid AND p.hash = t.parent_hash
            AND NOT p.removed AND p.pruned_at IS NULL AND p.revoked_at IS NULL AND p.dropped_at IS NULL
  )
  UPDATE waypoint.casts c
     SET root_fid = r.root_fid, root_hash = r.root_hash, root_url = r.root_url, root_open = r.root_open
    FROM r
   WHERE c.fid = r.sfid AND c.hash = r.shash
     AND (c.root_fid, c.root_hash, c.root_url, c.root_open) IS DISTINCT FROM (r.root_fid, r.root_hash, r.root_url, r.root_open);

  -- 2. Held queued casts: the open rows that stopped at one continue to its root.
  WITH x AS (
    SELECT c.fid, c.hash, c.root_fid, c.root_hash, c.root_url, c.root_open
      FROM unnest(fids, hashes) AS e(fid, hash) JOIN waypoint.casts c ON c.fid = e.fid AND c.hash = e.hash
     WHERE NOT c.removed AND c.pruned_at IS NULL AND c.revoked_at IS NULL AND c.dropped_at IS NULL
  )
  UPDATE waypoint.casts c
     SET root_fid = x.root_fid, root_hash = x.root_hash, root_url = x.root_url, root_open = x.root_open
    FROM x
   WHERE c.root_open AND c.root_hash = x.hash AND c.root_fid = x.fid AND NOT (c.fid = x.fid AND c.hash = x.hash)
     AND (c.root_fid, c.root_hash, c.root_url, c.root_open) IS DISTINCT FROM (x.root_fid, x.root_hash, x.root_url, x.root_open);

  -- 3. Queued casts that are not held: the replies below one (through held replies) stop at it.
  WITH RECURSIVE x AS (
    SELECT c.fid, c.hash
      FROM unnest(fids, hashes) AS e(fid, hash) JOIN waypoint.casts c ON c.fid = e.fid AND c.hash = e.hash
     WHERE c.removed OR c.pruned_at IS NOT NULL OR c.revoked_at IS NOT NULL OR c.dropped_at IS NOT NULL
  ),
  down AS (
    SELECT x.fid AS xfid, x.hash AS xhash, ch.fid, ch.hash,
           NOT ch.removed AND ch.pruned_at IS NULL AND ch.revoked_at IS NULL AND ch.dropped_at IS NULL AS held
      FROM x JOIN waypoint.casts ch ON ch.parent_hash = x.hash AND ch.parent_fid = x.fid
    UNION ALL
    SELECT d.xfid, d.xhash, ch.fid, ch.hash,
           NOT ch.removed AND ch.pruned_at IS NULL AND ch.revoked_at IS NULL AND ch.dropped_at IS NULL
      FROM down d JOIN waypoint.casts ch ON ch.parent_hash = d.hash AND ch.parent_fid = d.fid
     WHERE d.held
  )
  UPDATE waypoint.casts c
     SET root_fid = d.xfid, root_hash = d.xhash, root_url = NULL, root_open = true
    FROM down d
   WHERE c.fid = d.fid AND c.hash = d.hash
     AND (c.root_fid, c.root_hash, c.root_url, c.root_open) IS DISTINCT FROM (d.xfid, d.xhash, NULL::text, true);
  RETURN taken;
END
$$;
REVOKE ALL ON FUNCTION waypoint.resolve_thread_roots(int) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.resolve_thread_roots(int) IS
  'Internal (the apply workers call it between batches): resolves the thread roots of up to max_entries queued casts (waypoint.cast_thread_queue) and of the casts whose thread they change; returns the entries taken, 0 when another caller is resolving or secondary indexes are missing.';

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
    SELECT 'onchain' || E'\t' || type || E'\t' || fid || E'\t' || encode(transaction_hash, 'hex') || E'\t' || log_index
      FROM waypoint.onchain_events
    UNION ALL
    SELECT 'fname' || E'\t' || name || E'\t' || fid FROM waypoint.username_proofs
      WHERE NOT deleted AND fid <> 0 AND reconciled_at IS NULL
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
