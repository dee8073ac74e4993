-- Every test starts from an empty mirror (pg_temp.fresh, test/regress/setup.sql).
SELECT pg_temp.fresh();
-- Re-merge after death (docs/apply-semantics.md): a message is alive unless its latest
-- tombstone (prune, revoke, superseded) is at or after its latest merge event; per key the
-- highest ALIVE candidate wins.
CREATE TEMP VIEW rm AS
  SELECT CASE message_hash WHEN decode(:'rm_x_h', 'hex') THEN 'X' WHEN decode(:'rm_y_h', 'hex') THEN 'Y' END AS winner,
         revoked_at IS NULL AND pruned_at IS NULL AND dropped_at IS NULL AS alive
  FROM waypoint.reactions WHERE fid = 1200;
-- merge X, revoke X, merge the OLDER Y: Y is held (the key was empty)
SELECT pg_temp.apply('event', :'ev_rm_x');
SELECT pg_temp.apply('event', :'ev_rm_x_revoke');
SELECT * FROM rm;
SELECT pg_temp.apply('event', :'ev_rm_y');
SELECT * FROM rm;
SELECT count(*) AS live FROM waypoint.reactions_live WHERE fid = 1200;
-- duplicates change nothing: the whole history again, and X's merge alone
SELECT pg_temp.apply('event', :'ev_rm_x', :'ev_rm_x_revoke', :'ev_rm_y');
SELECT pg_temp.apply('event', :'ev_rm_x');
SELECT * FROM rm;
-- a backfill page of X after the revoke it did not see never revives X; a page of Y is Y
SELECT pg_temp.apply('message', :'msg_rm_x', :'msg_rm_y');
SELECT * FROM rm;
SELECT merge_event IS NOT NULL AS merged, death_event IS NOT NULL AS tombstoned,
       death_event >= merge_event AS dead FROM waypoint.messages WHERE hash = decode(:'rm_x_h', 'hex');
-- X merged again later (supersedes Y): X is revived, Y is dead
SELECT pg_temp.apply('event', :'ev_rm_x_again');
SELECT * FROM rm;
SELECT revoked_at IS NOT NULL AS x_revoke_kept_as_history FROM waypoint.messages WHERE hash = decode(:'rm_x_h', 'hex');
SELECT dropped_at IS NOT NULL AND death_event > merge_event AS y_superseded
FROM waypoint.messages WHERE hash = decode(:'rm_y_h', 'hex');

-- Every order of (merge X, revoke X, merge Y), one batch each or all in one batch: Y.
CREATE TEMP TABLE perm_results (perm text, batched boolean, winner text, alive boolean);
CREATE TEMP TABLE p (n int, payload bytea);
INSERT INTO p VALUES (1, :'ev_rm_x'), (2, :'ev_rm_x_revoke'), (3, :'ev_rm_y');
CREATE TEMP TABLE hx AS SELECT decode(:'rm_x_h', 'hex') AS x, decode(:'rm_y_h', 'hex') AS y;
DO $$
DECLARE perm int[]; i int; batched boolean; ps bytea[];
BEGIN
  FOREACH batched IN ARRAY ARRAY[false, true] LOOP
    FOR perm IN SELECT ARRAY[a.n, b.n, c.n] FROM p a, p b, p c
                WHERE a.n <> b.n AND b.n <> c.n AND a.n <> c.n ORDER BY 1 LOOP
      -- Emptied, not re-created: 12 re-creations of the partitioned schema in one
      -- transaction would exceed the lock table.
      EXECUTE (SELECT 'TRUNCATE ' || string_agg(c.oid::regclass::text, ', ') FROM pg_class c
                WHERE c.relnamespace = 'waypoint'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                  AND c.relname NOT IN ('secondary_indexes', 'storage_mode'));
      PERFORM setval('waypoint.apply_seq', 1, false);
      SELECT array_agg(p.payload ORDER BY o) INTO ps FROM unnest(perm) WITH ORDINALITY AS x(n, o) JOIN p USING (n);
      IF batched THEN
        PERFORM * FROM waypoint.apply_payloads(ARRAY['event', 'event', 'event'], ps);
      ELSE
        FOR i IN 1..3 LOOP PERFORM * FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[ps[i]]); END LOOP;
      END IF;
      INSERT INTO perm_results
        SELECT array_to_string(perm, ''), batched,
               CASE r.message_hash WHEN hx.x THEN 'X' WHEN hx.y THEN 'Y' END,
               r.revoked_at IS NULL AND r.pruned_at IS NULL AND r.dropped_at IS NULL
        FROM waypoint.reactions r, hx WHERE r.fid = 1200;
    END LOOP;
  END LOOP;
