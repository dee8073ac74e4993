-- Every test starts from an empty mirror (pg_temp.fresh, test/regress/setup.sql).
SELECT pg_temp.fresh();
RESET client_min_messages;
-- The set-based thread-root pass (waypoint.rebuild_thread_roots) against the incremental
-- resolver (waypoint.resolve_thread_roots): from the same state (casts rows with their
-- first guesses, the same queue), both must end with the same root on every row.
-- pg_temp.compare() saves the state, lets the incremental resolver work the queue off,
-- restores the state, runs the set-based pass, and counts the rows whose roots differ.
CREATE FUNCTION pg_temp.compare() RETURNS TABLE (queued bigint, differences bigint, rebuilt bigint)
LANGUAGE plpgsql SET client_min_messages = warning AS $$
BEGIN
  DROP TABLE IF EXISTS pg_temp.state, pg_temp.state_queue, pg_temp.incremental;
  CREATE TEMP TABLE state AS SELECT fid, hash, root_fid, root_hash, root_url, root_open FROM waypoint.casts;
  CREATE TEMP TABLE state_queue AS SELECT * FROM waypoint.cast_thread_queue;
  -- (at most a thousand entries a call: the set-based pass is not due)
  WHILE waypoint.resolve_thread_roots(1000) > 0 LOOP END LOOP;
  CREATE TEMP TABLE incremental AS SELECT fid, hash, root_fid, root_hash, root_url, root_open FROM waypoint.casts;
  UPDATE waypoint.casts c SET root_fid = s.root_fid, root_hash = s.root_hash, root_url = s.root_url,
                              root_open = s.root_open
    FROM state s WHERE s.fid = c.fid AND s.hash = c.hash;
  INSERT INTO waypoint.cast_thread_queue SELECT * FROM state_queue;
  queued := (SELECT count(*) FROM state_queue);
  rebuilt := waypoint.rebuild_thread_roots();
  differences := (SELECT count(*) FROM (
    (SELECT * FROM incremental EXCEPT ALL SELECT fid, hash, root_fid, root_hash, root_url, root_open FROM waypoint.casts)
    UNION ALL
    (SELECT fid, hash, root_fid, root_hash, root_url, root_open FROM waypoint.casts EXCEPT ALL SELECT * FROM incremental)) d);
  RETURN NEXT;
END $$;
-- Each cast's root by name (the text of the cast it names, else the hash it stops at).
CREATE FUNCTION pg_temp.roots(lo bigint, hi bigint) RETURNS TABLE (cast_text text, root text, root_url text, open boolean)
LANGUAGE sql AS $$
  SELECT c.text,
         coalesce((SELECT r.text FROM waypoint.casts r WHERE r.fid = c.root_fid AND r.hash = c.root_hash),
                  c.root_fid || '/' || coalesce(left(encode(c.root_hash, 'hex'), 8), '-')),
         c.root_url, c.root_open
    FROM waypoint.casts c WHERE c.fid BETWEEN lo AND hi ORDER BY c.text
$$;

-- The apply's own rows (test/regress/gen_payloads.cpp: t_root is a channel cast, t_a
-- replies to it, t_b to t_a, t_c to t_b), in the orders of apply_threads, each compared
-- before its queue is resolved. Replies first, one batch each:
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_c']::bytea[]);
SELECT * FROM pg_temp.compare();
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_b']::bytea[]);
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_root']::bytea[]);
SELECT * FROM pg_temp.compare();
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_a']::bytea[]);
SELECT * FROM pg_temp.compare();
SELECT * FROM pg_temp.roots(1400, 1403);
-- Two parents in one batch, one below the other's thread (the case apply_threads fixed).
SELECT pg_temp.fresh();
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event', 'event'], ARRAY[:'ev_t_a', :'ev_t_c']::bytea[]);
SELECT * FROM pg_temp.compare();
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event', 'event'], ARRAY[:'ev_t_root', :'ev_t_b']::bytea[]);
SELECT * FROM pg_temp.compare();
SELECT * FROM pg_temp.roots(1400, 1403);
-- All four in one batch, then the middle one deleted, its add again, t_b pruned.
SELECT pg_temp.fresh();
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event', 'event', 'event', 'event'],
                                             ARRAY[:'ev_t_c', :'ev_t_b', :'ev_t_a', :'ev_t_root']::bytea[]);
