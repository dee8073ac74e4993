-- Every test starts from an empty mirror (pg_temp.fresh, test/regress/setup.sql).
SELECT pg_temp.fresh();
RESET client_min_messages;
-- Prune and revoke: tombstones on the message, the row leaves the live views.
-- prune BEFORE merge: the prune's payload creates the row, the later merge respects it
SELECT pg_temp.apply('event', :'ev_p1_prune');
SELECT count(*) AS rows, count(*) FILTER (WHERE pruned_at IS NOT NULL) AS pruned FROM waypoint.casts WHERE fid = 400;
SELECT pg_temp.apply('event', :'ev_p1');
SELECT count(*) AS live FROM waypoint.casts_live WHERE fid = 400;
-- prune AFTER merge
SELECT pg_temp.apply('event', :'ev_p2');
SELECT text FROM waypoint.casts_live WHERE fid = 400;
SELECT pg_temp.apply('event', :'ev_p2_prune');
SELECT count(*) AS live FROM waypoint.casts_live WHERE fid = 400;
SELECT type, pruned_at IS NOT NULL AS pruned, revoked_at IS NOT NULL AS revoked
FROM waypoint.messages WHERE fid = 400 ORDER BY "timestamp";
-- revoke (signer removed) in one batch with its merge, and again after
SELECT pg_temp.apply('event', :'ev_v1_revoke', :'ev_v1');
SELECT count(*) AS live_user_data FROM waypoint.user_data_live WHERE fid = 401;
SELECT revoked_at = waypoint.farcaster_time(150000000) AS revoked_at_event_time FROM waypoint.user_data WHERE fid = 401;
SELECT pg_temp.apply('event', :'ev_v1', :'ev_v1_revoke');
SELECT count(*) AS live_user_data FROM waypoint.user_data_live WHERE fid = 401;
-- pruned/revoked messages are not held
SELECT count(*) AS lines FROM waypoint.state_lines();
