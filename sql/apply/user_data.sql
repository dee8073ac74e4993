-- Store upsert of waypoint.user_data: profile fields by (fid, user data type).
-- One statement per batch (extension/src/apply/apply.cpp runs it as it is; the rule is
-- docs/apply-semantics.md). Parameters, one array element per candidate message:
--   $1 fid, $2 message_hash, $3 ts (Farcaster seconds), $4 removed,
--   $5..$6 user_data_type, value,
--   $7..$11 dead, merge_event, pruned_at, revoked_at, dropped_at: the candidate's standing
--   in waypoint.messages after this batch wrote it.
-- Store order (highest wins): timestamp, then remove, then hash.
INSERT INTO waypoint.user_data AS t (
  fid, message_hash, "timestamp", removed, deleted_at, pruned_at, revoked_at, dropped_at,
  updated_at, dropped_reason, confirmed_seq, event_id,
  user_data_type, value)
SELECT DISTINCT ON (u.fid, u.user_data_type)
       u.fid, u.message_hash, waypoint.farcaster_time(u.ts), u.removed,
       CASE WHEN u.removed THEN waypoint.farcaster_time(u.ts) END,
       -- a row shows its winner's tombstones only while the winner is dead
       CASE WHEN u.dead THEN u.pruned_at END, CASE WHEN u.dead THEN u.revoked_at END,
       CASE WHEN u.dead THEN u.dropped_at END, now(),
       CASE WHEN u.dead AND u.dropped_at IS NOT NULL THEN 'deleted' END,
       currval('waypoint.apply_seq'), u.merge_event,
       u.user_data_type, u.value
  -- unnest in the select list streams the arrays (unnest(a, b, ...) in FROM would copy
  -- each one into a tuplestore first)
  FROM (SELECT unnest($1::bigint[]) AS fid, unnest($2::bytea[]) AS message_hash, unnest($3::bigint[]) AS ts,
          unnest($4::boolean[]) AS removed, unnest($5::int[]) AS user_data_type, unnest($6::text[]) AS value,
          unnest($7::boolean[]) AS dead, unnest($8::bigint[]) AS merge_event, unnest($9::timestamptz[]) AS pruned_at,
          unnest($10::timestamptz[]) AS revoked_at, unnest($11::timestamptz[]) AS dropped_at)
       AS u
  -- One candidate per key: alive before dead, then the latest merge, then store order.
 ORDER BY u.fid, u.user_data_type, u.dead, CASE WHEN NOT u.dead THEN u.merge_event END DESC NULLS LAST,
          u.ts DESC, u.removed DESC, u.message_hash DESC
ON CONFLICT (fid, user_data_type) DO UPDATE SET
  message_hash = excluded.message_hash,
  "timestamp" = excluded."timestamp",
  removed = excluded.removed,
  deleted_at = excluded.deleted_at,
  pruned_at = excluded.pruned_at,
  revoked_at = excluded.revoked_at,
  dropped_at = excluded.dropped_at,
  dropped_reason = excluded.dropped_reason,
  confirmed_seq = excluded.confirmed_seq,
  event_id = excluded.event_id,
  value = excluded.value,
  -- updated_at changes only when something a reader sees did
  updated_at = CASE WHEN excluded.message_hash <> t.message_hash
                      OR excluded.pruned_at IS DISTINCT FROM t.pruned_at
                      OR excluded.revoked_at IS DISTINCT FROM t.revoked_at
                      OR excluded.dropped_at IS DISTINCT FROM t.dropped_at
                      OR excluded.dropped_reason IS DISTINCT FROM t.dropped_reason
                    THEN excluded.updated_at ELSE t.updated_at END
-- Whether the candidate replaces the current winner t (core rule "Replaces"):
WHERE excluded.message_hash = t.message_hash  -- the same message again: refresh it
   OR coalesce((
        SELECT CASE
                 -- alive beats dead (the winner's standing read fresh; 'reconciled' counts as dead)
                 WHEN (excluded.pruned_at IS NULL AND excluded.revoked_at IS NULL AND excluded.dropped_at IS NULL)
                      <> NOT (coalesce(mo.death_event >= coalesce(mo.merge_event, -1), false)
                              OR t.dropped_reason IS NOT DISTINCT FROM 'reconciled')
                   THEN (excluded.pruned_at IS NULL AND excluded.revoked_at IS NULL AND excluded.dropped_at IS NULL)
                 -- both alive, both merge events known: the later merge wins
                 WHEN (excluded.pruned_at IS NULL AND excluded.revoked_at IS NULL AND excluded.dropped_at IS NULL)
                      AND excluded.event_id IS NOT NULL AND mo.merge_event IS NOT NULL AND excluded.fid = t.fid
                   THEN excluded.event_id > mo.merge_event
                 -- otherwise store order
                 ELSE ((excluded."timestamp", excluded.removed, excluded.message_hash) > (t."timestamp", t.removed, t.message_hash))
               END
          FROM waypoint.messages mo WHERE mo.fid = t.fid AND mo.hash = t.message_hash),
        ((excluded."timestamp", excluded.removed, excluded.message_hash) > (t."timestamp", t.removed, t.message_hash)))
