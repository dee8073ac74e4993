-- Every test starts from an empty mirror (pg_temp.fresh, test/regress/setup.sql).
SELECT pg_temp.fresh();
RESET client_min_messages;
-- Casts: key (fid, cast hash); remove beats add FIRST, whatever the timestamps.
SELECT pg_temp.apply('event', :'ev_c1', :'ev_c2', :'ev_c3');
SELECT fid, left(encode(hash, 'hex'), 8) AS hash, text, parent_fid, left(encode(parent_hash, 'hex'), 8) AS parent,
       parent_url, embeds, mentions, extract(epoch FROM "timestamp") - 1609459200 AS farcaster_ts
FROM waypoint.casts_live ORDER BY "timestamp";
-- replies to c1, and a channel's casts
SELECT text FROM waypoint.casts_live WHERE parent_hash = decode(:'c1_h', 'hex');
SELECT text FROM waypoint.casts_live WHERE parent_url = 'https://warpcast.com/~/channel/dev';
-- duplicates change nothing
SELECT pg_temp.apply('event', :'ev_c1', :'ev_c1');
SELECT count(*) AS casts, (SELECT count(*) FROM waypoint.messages) AS messages FROM waypoint.casts;
-- the remove is OLDER than the add and still wins
SELECT pg_temp.apply('event', :'ev_c1_rm');
SELECT removed, text IS NULL AS no_text, deleted_at = waypoint.farcaster_time(900) AS deleted_at_ok,
       encode(message_hash, 'hex') = :'c1_rm_h' AS remove_is_winner
FROM waypoint.casts WHERE hash = decode(:'c1_h', 'hex');
SELECT dropped_at IS NOT NULL AS add_dropped FROM waypoint.messages WHERE hash = decode(:'c1_h', 'hex');
-- the add again (a backfill page racing the live stream): the tombstone holds
SELECT pg_temp.apply('message', :'msg_c1');
SELECT count(*) AS live_c1 FROM waypoint.casts_live WHERE hash = decode(:'c1_h', 'hex');
CREATE TEMP TABLE order1 AS SELECT * FROM waypoint.state_lines() AS line;
-- remove-before-add, in reverse order, on an empty mirror: identical state
SELECT pg_temp.fresh();
SELECT pg_temp.apply('message', :'msg_c1_rm');
SELECT pg_temp.apply('event', :'ev_c3', :'ev_c2', :'ev_c1');
SELECT count(*) AS live_c1 FROM waypoint.casts_live WHERE hash = decode(:'c1_h', 'hex');
SELECT pg_temp.apply('event', :'ev_c1_rm');
SELECT count(*) AS differences FROM (
  (SELECT line FROM order1 EXCEPT ALL SELECT * FROM waypoint.state_lines())
  UNION ALL
  (SELECT * FROM waypoint.state_lines() EXCEPT ALL SELECT line FROM order1)) d;
SELECT * FROM waypoint.state_lines();