SELECT * FROM pg_temp.compare();
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_a_rm']::bytea[]);
SELECT * FROM pg_temp.compare();
SELECT * FROM pg_temp.roots(1400, 1403);
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['message'], ARRAY[:'msg_t_a']::bytea[]);
SELECT * FROM pg_temp.compare();
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_b_prune']::bytea[]);
SELECT * FROM pg_temp.compare();
SELECT * FROM pg_temp.roots(1400, 1403);

-- Rows written here directly (fids 2000-2199), every one queued. The first guess is the
-- apply's (guess = true: the parent's root as its row stands, else open at the parent), or
-- wrong on purpose (garbage on some rows, NULL on others: the incremental resolver then
-- needs the whole queue in one call, which it gets below).
SELECT pg_temp.fresh();
CREATE FUNCTION pg_temp.h(name text) RETURNS bytea LANGUAGE sql AS $$ SELECT sha256(convert_to(name, 'UTF8')) $$;
CREATE FUNCTION pg_temp.add(fid bigint, name text, parent_fid bigint, parent_hash bytea, parent_url text,
                            removed boolean DEFAULT false, pruned boolean DEFAULT false, guess boolean DEFAULT false)
RETURNS int LANGUAGE sql AS $$
  INSERT INTO waypoint.casts (fid, hash, message_hash, "timestamp", removed, pruned_at, text, parent_fid, parent_hash,
                              parent_url, root_fid, root_hash, root_url, root_open)
  SELECT fid, pg_temp.h(name), pg_temp.h(name), '2024-01-01', removed, CASE WHEN pruned THEN timestamptz '2024-02-01' END,
         name, parent_fid, parent_hash, parent_url, g.*
    FROM (SELECT CASE WHEN length(name) % 3 = 0 THEN 7 END, CASE WHEN length(name) % 3 = 0 THEN '\x07'::bytea END,
                 CASE WHEN length(name) % 3 = 0 THEN 'junk' END, length(name) % 2 = 0
           WHERE NOT guess
          UNION ALL
          SELECT fid, pg_temp.h(name), parent_url, false WHERE guess AND parent_hash IS NULL
          UNION ALL
          SELECT coalesce(p.root_fid, $3), coalesce(p.root_hash, $4),
                 CASE WHEN p.fid IS NOT NULL THEN p.root_url END, coalesce(p.root_open, true)
            FROM (SELECT 1) AS one
            LEFT JOIN waypoint.casts p ON p.fid = $3 AND p.hash = $4 AND NOT p.removed AND p.pruned_at IS NULL
           WHERE guess AND $4 IS NOT NULL) AS g;
  INSERT INTO waypoint.cast_thread_queue VALUES (fid, pg_temp.h(name));
  SELECT 1;
$$;
-- A deep chain: d000 (a channel cast) <- d001 <- ... <- d299 over 7 fids; d150 is deleted
-- and d250 pruned, so d151..d250 stop at d150 and d251..d299 at d250.
SELECT pg_temp.add(2000, 'd000', NULL, NULL, 'chain://deep');
SELECT sum(pg_temp.add(2000 + i % 7, 'd' || lpad(i::text, 3, '0'), 2000 + (i - 1) % 7,
                       pg_temp.h('d' || lpad((i - 1)::text, 3, '0')), NULL, i = 150, i = 250))
  FROM generate_series(1, 299) AS i;
