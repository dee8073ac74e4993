-- Store upsert of waypoint.channel_moderations: per (channel, cast hash), the
-- CHANNEL_MODERATE (type 21) the node holds. One statement per batch
-- (docs/apply-semantics.md, "Channels"). Parameters, one array element per
-- CHANNEL_MODERATE merged by an event of data shard 1:
--   $1 channel_id, $2 author fid (who moderated), $3 message_hash, $4 ts (Farcaster
--   seconds), $5 merge_event (the event id), $6 cast_hash (20 bytes), $7 action
--   (ChannelModerateAction: 1 hide, 2 unhide).
-- The newest merge into the slot holds it, whoever wrote it and whatever the timestamps:
-- a moderator can undo the owner's hide and the other way round. An unhide keeps its slot
-- (hidden = false). Rows are taken in key order (DISTINCT ON sorts them).
INSERT INTO waypoint.channel_moderations AS t (
  channel_id, cast_hash, action, hidden, author_fid, message_hash, "timestamp", merge_event, updated_at)
SELECT DISTINCT ON (u.channel_id, u.cast_hash)
       u.channel_id, u.cast_hash, CASE u.action WHEN 1 THEN 'hide' WHEN 2 THEN 'unhide' END, u.action = 1,
       u.author_fid, u.message_hash, waypoint.farcaster_time(u.ts), u.merge_event, now()
  FROM (SELECT unnest($1::bytea[]) AS channel_id, unnest($2::bigint[]) AS author_fid,
               unnest($3::bytea[]) AS message_hash, unnest($4::bigint[]) AS ts, unnest($5::bigint[]) AS merge_event,
               unnest($6::bytea[]) AS cast_hash, unnest($7::int[]) AS action) AS u
 ORDER BY u.channel_id, u.cast_hash, u.merge_event DESC, u.message_hash DESC
ON CONFLICT (channel_id, cast_hash) DO UPDATE SET
  action = excluded.action,
  hidden = excluded.hidden,
  author_fid = excluded.author_fid,
  message_hash = excluded.message_hash,
  "timestamp" = excluded."timestamp",
  merge_event = excluded.merge_event,
  updated_at = CASE WHEN excluded.message_hash IS DISTINCT FROM t.message_hash THEN excluded.updated_at ELSE t.updated_at END
-- A row derived from a backfill's state read (message_hash NULL; waypoint.apply_channel_state)
-- takes the hash, author and timestamp of a merge at or before its position that says the
-- same, and that merge's event id: the stream tells which message holds the state.
-- A later merge replaces the holder; the same event again, or an older one, changes nothing.
WHERE excluded.merge_event > t.merge_event
   OR (t.message_hash IS NULL AND excluded.action = t.action
       AND excluded.author_fid IS NOT DISTINCT FROM t.author_fid)