END $$;
SELECT winner, alive, count(*) AS orders FROM perm_results GROUP BY 1, 2;

-- The same with a prune (lend storage): pruned X, then the older Y merges.
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event', :'ev_lp_x', :'ev_lp_x_prune');
SELECT pg_temp.apply('event', :'ev_lp_y');
SELECT to_fid, num_units, encode(hash, 'hex') = :'lp_y_h' AS is_y FROM waypoint.lend_storage_live WHERE fid = 1200;
-- repair order: the prune arrives last
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event', :'ev_lp_x');
SELECT pg_temp.apply('event', :'ev_lp_y');
SELECT pg_temp.apply('event', :'ev_lp_x_prune');
SELECT to_fid, num_units, encode(hash, 'hex') = :'lp_y_h' AS is_y FROM waypoint.lend_storage_live WHERE fid = 1200;

-- add -> remove -> add, the re-add revoked, then the first (older) add merges again.
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event', :'ev_ar_add', :'ev_ar_rm', :'ev_ar_add2');
SELECT target_fid, encode(hash, 'hex') = :'ar_add2_h' AS is_second_add FROM waypoint.links_live WHERE fid = 1200;
SELECT pg_temp.apply('event', :'ev_ar_add2_revoke');
SELECT count(*) AS live_links FROM waypoint.links_live WHERE fid = 1200;
SELECT pg_temp.apply('event', :'ev_ar_add_again');
SELECT target_fid, encode(hash, 'hex') = :'ar_add_h' AS is_first_add FROM waypoint.links_live WHERE fid = 1200;
-- backwards, one batch each: the same
CREATE TEMP TABLE ar_fwd AS SELECT * FROM waypoint.state_lines() AS line;
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event', :'ev_ar_add_again');
SELECT pg_temp.apply('event', :'ev_ar_add2_revoke');
SELECT pg_temp.apply('event', :'ev_ar_add2');
SELECT pg_temp.apply('event', :'ev_ar_rm');
SELECT pg_temp.apply('event', :'ev_ar_add');
SELECT count(*) AS differences FROM (
  (SELECT line FROM ar_fwd EXCEPT ALL SELECT * FROM waypoint.state_lines())
  UNION ALL
  (SELECT * FROM waypoint.state_lines() EXCEPT ALL SELECT line FROM ar_fwd)) d;

-- Link compaction by a superseded compact state: the first state (not listing 1312)
-- compacted the old link 1300 -> 1312; the second (listing it) does not bring it back.
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event', :'ev_ck_link');
SELECT target_fid FROM waypoint.links_live WHERE fid = 1300;
SELECT pg_temp.apply('event', :'ev_ck_lo');
SELECT count(*) AS live_links FROM waypoint.links_live WHERE fid = 1300;
SELECT pg_temp.apply('event', :'ev_ck_hi');
SELECT count(*) AS live_links FROM waypoint.links_live WHERE fid = 1300;
SELECT target_fids, encode(hash, 'hex') = :'ck_hi_h' AS is_second FROM waypoint.link_compact_states_live WHERE fid = 1300;
SELECT count(*) AS states_kept FROM waypoint.link_compact_state_history WHERE fid = 1300;
-- the second state revoked: no compact state held, and the first is dead too (superseded
-- without deleted_messages), so it does not come back; the link stays compacted
SELECT pg_temp.apply('event', :'ev_ck_hi_revoke');
SELECT count(*) AS compact_states FROM waypoint.link_compact_states_live WHERE fid = 1300;
SELECT count(*) AS live_links FROM waypoint.links_live WHERE fid = 1300;
-- the same entries in reverse order, one batch each
CREATE TEMP TABLE ck_fwd AS SELECT * FROM waypoint.state_lines() AS line;
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event', :'ev_ck_hi_revoke');
SELECT pg_temp.apply('event', :'ev_ck_hi');
SELECT pg_temp.apply('event', :'ev_ck_lo');
SELECT pg_temp.apply('event', :'ev_ck_link');
SELECT count(*) AS differences FROM (
  (SELECT line FROM ck_fwd EXCEPT ALL SELECT * FROM waypoint.state_lines())
  UNION ALL
  (SELECT * FROM waypoint.state_lines() EXCEPT ALL SELECT line FROM ck_fwd)) d;
SELECT * FROM waypoint.state_lines();