-- A thread below a parent never seen (reply before parent), and below garbage parents:
-- an empty hash, a 3-byte hash, a parent hash without a fid, a hash held by another fid.
SELECT pg_temp.add(2010, 'm0', 2011, pg_temp.h('missing'), NULL);
SELECT pg_temp.add(2012, 'm1', 2010, pg_temp.h('m0'), 'chain://ignored');
SELECT pg_temp.add(2012, 'm2', 2012, pg_temp.h('m1'), NULL);
SELECT pg_temp.add(2013, 'g-empty', 2000, '\x'::bytea, NULL);
SELECT pg_temp.add(2013, 'g-short', 2000, '\x0a0b0c'::bytea, NULL);
SELECT pg_temp.add(2013, 'g-nofid', NULL, pg_temp.h('d000'), NULL);
SELECT pg_temp.add(2013, 'g-otherfid', 2001, pg_temp.h('d000'), NULL);
SELECT pg_temp.add(2014, 'g-reply', 2013, pg_temp.h('g-short'), NULL);
-- A self-parent (cannot happen: a hash covers its parent's hash) and a reply to it: the
-- walk is bounded; both resolvers leave these rows as they are.
SELECT pg_temp.add(2020, 'self', 2020, pg_temp.h('self'), NULL);
SELECT pg_temp.add(2021, 'self-reply', 2020, pg_temp.h('self'), NULL);
-- A removed top with a reply, a removed reply below a held top.
SELECT pg_temp.add(2030, 'x-top', NULL, NULL, 'chain://x', true);
SELECT pg_temp.add(2031, 'x-reply', 2030, pg_temp.h('x-top'), NULL);
SELECT pg_temp.add(2032, 'y-top', NULL, NULL, NULL);
SELECT pg_temp.add(2033, 'y-reply-removed', 2032, pg_temp.h('y-top'), NULL, true);
SELECT pg_temp.add(2034, 'y-reply-reply', 2033, pg_temp.h('y-reply-removed'), NULL);
SELECT * FROM pg_temp.compare();
SELECT * FROM pg_temp.roots(2000, 2000) WHERE cast_text IN ('d000', 'd014', 'd147');
SELECT * FROM pg_temp.roots(2000, 2006) WHERE cast_text IN ('d149', 'd150', 'd151', 'd250', 'd251', 'd299');
SELECT * FROM pg_temp.roots(2010, 2099);
-- Only what differed was written: a second pass writes nothing (no row changes).
CREATE TEMP TABLE before AS SELECT ctid::text AS t FROM waypoint.casts;
INSERT INTO waypoint.cast_thread_queue SELECT fid, hash FROM waypoint.casts LIMIT 1;
SELECT waypoint.rebuild_thread_roots() AS rebuilt;
SELECT count(*) AS rows_moved FROM (SELECT ctid::text FROM waypoint.casts EXCEPT SELECT t FROM before) x;
-- A parent cycle of two (impossible, like the self-parent): the pass ends, the rows keep their roots.
SELECT pg_temp.add(2040, 'cycle-a', 2041, pg_temp.h('cycle-b'), NULL);
SELECT pg_temp.add(2041, 'cycle-b', 2040, pg_temp.h('cycle-a'), NULL);
SELECT waypoint.rebuild_thread_roots() AS rebuilt;
SELECT * FROM pg_temp.roots(2040, 2041);

-- A random forest: 4000 casts over 50 fids, each replying to an earlier one (or to none, or
-- to one never seen), 5% deleted, 3% pruned, arriving in random order with the apply's
-- guesses; the incremental resolver takes them 1000 a call.
SELECT pg_temp.fresh();
SELECT setseed(0.25);
CREATE TEMP TABLE forest AS
  SELECT i, 2100 + (random() * 49)::int AS fid,
         CASE WHEN i = 0 OR random() < 0.2 THEN NULL WHEN random() < 0.05 THEN -1
              ELSE (random() * (i - 1))::int END AS parent,
         random() < 0.05 AS removed, random() < 0.03 AS pruned
    FROM generate_series(0, 3999) AS i;
SELECT sum(pg_temp.add(f.fid, 'f' || f.i, coalesce(p.fid, 2199),
                       CASE WHEN f.parent = -1 THEN pg_temp.h('never') WHEN p.i IS NOT NULL THEN pg_temp.h('f' || p.i) END,
                       CASE WHEN f.parent IS NULL THEN 'chain://' || (f.i % 5) END, f.removed, f.pruned, true))
  FROM (SELECT * FROM forest ORDER BY random()) f LEFT JOIN forest p ON p.i = f.parent;
SELECT * FROM pg_temp.compare();
SELECT count(*) FILTER (WHERE root_open) AS open, count(*) FILTER (WHERE root_url IS NOT NULL) AS with_url,
       count(DISTINCT root_hash) AS threads
  FROM waypoint.casts;

-- After a bulk sync: the first storage step in 'building' resolves the queue set-based,
-- before any casts index is built (waypoint.thread_roots_rebuild_min lowered here: the
-- default keeps a small queue incremental), then the indexes are built.
SELECT pg_temp.fresh();
SET waypoint.thread_roots_rebuild_min = 1;
SELECT waypoint.begin_bulk_sync() IS NOT NULL AS bulk;
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event', 'event', 'event'], ARRAY[:'ev_t_c', :'ev_t_b', :'ev_t_root']::bytea[]);
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_a']::bytea[]);
SELECT count(*) AS queued FROM waypoint.cast_thread_queue;
ANALYZE waypoint.casts;  -- (the due check estimates the table's rows)
SELECT waypoint.end_bulk_sync() IS NOT NULL AS ended;
SELECT waypoint.storage_step(0, 1) AS step;
SELECT count(*) AS queued FROM waypoint.cast_thread_queue;
SELECT count(*) AS casts_indexes_missing FROM waypoint.missing_index_partitions() WHERE table_name = 'casts';
DO $$ BEGIN WHILE waypoint.storage_step(0, 1) IS DISTINCT FROM 'live' LOOP END LOOP; END $$;
SELECT storage_mode FROM waypoint.storage_state();
SELECT * FROM pg_temp.roots(1400, 1403);
-- In 'live', a queue that is a large share of the table goes to the set-based pass too.
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_a_rm']::bytea[]);
SELECT waypoint.thread_roots_rebuild_due() AS due, waypoint.resolve_thread_roots() AS resolved;
SELECT count(*) AS queued FROM waypoint.cast_thread_queue;
SELECT * FROM pg_temp.roots(1400, 1403);
RESET waypoint.thread_roots_rebuild_min;
SELECT waypoint.thread_roots_rebuild_due() AS due;

-- Under a backlog the workers call rebuild_thread_roots_if_due() between batches instead:
-- nothing while the queue is not due (the casts keep their first guesses: the replies
-- stay open at a after it came), the set-based pass once it is, and nothing outside
-- storage mode 'live'.
SELECT pg_temp.fresh();
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event', 'event', 'event'], ARRAY[:'ev_t_c', :'ev_t_b', :'ev_t_root']::bytea[]);
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_a']::bytea[]);
ANALYZE waypoint.casts;
SELECT waypoint.rebuild_thread_roots_if_due() AS taken;
SELECT count(*) AS queued FROM waypoint.cast_thread_queue;
SELECT * FROM pg_temp.roots(1400, 1403);
SET waypoint.thread_roots_rebuild_min = 1;
SELECT waypoint.rebuild_thread_roots_if_due() AS taken;
SELECT count(*) AS queued FROM waypoint.cast_thread_queue;
SELECT * FROM pg_temp.roots(1400, 1403);
SELECT waypoint.begin_bulk_sync() IS NOT NULL AS bulk;
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_a_rm']::bytea[]);
SELECT waypoint.rebuild_thread_roots_if_due() AS taken_in_bulk;
SELECT count(*) AS queued FROM waypoint.cast_thread_queue;
SELECT waypoint.end_bulk_sync() IS NOT NULL AS ended;
DO $$ BEGIN WHILE waypoint.storage_step(0, 1) IS DISTINCT FROM 'live' LOOP END LOOP; END $$;
SELECT count(*) AS queued FROM waypoint.cast_thread_queue;
SELECT * FROM pg_temp.roots(1400, 1403);
RESET waypoint.thread_roots_rebuild_min;
