-- Store upsert of waypoint.app_keys: app keys (KEY_ADD messages) by (fid, key).
-- One statement per batch (extension/src/apply/apply.cpp runs it as it is; the rule is
-- docs/apply-semantics.md, "App keys"). Parameters, one array element per KEY_ADD:
--   $1 fid, $2 message_hash, $3 ts (Farcaster seconds), $4 removed (unused: a KEY_ADD),
--   $5..$14 key, key_type, scopes (int array literal), ttl, nonce, deadline, request_fid,
--   remove_hash, remove_ts (the KEY_REMOVE that deleted it, when this copy came in that
--   remove's deleted_messages), death_event,
--   $15..$19 dead, merge_event, pruned_at, revoked_at, dropped_at: the candidate's standing
--   in waypoint.messages after this batch wrote it.
-- The node keeps one KEY_ADD per key, the latest merged (an upsert deletes the previous
-- one), and a KEY_REMOVE deletes it without being stored; the node holds one KEY_ADD of a
-- key at a time. So the KEY_ADD merged last wins, alive or dead: by its merge event, or,
-- for a copy seen only in a later event's deleted_messages, its death event (it was held
-- until then, so it was merged after every KEY_ADD that died or merged before); at the
-- same event the merge counts as later; without event ids, timestamp then hash. A dead
-- winner is a removed key (removed = true). A row a backfill wrote from the node's key
-- state (no message_hash: sql/apply/app_key_states.sql) is replaced by the KEY_ADD of the
-- same or a later user nonce (the fid's nonce grows with every KEY_ADD the node accepts),
-- which then brings its hash and its standing.
INSERT INTO waypoint.app_keys AS t (
  fid, key, message_hash, "timestamp", key_type, scopes, ttl, nonce, deadline, request_fid,
  removed, removed_at, remove_hash, remove_event, dropped_at, dropped_reason,
  confirmed_seq, event_id, updated_at)
SELECT DISTINCT ON (u.fid, u.key)
       u.fid, u.key, u.message_hash, waypoint.farcaster_time(u.ts), u.key_type, u.scopes::int[], u.ttl,
       u.nonce, u.deadline, u.request_fid,
       u.dead, coalesce(waypoint.farcaster_time(u.remove_ts), r."timestamp"), coalesce(u.remove_hash, r.hash),
       CASE WHEN u.dead THEN u.death_event END,
       CASE WHEN u.dead THEN u.dropped_at END, CASE WHEN u.dead AND u.dropped_at IS NOT NULL THEN 'deleted' END,
       currval('waypoint.apply_seq'), u.merge_event, now()
  -- unnest in the select list streams the arrays (unnest(a, b, ...) in FROM would copy
  -- each one into a tuplestore first)
  FROM (SELECT unnest($1::bigint[]) AS fid, unnest($2::bytea[]) AS message_hash, unnest($3::bigint[]) AS ts,
          unnest($4::boolean[]) AS removed, unnest($5::bytea[]) AS key, unnest($6::int[]) AS key_type,
          unnest($7::text[]) AS scopes, unnest($8::bigint[]) AS ttl, unnest($9::bigint[]) AS nonce,
          unnest($10::bigint[]) AS deadline, unnest($11::bigint[]) AS request_fid,
          unnest($12::bytea[]) AS remove_hash, unnest($13::bigint[]) AS remove_ts,
          unnest($14::bigint[]) AS death_event, unnest($15::boolean[]) AS dead, unnest($16::bigint[]) AS merge_event,
          unnest($17::timestamptz[]) AS pruned_at, unnest($18::timestamptz[]) AS revoked_at,
          unnest($19::timestamptz[]) AS dropped_at)
       AS u
  -- A removed KEY_ADD whose remove this copy does not name (it came with another event):
  -- the KEY_REMOVE merged by the event that deleted it, if the mirror has it.
  LEFT JOIN LATERAL (SELECT m.hash, m."timestamp" FROM waypoint.messages m
                      WHERE u.dead AND u.remove_hash IS NULL AND m.fid = u.fid AND m.type = 17
                        AND m.merge_event = u.death_event LIMIT 1) r ON true
  -- One candidate per key: the latest merged.
 ORDER BY u.fid, u.key, coalesce(u.merge_event, u.death_event, -1) DESC, u.merge_event IS NOT NULL DESC,
          u.ts DESC, u.message_hash DESC
ON CONFLICT (fid, key) DO UPDATE SET
  message_hash = excluded.message_hash,
  "timestamp" = excluded."timestamp",
  key_type = excluded.key_type,
  scopes = excluded.scopes,
  ttl = excluded.ttl,
  nonce = excluded.nonce,
  deadline = excluded.deadline,
  request_fid = excluded.request_fid,
  removed = excluded.removed,
  -- the remove is known only from the event that deleted this KEY_ADD: keep it
  removed_at = CASE WHEN excluded.message_hash = t.message_hash THEN coalesce(excluded.removed_at, t.removed_at)
                    ELSE excluded.removed_at END,
  remove_hash = CASE WHEN excluded.message_hash = t.message_hash THEN coalesce(excluded.remove_hash, t.remove_hash)
                     ELSE excluded.remove_hash END,
  remove_event = excluded.remove_event,
  dropped_at = excluded.dropped_at,
  dropped_reason = excluded.dropped_reason,
  confirmed_seq = excluded.confirmed_seq,
  event_id = excluded.event_id,
  -- the node's TTL anchor a backfill read (app_key_states.sql) holds for the same KEY_ADD
  -- (the fid's user nonce names it); another one restarts it
  last_used_at = CASE WHEN excluded.nonce = t.nonce THEN t.last_used_at END,
  -- updated_at changes only when something a reader sees did
  updated_at = CASE WHEN excluded.message_hash IS DISTINCT FROM t.message_hash
                      OR excluded.removed <> t.removed
                      OR (excluded.remove_hash IS NOT NULL AND excluded.remove_hash IS DISTINCT FROM t.remove_hash)
                    THEN excluded.updated_at ELSE t.updated_at END
-- Whether the candidate replaces the current winner t (its standing read fresh):
WHERE excluded.message_hash = t.message_hash  -- the same KEY_ADD again: refresh it
   OR (t.message_hash IS NULL AND excluded.nonce >= t.nonce)  -- a state row: its KEY_ADD or a later one
   OR t.message_hash IS NOT NULL AND coalesce((
        SELECT (coalesce(excluded.event_id, excluded.remove_event, -1), excluded.event_id IS NOT NULL,
                excluded."timestamp", excluded.message_hash)
             > (coalesce(mo.merge_event, mo.death_event, -1), mo.merge_event IS NOT NULL, t."timestamp", t.message_hash)
          FROM waypoint.messages mo WHERE mo.fid = t.fid AND mo.hash = t.message_hash),
        (excluded."timestamp", excluded.message_hash) > (t."timestamp", t.message_hash))
