-- Every test starts from an empty mirror (pg_temp.fresh, test/regress/setup.sql).
SELECT pg_temp.fresh();
RESET client_min_messages;
-- Reactions: key (fid, type, target); timestamp, then remove beats add, then hash.
SELECT pg_temp.apply('event', :'ev_r1', :'ev_r2');
SELECT fid, reaction_type, target_cast_fid, left(encode(target_cast_hash, 'hex'), 8) AS target
FROM waypoint.reactions_live ORDER BY fid;
-- unlike: the row keyed by (fid, type, target) becomes the remove (no second row)
SELECT pg_temp.apply('event', :'ev_r1_rm');
SELECT fid, removed, encode(message_hash, 'hex') = :'r1_rm_h' AS remove_wins FROM waypoint.reactions ORDER BY fid;
-- the superseded like delivered again does not resurrect it
SELECT pg_temp.apply('event', :'ev_r1');
SELECT count(*) AS live_likes_of_200 FROM waypoint.reactions_live WHERE fid = 200;
-- like again (newer) wins
SELECT pg_temp.apply('event', :'ev_r1_again');
SELECT count(*) AS live_likes_of_200 FROM waypoint.reactions_live WHERE fid = 200;
-- equal timestamps: the remove wins, in either order
SELECT pg_temp.apply('event', :'ev_r_tie_rm', :'ev_r_tie_add');
SELECT removed FROM waypoint.reactions WHERE fid = 202;
-- reactions to cast c2, by type
SELECT reaction_type, count(*) FROM waypoint.reactions_live
WHERE target_cast_hash = decode(:'c2_h', 'hex') GROUP BY 1 ORDER BY 1;

-- Links: key (fid, type, target_fid).
SELECT pg_temp.apply('event', :'ev_l1', :'ev_l2', :'ev_l3', :'ev_l4');
SELECT pg_temp.apply('event', :'ev_l2_rm');
SELECT fid, link_type, target_fid FROM waypoint.links_live ORDER BY target_fid;
-- followers of 301
SELECT fid FROM waypoint.links_live WHERE target_fid = 301 AND link_type = 'follow';
-- Link compact state (ts 3050, keeps 301): links at or before it whose target is not
-- listed are compacted away, removes too; 304 is newer and stays.
SELECT pg_temp.apply('event', :'ev_lcs');
SELECT fid, link_type, target_fid FROM waypoint.links_live ORDER BY target_fid;
SELECT count(*) AS held_link_removes FROM waypoint.links_held WHERE removed;
SELECT fid, link_type, target_fids FROM waypoint.link_compact_states_live;
-- compaction is order-independent: the compact state first, then the old links
CREATE TEMP TABLE order1 AS SELECT * FROM waypoint.state_lines() AS line;
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event', :'ev_lcs', :'ev_l4', :'ev_l3', :'ev_l2_rm', :'ev_l2', :'ev_l1',
                     :'ev_r_tie_add', :'ev_r1_again', :'ev_r1', :'ev_r_tie_rm', :'ev_r2', :'ev_r1_rm');
SELECT count(*) AS differences FROM (
  (SELECT line FROM order1 EXCEPT ALL SELECT * FROM waypoint.state_lines())
  UNION ALL
  (SELECT * FROM waypoint.state_lines() EXCEPT ALL SELECT line FROM order1)) d;
SELECT * FROM waypoint.state_lines();
