-- Store upsert of waypoint.casts: a cast's adds and removes by (fid, cast hash); a remove wins over any add (casts order removes first).
-- One statement per batch (extension/src/apply/apply.cpp runs it as it is; the rule is
-- docs/apply-semantics.md). Parameters, one array element per candidate message:
--   $1 fid, $2 message_hash, $3 ts (Farcaster seconds), $4 removed,
--   $5..$13 hash, text, parent_fid, parent_hash, parent_url, embeds, mentions, mentions_positions, cast_type,
--   $14..$17 bp (the parent cast is added in this batch too), and that parent's own
--   parent_fid, parent_hash, parent_url,
--   $18..$22 dead, merge_event, pruned_at, revoked_at, dropped_at: the candidate's standing
--   in waypoint.messages after this batch wrote it.
-- Store order (highest wins): remove first, then timestamp, then hash.
-- The thread root set here is a first guess from the parent's row as it stands, or from
-- the parent's own parent when the parent has no row yet and is added in this batch
-- (docs/apply-semantics.md "Thread roots"). A row written is queued for
-- waypoint.resolve_thread_roots() only when the guess may be wrong or the row may change
-- others: its root is open, it is not held, some committed row is open at it (replies that
-- came first), or the secondary indexes are missing (a bulk sync: every row, for the
-- set-based pass). A held row's closed guess is right: it copied a held parent's committed
-- root, or the guess of a parent new in this batch, which is wrong only if that parent
-- ends not held, and then the parent is queued; a queued death of an ancestor walks down
-- the replies after this batch commits and reaches this row too.
-- w: one candidate per key (alive before dead, then the latest merge, then store order).
WITH w AS (
SELECT DISTINCT ON (u.fid, u.hash) u.*
  -- unnest in the select list streams the arrays (unnest(a, b, ...) in FROM would copy
  -- each one into a tuplestore first)
  FROM (SELECT unnest($1::bigint[]) AS fid, unnest($2::bytea[]) AS message_hash, unnest($3::bigint[]) AS ts,
          unnest($4::boolean[]) AS removed, unnest($5::bytea[]) AS hash, unnest($6::text[]) AS text,
          unnest($7::bigint[]) AS parent_fid, unnest($8::bytea[]) AS parent_hash, unnest($9::text[]) AS parent_url,
          unnest($10::text[]) AS embeds, unnest($11::text[]) AS mentions, unnest($12::text[]) AS mentions_positions,
          unnest($13::int[]) AS cast_type, unnest($14::boolean[]) AS bp, unnest($15::bigint[]) AS bp_fid,
          unnest($16::bytea[]) AS bp_hash, unnest($17::text[]) AS bp_url,
          unnest($18::boolean[]) AS dead, unnest($19::bigint[]) AS merge_event,
          unnest($20::timestamptz[]) AS pruned_at, unnest($21::timestamptz[]) AS revoked_at, unnest($22::timestamptz[]) AS dropped_at)
       AS u
 ORDER BY u.fid, u.hash, u.dead, CASE WHEN NOT u.dead THEN u.merge_event END DESC NULLS LAST,
          u.removed DESC, u.ts DESC, u.message_hash DESC
),
written AS (
INSERT INTO waypoint.casts AS t (
  fid, message_hash, "timestamp", removed, deleted_at, pruned_at, revoked_at, dropped_at,
  updated_at, dropped_reason, confirmed_seq, event_id,
  hash, text, parent_fid, parent_hash, parent_url, embeds, mentions, mentions_positions, cast_type,
  root_fid, root_hash, root_url, root_open)
SELECT w.fid, w.message_hash, waypoint.farcaster_time(w.ts), w.removed,
       CASE WHEN w.removed THEN waypoint.farcaster_time(w.ts) END,
       -- a row shows its winner's tombstones only while the winner is dead
       CASE WHEN w.dead THEN w.pruned_at END, CASE WHEN w.dead THEN w.revoked_at END,
       CASE WHEN w.dead THEN w.dropped_at END, now(),
       CASE WHEN w.dead AND w.dropped_at IS NOT NULL THEN 'deleted' END,
       currval('waypoint.apply_seq'), w.merge_event,
       w.hash, w.text, w.parent_fid, w.parent_hash, w.parent_url, w.embeds::jsonb, w.mentions::bigint[], w.mentions_positions::int[], w.cast_type,
       -- no parent cast: the cast is its thread's top; a held parent: the parent's root; a
       -- parent that has no row yet but is added in this batch: that parent's own guess
       -- (from its parent gp); otherwise (no parent yet, or one not held) the thread stops
       -- (open) at the parent
       CASE WHEN w.parent_hash IS NULL THEN w.fid WHEN p.held AND p.root_hash IS NOT NULL THEN p.root_fid
            WHEN w.bp AND p.held IS NULL THEN CASE WHEN w.bp_hash IS NULL THEN w.parent_fid WHEN gp.root_hash IS NOT NULL THEN gp.root_fid ELSE w.bp_fid END
            ELSE w.parent_fid END,
       CASE WHEN w.parent_hash IS NULL THEN w.hash WHEN p.held AND p.root_hash IS NOT NULL THEN p.root_hash
            WHEN w.bp AND p.held IS NULL THEN CASE WHEN w.bp_hash IS NULL THEN w.parent_hash WHEN gp.root_hash IS NOT NULL THEN gp.root_hash ELSE w.bp_hash END
            ELSE w.parent_hash END,
       CASE WHEN w.parent_hash IS NULL THEN w.parent_url WHEN p.held AND p.root_hash IS NOT NULL THEN p.root_url
            WHEN w.bp AND p.held IS NULL THEN CASE WHEN w.bp_hash IS NULL THEN w.bp_url WHEN gp.root_hash IS NOT NULL THEN gp.root_url END
            END,
       CASE WHEN w.parent_hash IS NULL THEN false WHEN p.held AND p.root_hash IS NOT NULL THEN p.root_open
            WHEN w.bp AND p.held IS NULL THEN CASE WHEN w.bp_hash IS NULL THEN false WHEN gp.root_hash IS NOT NULL THEN gp.root_open ELSE true END
            ELSE true END
  -- (parents are looked up by key, one probe per candidate, whatever plan the statistics
  -- of a young table suggest)
  FROM w
  LEFT JOIN LATERAL (SELECT c.root_fid, c.root_hash, c.root_url, c.root_open,
                            NOT c.removed AND c.pruned_at IS NULL AND c.revoked_at IS NULL AND c.dropped_at IS NULL AS held
                       FROM waypoint.casts c WHERE c.fid = w.parent_fid AND c.hash = w.parent_hash LIMIT 1) p ON true
  LEFT JOIN LATERAL (SELECT * FROM waypoint.casts c WHERE c.fid = w.bp_fid AND c.hash = w.bp_hash LIMIT 1) gp
    ON NOT gp.removed AND gp.pruned_at IS NULL AND gp.revoked_at IS NULL AND gp.dropped_at IS NULL
 ORDER BY w.fid, w.hash
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
RETURNING t.fid, t.hash, t.root_open,
          t.removed OR t.pruned_at IS NOT NULL OR t.revoked_at IS NOT NULL OR t.dropped_at IS NOT NULL AS dead)
INSERT INTO waypoint.cast_thread_queue (fid, hash)
SELECT x.fid, x.hash FROM written x
  -- a committed row open at x: one probe of casts_root_open_idx per held, closed row, and
  -- none while that index is missing (an EXISTS could be planned as a hash of every open
  -- row, a scan per batch). A row of this statement is not visible here, but one added in
  -- the same batch as its parent got a closed guess through the parent: above.
  LEFT JOIN LATERAL (SELECT true AS found FROM waypoint.casts o
                      WHERE x.root_open IS FALSE AND NOT x.dead AND (SELECT mode FROM waypoint.storage_mode) = 'live'
                        AND o.root_open AND o.root_hash = x.hash AND o.root_fid = x.fid LIMIT 1) o ON true
 WHERE x.root_open IS NOT FALSE OR x.dead OR (SELECT mode FROM waypoint.storage_mode) <> 'live' OR o.found
