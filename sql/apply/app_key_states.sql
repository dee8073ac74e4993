-- Upsert of waypoint.app_keys from the node's key state: the off-chain Signers of a
-- backfill's GetSignersByFid pages (entry kind "signer"; docs/apply-semantics.md, "App
-- keys from a backfill"). extension/src/apply/apply.cpp runs it as it is, after the
-- batch's KEY_ADD messages (sql/apply/app_keys.sql). Parameters, one element per (fid, key):
--   $1 fid, $2 key, $3 key_type, $4 scopes (int array literal), $5 ttl, $6 nonce (the
--   KEY_ADD's user nonce), $7 added_at (Unix seconds: the KEY_ADD's timestamp), $8 request_fid,
--   $9 last_used_at (Unix seconds: the node's anchor of the key's sliding TTL, or NULL).
-- A state carries no message: its row has no message_hash (nor deadline, event or
-- remove). The fid's user nonce grows with every KEY_ADD the node accepts, so the nonce
-- orders a state against the row's KEY_ADD, message or state alike:
--   - a higher nonce is a later KEY_ADD: it replaces the row whole (alive);
--   - the same nonce is the same KEY_ADD: the row stays (a message keeps its hash) and is
--     confirmed; a row a reconciliation marked gone is alive again, but one a KEY_REMOVE
--     removed stays removed (the remove came after the read: a removed KEY_ADD is never
--     held again, its nonce is spent);
--   - a lower nonce is an older KEY_ADD: nothing changes.
-- last_used_at only moves forward for the same KEY_ADD (a read of an earlier moment may
-- come later); a later KEY_ADD restarts it, as on the node.
INSERT INTO waypoint.app_keys AS t (
  fid, key, message_hash, "timestamp", key_type, scopes, ttl, nonce, deadline, request_fid,
  removed, removed_at, remove_hash, remove_event, dropped_at, dropped_reason,
  confirmed_seq, event_id, updated_at, last_used_at)
SELECT u.fid, u.key, NULL, to_timestamp(u.added_at), u.key_type, u.scopes::int[], u.ttl, u.nonce, NULL,
       u.request_fid, false, NULL, NULL, NULL, NULL, NULL, currval('waypoint.apply_seq'), NULL, now(),
       to_timestamp(u.last_used_at)
  FROM (SELECT unnest($1::bigint[]) AS fid, unnest($2::bytea[]) AS key, unnest($3::int[]) AS key_type,
          unnest($4::text[]) AS scopes, unnest($5::bigint[]) AS ttl, unnest($6::bigint[]) AS nonce,
          unnest($7::bigint[]) AS added_at, unnest($8::bigint[]) AS request_fid,
          unnest($9::bigint[]) AS last_used_at)
       AS u
ON CONFLICT (fid, key) DO UPDATE SET
  message_hash = CASE WHEN excluded.nonce > t.nonce THEN NULL ELSE t.message_hash END,
  "timestamp" = CASE WHEN excluded.nonce > t.nonce THEN excluded."timestamp" ELSE t."timestamp" END,
  key_type = CASE WHEN excluded.nonce > t.nonce THEN excluded.key_type ELSE t.key_type END,
  scopes = CASE WHEN excluded.nonce > t.nonce THEN excluded.scopes ELSE t.scopes END,
  ttl = CASE WHEN excluded.nonce > t.nonce THEN excluded.ttl ELSE t.ttl END,
  nonce = excluded.nonce,
  deadline = CASE WHEN excluded.nonce > t.nonce THEN NULL ELSE t.deadline END,
  request_fid = CASE WHEN excluded.nonce > t.nonce THEN excluded.request_fid
                     ELSE coalesce(t.request_fid, excluded.request_fid) END,
  removed = CASE WHEN excluded.nonce > t.nonce OR t.dropped_reason = 'reconciled' THEN false ELSE t.removed END,
  removed_at = CASE WHEN excluded.nonce > t.nonce THEN NULL ELSE t.removed_at END,
  remove_hash = CASE WHEN excluded.nonce > t.nonce THEN NULL ELSE t.remove_hash END,
  remove_event = CASE WHEN excluded.nonce > t.nonce THEN NULL ELSE t.remove_event END,
  dropped_at = CASE WHEN excluded.nonce > t.nonce OR t.dropped_reason = 'reconciled' THEN NULL ELSE t.dropped_at END,
  dropped_reason = CASE WHEN excluded.nonce > t.nonce OR t.dropped_reason = 'reconciled' THEN NULL
                        ELSE t.dropped_reason END,
  confirmed_seq = excluded.confirmed_seq,
  event_id = CASE WHEN excluded.nonce > t.nonce THEN NULL ELSE t.event_id END,
  last_used_at = CASE WHEN excluded.nonce > t.nonce THEN excluded.last_used_at
                      ELSE greatest(t.last_used_at, excluded.last_used_at) END,
  -- updated_at changes only when something a reader sees did
  updated_at = CASE WHEN excluded.nonce > t.nonce OR t.dropped_reason = 'reconciled' THEN excluded.updated_at
                    ELSE t.updated_at END
WHERE excluded.nonce > t.nonce
   OR (excluded.nonce = t.nonce AND (NOT t.removed OR t.dropped_reason = 'reconciled'))
