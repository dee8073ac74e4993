-- Store upsert of waypoint.channel_metadata: per channel, the CHANNEL_UPDATE (type 18)
-- the node holds. One statement per batch (extension/src/apply/apply.cpp runs it as it
-- is; the rule is docs/apply-semantics.md, "Channels"). Parameters, one array element per
-- CHANNEL_UPDATE merged by an event of data shard 1:
--   $1 channel_id, $2 author fid, $3 message_hash, $4 ts (Farcaster seconds), $5 merge_event
--   (the event id), $6..$10 name, description, image_url, header, rules (NULL: left out),
--   $11 casting_mode, $12 membership_mode (numbers, an absent or NONE mode already folded
--   to the node's default: 2 members_only, 2 approval).
-- The node's rule: the newest merge into the channel's slot holds it, whoever wrote it and
-- whatever the timestamps; the update is the whole configuration (a field it leaves out is
-- unset, not inherited). Event ids of one shard order the merges, so the highest wins, in
-- any arrival order. Rows are taken in channel order (DISTINCT ON sorts them), so two
-- workers writing the same channels lock them in the same order.
INSERT INTO waypoint.channel_metadata AS t (
  channel_id, name, description, image_url, header, rules, casting_mode, membership_mode,
  author_fid, message_hash, "timestamp", merge_event, updated_at)
SELECT DISTINCT ON (u.channel_id)
       u.channel_id, u.name, u.description, u.image_url, u.header, u.rules,
       CASE u.casting_mode WHEN 1 THEN 'everyone' WHEN 2 THEN 'members_only' WHEN 3 THEN 'recommended' END,
       CASE u.membership_mode WHEN 1 THEN 'open' WHEN 2 THEN 'approval' END,
       u.author_fid, u.message_hash, waypoint.farcaster_time(u.ts), u.merge_event, now()
  FROM (SELECT unnest($1::bytea[]) AS channel_id, unnest($2::bigint[]) AS author_fid,
               unnest($3::bytea[]) AS message_hash, unnest($4::bigint[]) AS ts, unnest($5::bigint[]) AS merge_event,
               unnest($6::text[]) AS name, unnest($7::text[]) AS description, unnest($8::text[]) AS image_url,
               unnest($9::text[]) AS header, unnest($10::text[]) AS rules, unnest($11::int[]) AS casting_mode,
               unnest($12::int[]) AS membership_mode) AS u
 ORDER BY u.channel_id, u.merge_event DESC, u.message_hash DESC
ON CONFLICT (channel_id) DO UPDATE SET
  name = excluded.name,
  description = excluded.description,
  image_url = excluded.image_url,
  header = excluded.header,
  rules = excluded.rules,
  casting_mode = excluded.casting_mode,
  membership_mode = excluded.membership_mode,
  author_fid = excluded.author_fid,
  message_hash = excluded.message_hash,
  "timestamp" = excluded."timestamp",
  merge_event = excluded.merge_event,
  updated_at = CASE WHEN excluded.message_hash IS DISTINCT FROM t.message_hash THEN excluded.updated_at ELSE t.updated_at END
-- A later merge replaces the holder (the same message merged again counts: it took the
-- A row derived from a backfill's state read (message_hash NULL; waypoint.apply_channel_state)
-- takes the hash, author and timestamp of a merge at or before its position that says the
-- same, and that merge's event id: the stream tells which message holds the state.
-- slot again); the same event again, or an older one, changes nothing.
WHERE excluded.merge_event > t.merge_event
   OR (t.message_hash IS NULL AND excluded.name IS NOT DISTINCT FROM t.name
       AND excluded.description IS NOT DISTINCT FROM t.description AND excluded.image_url IS NOT DISTINCT FROM t.image_url
       AND excluded.header IS NOT DISTINCT FROM t.header AND excluded.rules IS NOT DISTINCT FROM t.rules
       AND excluded.casting_mode = t.casting_mode AND excluded.membership_mode = t.membership_mode)
