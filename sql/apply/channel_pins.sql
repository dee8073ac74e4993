-- Store upsert of waypoint.channel_pins: per channel, the CHANNEL_PIN (type 20) the node
-- holds. One statement per batch (docs/apply-semantics.md, "Channels"). Parameters, one
-- array element per CHANNEL_PIN merged by an event of data shard 1:
--   $1 channel_id, $2 author fid (who pinned), $3 message_hash, $4 ts (Farcaster seconds),
--   $5 merge_event (the event id), $6 cast_hash (empty: unpinned, kept as NULL).
-- The newest merge into the channel's pin slot holds it, whatever the timestamps; an unpin
-- takes the slot like a pin. The cast is named by hash alone: the node does not check that
-- it exists or was posted in the channel. Rows are taken in channel order.
INSERT INTO waypoint.channel_pins AS t (
  channel_id, cast_hash, author_fid, message_hash, "timestamp", merge_event, updated_at)
SELECT DISTINCT ON (u.channel_id)
       u.channel_id, nullif(u.cast_hash, ''::bytea), u.author_fid, u.message_hash, waypoint.farcaster_time(u.ts),
       u.merge_event, now()
  FROM (SELECT unnest($1::bytea[]) AS channel_id, unnest($2::bigint[]) AS author_fid,
               unnest($3::bytea[]) AS message_hash, unnest($4::bigint[]) AS ts, unnest($5::bigint[]) AS merge_event,
               unnest($6::bytea[]) AS cast_hash) AS u
 ORDER BY u.channel_id, u.merge_event DESC, u.message_hash DESC
ON CONFLICT (channel_id) DO UPDATE SET
  cast_hash = excluded.cast_hash,
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
   OR (t.message_hash IS NULL AND excluded.cast_hash IS NOT DISTINCT FROM t.cast_hash
       AND (t.cast_hash IS NULL OR excluded.author_fid IS NOT DISTINCT FROM t.author_fid))
