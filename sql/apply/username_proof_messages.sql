-- Store upsert of waypoint.username_proof_messages: username proofs sent as messages (type 12) by name.
-- One statement per batch (extension/src/apply/apply.cpp runs it as it is; the rule is
-- docs/apply-semantics.md). Parameters, one array element per candidate message:
--   $1 fid, $2 message_hash, $3 ts (Farcaster seconds), $4 removed,
--   $5..$10 name, proof_fid, proof_timestamp, owner, signature, proof_type,
--   $11..$15 dead, merge_event, pruned_at, revoked_at, dropped_at: the candidate's standing
--   in waypoint.messages after this batch wrote it.
-- Store order (highest wins): timestamp, then remove, then hash.
INSERT INTO waypoint.username_proof_messages AS t (
  fid, message_hash, "timestamp", removed, deleted_at, pruned_at, revoked_at, dropped_at,
  updated_at, dropped_reason, confirmed_seq, event_id,
  name, proof_fid, proof_timestamp, owner, signature, proof_type)
SELECT DISTINCT ON (u.name)
       u.fid, u.message_hash, waypoint.farcaster_time(u.ts), u.removed,
       CASE WHEN u.removed THEN waypoint.farcaster_time(u.ts) END,
       -- a row shows its winner's tombstones only while the winner is dead
       CASE WHEN u.dead THEN u.pruned_at END, CASE WHEN u.dead THEN u.revoked_at END,
       CASE WHEN u.dead THEN u.dropped_at END, now(),
       CASE WHEN u.dead AND u.dropped_at IS NOT NULL THEN 'deleted' END,
       currval('waypoint.apply_seq'), u.merge_event,
       u.name, u.proof_fid, to_timestamp(u.proof_timestamp), u.owner, u.signature, u.proof_type
  -- unnest in the select list streams the arrays (unnest(a, b, ...) in FROM would copy
  -- each one into a tuplestore first)
  FROM (SELECT unnest($1::bigint[]) AS fid, unnest($2::bytea[]) AS message_hash, unnest($3::bigint[]) AS ts,
          unnest($4::boolean[]) AS removed, unnest($5::text[]) AS name, unnest($6::bigint[]) AS proof_fid,
          unnest($7::bigint[]) AS proof_timestamp, unnest($8::bytea[]) AS owner, unnest($9::bytea[]) AS signature,
          unnest($10::int[]) AS proof_type, unnest($11::boolean[]) AS dead, unnest($12::bigint[]) AS merge_event,
          unnest($13::timestamptz[]) AS pruned_at, unnest($14::timestamptz[]) AS revoked_at, unnest($15::timestamptz[]) AS dropped_at)
       AS u
  -- One candidate per key: alive before dead, then the latest merge, then store order.
 ORDER BY u.name, u.dead, CASE WHEN NOT u.dead THEN u.merge_event END DESC NULLS LAST,
          u.ts DESC, u.removed DESC, u.message_hash DESC
ON CONFLICT (name) DO UPDATE SET
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
  proof_fid = excluded.proof_fid,
  proof_timestamp = excluded.proof_timestamp,
  owner = excluded.owner,
  signature = excluded.signature,
  proof_type = excluded.proof_type,
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
