-- Store upsert of waypoint.casts: a cast's adds and removes by (fid, cast hash); a remove wins over any add (casts order removes first).
-- One statement per batch (extension/src/apply/apply.cpp runs it as it is; the rule is
-- docs/apply-semantics.md). Parameters, one array element per candidate message:
--   $1 fid, $2 message_hash, $3 ts (Farcaster seconds), $4 removed,
--   $5..$13 hash, text, parent_fid, parent_hash, parent_url, embeds, mentions, mentions_positions, cast_type,
--   $14..$18 dead, merge_event, pruned_at, revoked_at, dropped_at: the candidate's standing
--   in waypoint.messages after this batch wrote it.
-- Store order (highest wins): remove first, then timestamp, then hash.
-- Every row written is queued for waypoint.resolve_thread_roots(); the thread root set
-- here is a first guess from the parent's row as it stands (docs/apply-semantics.md
-- "Thread roots"), right for most casts, so the resolver seldom rewrites a row.
WITH written AS (
INSERT INTO waypoint.casts AS t (
  fid, message_hash, "timestamp", removed, deleted_at, pruned_at, revoked_at, dropped_at,
  updated_at, dropped_reason, confirmed_seq, event_id,
  hash, text, parent_fid, parent_hash, parent_url, embeds, mentions, mentions_positions, cast_type,
  root_fid, root_hash, root_url, root_open)
SELECT DISTINCT ON (u.fid, u.hash)
       u.fid, u.message_hash, waypoint.farcaster_time(u.ts), u.removed,
       CASE WHEN u.removed THEN waypoint.farcaster_time(u.ts) END,
       -- a row shows its winner's tombstones only while the winner is dead
       CASE WHEN u.dead THEN u.pruned_at END, CASE WHEN u.dead THEN u.revoked_at END,
       CASE WHEN u.dead THEN u.dropped_at END, now(),
       CASE WHEN u.dead AND u.dropped_at IS NOT NULL THEN 'deleted' END,
       currval('waypoint.apply_seq'), u.merge_event,
       u.hash, u.text, u.parent_fid, u.parent_hash, u.parent_url, u.embeds::jsonb, u.mentions::bigint[], u.mentions_positions::int[], u.cast_type,
       -- no parent cast: the cast is its thread's top; a held parent: the parent's root;
       -- otherwise the thread stops (open) at the parent
       CASE WHEN u.parent_hash IS NULL THEN u.fid WHEN p.root_hash IS NOT NULL THEN p.root_fid ELSE u.parent_fid END,
       CASE WHEN u.parent_hash IS NULL THEN u.hash WHEN p.root_hash IS NOT NULL THEN p.root_hash ELSE u.parent_hash END,
       CASE WHEN u.parent_hash IS NULL THEN u.parent_url WHEN p.root_hash IS NOT NULL THEN p.root_url END,
       CASE WHEN u.parent_hash IS NULL THEN false WHEN p.root_hash IS NOT NULL THEN p.root_open ELSE true END
  -- unnest in the select list streams the arrays (unnest(a, b, ...) in FROM would copy
  -- each one into a tuplestore first)
  FROM (SELECT unnest($1::bigint[]) AS fid, unnest($2::bytea[]) AS message_hash, unnest($3::bigint[]) AS ts,
          unnest($4::boolean[]) AS removed, unnest($5::bytea[]) AS hash, unnest($6::text[]) AS text,
          unnest($7::bigint[]) AS parent_fid, unnest($8::bytea[]) AS parent_hash, unnest($9::text[]) AS parent_url,
          unnest($10::text[]) AS embeds, unnest($11::text[]) AS mentions, unnest($12::text[]) AS mentions_positions,
          unnest($13::int[]) AS cast_type, unnest($14::boolean[]) AS dead, unnest($15::bigint[]) AS merge_event,
          unnest($16::timestamptz[]) AS pruned_at, unnest($17::timestamptz[]) AS revoked_at, unnest($18::timestamptz[]) AS dropped_at)
       AS u
  LEFT JOIN waypoint.casts p ON p.fid = u.parent_fid AND p.hash = u.parent_hash
        AND NOT p.removed AND p.pruned_at IS NULL AND p.revoked_at IS NULL AND p.dropped_at IS NULL
  -- One candidate per key: alive before dead, then the latest merge, then store order.
 ORDER BY u.fid, u.hash, u.dead, CASE WHEN NOT u.dead THEN u.merge_event END DESC NULLS LAST,
          u.removed DESC, u.ts DESC, u.message_hash DESC
ON CONFLICT (fid, hash) DO UPDATE SET
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
  text = excluded.text,
  parent_fid = excluded.parent_fid,
  parent_hash = excluded.parent_hash,
  parent_url = excluded.parent_url,
  embeds = excluded.embeds,
  mentions = excluded.mentions,
  mentions_positions = excluded.mentions_positions,
  cast_type = excluded.cast_type,
  root_fid = excluded.root_fid,
  root_hash = excluded.root_hash,
  root_url = excluded.root_url,
  root_open = excluded.root_open,
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
                 ELSE ((excluded.removed, excluded."timestamp", excluded.message_hash) > (t.removed, t."timestamp", t.message_hash))
               END
          FROM waypoint.messages mo WHERE mo.fid = t.fid AND mo.hash = t.message_hash),
        ((excluded.removed, excluded."timestamp", excluded.message_hash) > (t.removed, t."timestamp", t.message_hash)))
RETURNING t.fid, t.hash)
INSERT INTO waypoint.cast_thread_queue (fid, hash) SELECT fid, hash FROM written
