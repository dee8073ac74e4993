-- Store upsert of waypoint.channel_members: per (channel, target fid), the CHANNEL_MEMBER
-- (type 19) the node holds, and the state it gives the target. One statement per batch
-- (docs/apply-semantics.md, "Channels"). Parameters, one array element per CHANNEL_MEMBER
-- merged by an event of data shard 1:
--   $1 channel_id, $2 author fid (who did it), $3 message_hash, $4 ts (Farcaster seconds),
--   $5 merge_event (the event id), $6 member_fid (the target), $7 action
--   (ChannelMemberAction 1..6).
-- The newest merge into the slot holds it, whoever wrote it and whatever the timestamps
-- (the node checked the author's authority when it admitted the message; the mirror does
-- not judge it again). The state follows from the winning action as the node derives it:
-- ADD_MEMBER and REMOVE_MODERATOR -> member, ADD_MODERATOR -> moderator, REMOVE_MEMBER and
-- UNBAN -> removed, BAN -> banned. A removed or banned row keeps its slot. Rows are taken
-- in key order (DISTINCT ON sorts them), so two workers lock them in the same order.
INSERT INTO waypoint.channel_members AS t (
  channel_id, member_fid, state, action, author_fid, message_hash, "timestamp", merge_event, updated_at)
SELECT DISTINCT ON (u.channel_id, u.member_fid)
       u.channel_id, u.member_fid,
       CASE u.action WHEN 1 THEN 'member' WHEN 2 THEN 'removed' WHEN 3 THEN 'moderator' WHEN 4 THEN 'member'
                     WHEN 5 THEN 'banned' WHEN 6 THEN 'removed' END,
       CASE u.action WHEN 1 THEN 'add_member' WHEN 2 THEN 'remove_member' WHEN 3 THEN 'add_moderator'
                     WHEN 4 THEN 'remove_moderator' WHEN 5 THEN 'ban' WHEN 6 THEN 'unban' END,
       u.author_fid, u.message_hash, waypoint.farcaster_time(u.ts), u.merge_event, now()
  FROM (SELECT unnest($1::bytea[]) AS channel_id, unnest($2::bigint[]) AS author_fid,
               unnest($3::bytea[]) AS message_hash, unnest($4::bigint[]) AS ts, unnest($5::bigint[]) AS merge_event,
               unnest($6::bigint[]) AS member_fid, unnest($7::int[]) AS action) AS u
 ORDER BY u.channel_id, u.member_fid, u.merge_event DESC, u.message_hash DESC
ON CONFLICT (channel_id, member_fid) DO UPDATE SET
  state = excluded.state,
  action = excluded.action,
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
   OR (t.message_hash IS NULL AND excluded.state = t.state)
