-- Every test starts from an empty mirror (pg_temp.fresh, test/regress/setup.sql).
SELECT pg_temp.fresh();
RESET client_min_messages;
-- Thread roots: the top of a cast's chain of parents as far as the node holds them
-- (docs/apply-semantics.md "Thread roots"). t_root is a channel cast; t_a replies to it,
-- t_b to t_a, t_c to t_b. Shown: each cast's root by name (or the hash it stops at).
CREATE FUNCTION pg_temp.roots() RETURNS TABLE (cast_text text, root text, root_url text, open boolean)
LANGUAGE sql AS $$
  SELECT c.text,
         coalesce((SELECT r.text FROM waypoint.casts r WHERE r.fid = c.root_fid AND r.hash = c.root_hash AND NOT r.removed),
                  c.root_fid || '/' || left(encode(c.root_hash, 'hex'), 8)),
         c.root_url, x.root_open
    FROM waypoint.casts_live c JOIN waypoint.casts x ON x.fid = c.fid AND x.hash = c.hash
   WHERE c.fid BETWEEN 1400 AND 1403 ORDER BY c.fid
$$;
-- In order, one batch each: every reply has the top as its root, with the channel URL.
SELECT pg_temp.apply('event', :'ev_t_root');
SELECT pg_temp.apply('event', :'ev_t_a');
SELECT pg_temp.apply('event', :'ev_t_b');
SELECT pg_temp.apply('event', :'ev_t_c');
SELECT * FROM pg_temp.roots();
CREATE TEMP TABLE in_order AS SELECT * FROM waypoint.state_lines() AS line;
-- The whole thread of t_c (the README's query): the top and its three replies.
SELECT t.text FROM waypoint.casts_live x
  JOIN waypoint.casts_live t ON t.root_hash = x.root_hash AND t.root_fid = x.root_fid
 WHERE x.fid = 1403 AND x.hash = decode(:'t_c_h', 'hex') ORDER BY t."timestamp";
-- Replies first, one batch each: each waits open at its missing parent, and closes when
-- the parent comes.
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event', :'ev_t_c');
SELECT * FROM pg_temp.roots();
SELECT pg_temp.apply('event', :'ev_t_b');
SELECT * FROM pg_temp.roots();
SELECT pg_temp.apply('event', :'ev_t_root');
SELECT * FROM pg_temp.roots();
SELECT pg_temp.apply('event', :'ev_t_a');
SELECT * FROM pg_temp.roots();
SELECT count(*) AS differences FROM (
  (SELECT line FROM in_order EXCEPT ALL SELECT * FROM waypoint.state_lines())
  UNION ALL
  (SELECT * FROM waypoint.state_lines() EXCEPT ALL SELECT line FROM in_order)) d;
-- Two parents in one batch, one below the other's thread: t_a waits at t_root and t_c at
-- t_b; then t_root and t_b come together. t_b's root, copied from t_a's row, still stops at
-- t_root, which the same resolver call closes: t_c must end with the closed root too.
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event', :'ev_t_a');
SELECT pg_temp.apply('event', :'ev_t_c');
SELECT * FROM pg_temp.roots();
SELECT pg_temp.apply('event', :'ev_t_root', :'ev_t_b');
SELECT * FROM pg_temp.roots();
SELECT count(*) AS differences FROM (
  (SELECT line FROM in_order EXCEPT ALL SELECT * FROM waypoint.state_lines())
  UNION ALL
  (SELECT * FROM waypoint.state_lines() EXCEPT ALL SELECT line FROM in_order)) d;
-- All four in one batch, replies first: the same.
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event', :'ev_t_c', :'ev_t_b', :'ev_t_a', :'ev_t_root');
SELECT * FROM pg_temp.roots();
-- The middle reply is deleted: the node holds t_b and t_c but not t_a, so their thread
-- now stops at t_a (open, no URL); the top keeps its own root.
SELECT pg_temp.apply('event', :'ev_t_a_rm');
SELECT * FROM pg_temp.roots();
CREATE TEMP TABLE after_remove AS SELECT * FROM waypoint.state_lines() AS line;
-- The add again (a backfill page racing the stream): the remove holds, nothing changes.
SELECT pg_temp.apply('message', :'msg_t_a');
SELECT * FROM pg_temp.roots();
-- t_b is pruned: t_c's thread stops at t_b.
SELECT pg_temp.apply('event', :'ev_t_b_prune');
SELECT * FROM pg_temp.roots();
-- Remove first, on an empty mirror, then everything in reverse: the state after the
-- remove is the same as above.
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event', :'ev_t_a_rm');
SELECT pg_temp.apply('event', :'ev_t_c', :'ev_t_b');
SELECT pg_temp.apply('event', :'ev_t_root', :'ev_t_a');
SELECT * FROM pg_temp.roots();
SELECT count(*) AS differences FROM (
  (SELECT line FROM after_remove EXCEPT ALL SELECT * FROM waypoint.state_lines())
  UNION ALL
  (SELECT * FROM waypoint.state_lines() EXCEPT ALL SELECT line FROM after_remove)) d;
-- Nothing left queued; while a bulk sync has the indexes dropped the resolver waits
-- (returns 0) and the casts stay queued; once the indexes are back it goes on.
SELECT count(*) AS queued FROM waypoint.cast_thread_queue;
SELECT pg_temp.fresh();
SELECT waypoint.begin_bulk_sync() IS NOT NULL AS bulk;
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event', 'event'], ARRAY[:'ev_t_c', :'ev_t_b']::bytea[]);
SELECT waypoint.resolve_thread_roots() AS resolved;
SELECT count(*) AS queued FROM waypoint.cast_thread_queue;
SELECT waypoint.end_bulk_sync() IS NOT NULL AS ended;
DO $$ BEGIN WHILE waypoint.storage_step(0, 1) IS DISTINCT FROM 'live' LOOP END LOOP; END $$;
SELECT storage_mode FROM waypoint.storage_state();
SELECT waypoint.resolve_thread_roots() AS resolved;
SELECT count(*) AS queued FROM waypoint.cast_thread_queue;
SELECT * FROM pg_temp.roots();
-- Which rows the apply queues for the resolver (sql/apply/casts.sql): only those whose
-- first guess may be wrong or that may change other rows. Applied without the resolver.
CREATE FUNCTION pg_temp.queued() RETURNS TABLE (cast_text text) LANGUAGE sql AS $$
  SELECT coalesce(c.text, '(a remove)') FROM waypoint.cast_thread_queue q JOIN waypoint.casts c ON c.fid = q.fid AND c.hash = q.hash
   ORDER BY c.fid
$$;
-- A top cast and a reply to a held parent: right at once, nothing queued.
SELECT pg_temp.fresh();
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_root']::bytea[]);
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_a']::bytea[]);
SELECT * FROM pg_temp.queued();
-- A reply before its parent: queued open; the parent that comes later is queued because
-- a committed row is open at it.
SELECT pg_temp.fresh();
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_a']::bytea[]);
SELECT * FROM pg_temp.queued();
SELECT waypoint.resolve_thread_roots() > 0 AS resolved;
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_root']::bytea[]);
SELECT * FROM pg_temp.queued();
SELECT waypoint.resolve_thread_roots() > 0 AS resolved;
SELECT * FROM pg_temp.roots();
-- A remove: queued (its replies' threads now stop at it).
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_a_rm']::bytea[]);
SELECT * FROM pg_temp.queued();
SELECT waypoint.resolve_thread_roots() > 0 AS resolved;
-- The removed t_a offered again in the same batch as its reply t_b: the add loses to the
-- remove, so t_b must not take its guess through t_a; it stops open at t_a, queued.
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['message', 'event'], ARRAY[:'msg_t_a', :'ev_t_b']::bytea[]);
SELECT * FROM pg_temp.queued();
SELECT waypoint.resolve_thread_roots() > 0 AS resolved;
SELECT * FROM pg_temp.roots();
-- Two batches at once (a second session through dblink): t_root commits unqueued, since
-- no committed row was open at it, while the other batch, not seeing it, writes t_a open at
-- t_root. t_b (open at t_a, queued first) is then resolved in a call of its own, before
-- t_a's: it must not copy t_a's open root (which nothing would revisit) but walk on to
-- t_root. Every root ends closed at the top, as when applied in order.
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT pg_temp.fresh();
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_b']::bytea[]);
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s user=%s',
         split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'),
         current_database(), current_user)) AS connected;
BEGIN;
SELECT count(*) FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_t_root']::bytea[]);
SELECT * FROM dblink('other', format('SELECT count(*) FROM waypoint.apply_payloads(ARRAY[''event''], ARRAY[%L::bytea])',
                                     :'ev_t_a')) AS t(n bigint);
COMMIT;
SELECT dblink_disconnect('other') AS disconnected;
SELECT * FROM pg_temp.queued();
SELECT waypoint.resolve_thread_roots(1) AS taken;
SELECT waypoint.resolve_thread_roots(1) AS taken;
SELECT count(*) AS queued FROM waypoint.cast_thread_queue;
SELECT * FROM pg_temp.roots();
