-- Backfill reconciliation (docs/apply-semantics.md): at fid_done (status ok) every row of
-- the fid that neither the pages nor a live entry offered since the fid's fid_start is
-- marked gone; keyed by the store keys, so add -> remove -> add is never lost.
CREATE FUNCTION pg_temp.j(t text) RETURNS bytea LANGUAGE sql AS $$ SELECT convert_to(t, 'UTF8') $$;
CREATE TEMP TABLE names (name text, h text);
INSERT INTO names VALUES ('k1', :'k1_h'), ('k2', :'k2_h'), ('k3', :'k3_h'), ('rx1', :'rx1_h'),
  ('rx1_rm', :'rx1_rm_h'), ('rx1_again', :'rx1_again_h'), ('ud1', :'ud1_h');
-- Rows of fid 1100: winner, whether it is a remove, and why it is gone (if it is).
CREATE FUNCTION pg_temp.rows() RETURNS TABLE (store text, winner text, removed boolean, gone text)
LANGUAGE sql AS $$
  SELECT x.store, n.name, x.removed, x.dropped_reason FROM (
    SELECT 'cast' AS store, message_hash, removed, dropped_reason FROM waypoint.casts WHERE fid = 1100
    UNION ALL SELECT 'reaction', message_hash, removed, dropped_reason FROM waypoint.reactions WHERE fid = 1100
    UNION ALL SELECT 'user_data', message_hash, removed, dropped_reason FROM waypoint.user_data WHERE fid = 1100) x
  JOIN names n ON n.h = encode(x.message_hash, 'hex') ORDER BY 1, 2
$$;
CREATE FUNCTION pg_temp.names() RETURNS TABLE (name text, fid bigint, reconciled boolean) LANGUAGE sql AS $$
  SELECT name, fid, reconciled_at IS NOT NULL FROM waypoint.username_proofs ORDER BY name
$$;
SELECT pg_temp.fresh();
RESET client_min_messages;

-- The mirror when Waypoint stopped listening: k1, k2, a like, a bio, names dave and erin.
SELECT pg_temp.apply('event', :'ev_k1', :'ev_k2', :'ev_rx1', :'ev_ud1', :'ev_dave', :'ev_erin');
-- Meanwhile the node pruned k2, revoked the bio, removed the like, released erin.
-- Job 7: fid_start, the pages (k1, the like's remove, dave), k3 merged live inside the
-- window, then fid_done. Nothing is reconciled before fid_done.
SELECT pg_temp.apply('fid_start/7/1100', pg_temp.j('{"types":[],"fids_total":1}'));
SELECT pg_temp.apply('message', :'msg_k1', :'msg_rx1_rm');
SELECT pg_temp.apply('fname', :'fname_dave');
SELECT pg_temp.apply('event', :'ev_k3');
SELECT * FROM pg_temp.rows();
SELECT pg_temp.apply('fid_done/7/1100', pg_temp.j('{"status":"ok","messages":3}'));
SELECT * FROM pg_temp.rows();
SELECT * FROM pg_temp.names();
SELECT job_id, fid, stores, fids_total, reconciled_rows FROM waypoint.backfill_fid_starts;
SELECT * FROM waypoint.fnames ORDER BY name;
SELECT count(*) AS held_lines FROM waypoint.state_lines() l WHERE l LIKE 'msg%';
-- The same fid_done delivered again changes nothing.
SELECT pg_temp.apply('fid_done/7/1100', pg_temp.j('{"status":"ok","messages":3}'));
SELECT * FROM pg_temp.rows();
-- add -> remove -> add: the key stays open, a later re-add wins as always.
SELECT pg_temp.apply('event', :'ev_rx1_again');
SELECT count(*) AS likes_live FROM waypoint.reactions_live WHERE fid = 1100;
-- A reconciled winner that a later backfill finds again is held again.
SELECT pg_temp.apply('fid_start/8/1100', pg_temp.j('{"types":["cast"],"fids_total":1}'));
SELECT pg_temp.apply('message', :'msg_k1', :'msg_k2', :'msg_k3');
SELECT pg_temp.apply('fid_done/8/1100', pg_temp.j('{"status":"ok","messages":3}'));
SELECT * FROM pg_temp.rows() WHERE store = 'cast';

-- Racing the live stream: the page was read while the like was removed; the re-add
-- merged afterwards and arrived live inside the window. The like stays.
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.apply('event', :'ev_rx1');
SELECT pg_temp.apply('fid_start/9/1100', pg_temp.j('{"types":["reaction"]}'));
SELECT pg_temp.apply('message', :'msg_rx1_rm');
SELECT pg_temp.apply('event', :'ev_rx1_again');
SELECT pg_temp.apply('fid_done/9/1100', pg_temp.j('{"status":"ok","messages":1}'));
SELECT * FROM pg_temp.rows();
-- The whole window in one batch, with a stale row and an entry before fid_start.
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.apply('event', :'ev_k2', :'ev_ud1');
SELECT ord, applied, reason FROM waypoint.apply_payloads(
  ARRAY['event', 'fid_start/10/1100', 'message', 'message', 'event', 'fid_done/10/1100'],
  ARRAY[:'ev_rx1', pg_temp.j('{"types":[]}'), :'msg_k1', :'msg_rx1_rm', :'ev_rx1_again',
        pg_temp.j('{"status":"ok","messages":2}')]);
SELECT * FROM pg_temp.rows();
-- A failed fid, and a fid_done whose fid_start never arrived, reconcile nothing.
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.apply('event', :'ev_k1', :'ev_ud1');
SELECT pg_temp.apply('fid_start/11/1100', pg_temp.j('{"types":[]}'));
SELECT pg_temp.apply('fid_done/11/1100', pg_temp.j('{"status":"failed","messages":0,"error":"node down"}'));
SELECT pg_temp.apply('fid_done/12/1100', pg_temp.j('{"status":"ok","messages":0}'));
SELECT * FROM pg_temp.rows();
-- Only the stores of the job: a cast-only backfill leaves the bio alone.
SELECT pg_temp.apply('fid_start/13/1100', pg_temp.j('{"types":["cast"]}'));
SELECT pg_temp.apply('fid_done/13/1100', pg_temp.j('{"status":"ok","messages":0}'));
SELECT * FROM pg_temp.rows();
-- Names: only those whose current holder in the database is the fid. erin moved to
-- 1101 before 1100's window closed: 1100's reconciliation leaves it alone.
SELECT pg_temp.apply('event', :'ev_dave', :'ev_erin');
SELECT pg_temp.apply('fid_start/14/1100', pg_temp.j('{"types":["fname"]}'));
SELECT pg_temp.apply('event', :'ev_erin2');
SELECT pg_temp.apply('fid_done/14/1100', pg_temp.j('{"status":"ok","messages":0}'));
SELECT * FROM pg_temp.names();
-- Malformed markers are rejected (the worker dead-letters them).
SELECT pg_temp.apply('fid_start/15/1100', pg_temp.j('not json'));
SELECT pg_temp.apply('fid_start/15/1100', pg_temp.j('{"types":"cast"}'));
SELECT * FROM waypoint.apply_payloads(ARRAY['fid_start/x'], ARRAY[pg_temp.j('{}')]);
