\set QUIET off
-- App keys from a backfill (docs/apply-semantics.md, "App keys from a backfill"): entries
-- of kind signer, the node's state of a gasless key (GetSignersByFid) without its KEY_ADD
-- message. Ordered against the KEY_ADD messages by the fid's user nonce; a completed
-- backfill of the fid removes the keys it did not list ('reconciled'); the stream still
-- converges in any order.
CREATE TEMP TABLE names (name text, hash text);
INSERT INTO names VALUES ('sa1', :'sa1_h'), ('sa2', :'sa2_h'), ('sr1', :'sr1_h'), ('sa5', :'sa5_h'), ('sb1', :'sb1_h'),
  ('cast', :'sk_cast_h'), ('follow', :'sk_follow_h');
CREATE FUNCTION pg_temp.n(h bytea) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce((SELECT name FROM names WHERE hash = encode(h, 'hex')), CASE WHEN h IS NULL THEN '-' ELSE '?' END)
$$;
CREATE FUNCTION pg_temp.j(t text) RETURNS bytea LANGUAGE sql AS $$ SELECT convert_to(t, 'UTF8') $$;
CREATE FUNCTION pg_temp.keys() RETURNS TABLE (key text, winner text, removed boolean, remove text, why text,
                                              scopes int[], ttl bigint, nonce bigint, request_fid bigint,
                                              deadline bigint, added_at timestamptz) LANGUAGE sql AS $$
  SELECT substr(encode(a.key, 'hex'), 1, 2), pg_temp.n(a.message_hash), a.removed, pg_temp.n(a.remove_hash),
         a.dropped_reason, a.scopes, a.ttl, a.nonce, a.request_fid, a.deadline, a."timestamp"
    FROM waypoint.app_keys a WHERE a.fid = 1410 ORDER BY a.key
$$;
CREATE FUNCTION pg_temp.lines() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT substr(l, 1, 13) || '..' || split_part(l, E'\t', 4) || E'\t' || split_part(l, E'\t', 5) || E'\t'
         || split_part(l, E'\t', 6)
    FROM waypoint.state_lines() l WHERE l LIKE E'app_key\t1410\t%' ORDER BY l
$$;
SELECT pg_temp.fresh();
RESET client_min_messages;
SET TIME ZONE 'UTC';

-- A backfill alone: the keys the node lists, without hash or deadline; waypoint.signers,
-- app_keys_live and the state lines show them.
SELECT pg_temp.apply('fid_start/1/1410', pg_temp.j('{"types":["app_key"],"fids_total":1}'));
SELECT pg_temp.apply('signer', :'st_a2', :'st_b1');
SELECT pg_temp.apply('fid_done/1/1410', pg_temp.j('{"status":"ok","messages":2}'));
SELECT * FROM pg_temp.keys();
SELECT * FROM pg_temp.lines();
SELECT substr(encode(key, 'hex'), 1, 2) AS key, hash IS NULL AS no_hash, origin, nonce FROM waypoint.app_keys_live
 WHERE fid = 1410 ORDER BY key;
SELECT substr(encode(key, 'hex'), 1, 2) AS key, source, scopes, expired, active, added_at FROM waypoint.signers
 WHERE fid = 1410 ORDER BY key;
-- The same pages again, and a state of an older KEY_ADD (lower nonce): nothing moves.
SELECT pg_temp.apply('signer', :'st_a2', :'st_b1', :'st_a1');
SELECT * FROM pg_temp.keys();

-- The stream brings the KEY_ADDs afterwards: the older one (sa1) changes nothing, the one
-- the state shows (sa2, same nonce) gives the row its hash; then its KEY_REMOVE removes it.
SELECT pg_temp.apply('event', :'ev_sa1', :'ev_sa2');
SELECT * FROM pg_temp.keys();
SELECT pg_temp.apply('event', :'ev_sr1');
SELECT * FROM pg_temp.keys();
-- A later backfill that read the key before that remove (same nonce): it stays removed.
SELECT pg_temp.apply('signer', :'st_a2');
SELECT * FROM pg_temp.keys();
-- One that lists a later KEY_ADD (sa5, never streamed): alive again, as the node holds it.
SELECT pg_temp.apply('signer', :'st_a5');
SELECT * FROM pg_temp.keys();
SELECT pg_temp.apply('event', :'ev_sa5');
SELECT * FROM pg_temp.keys();

-- Reconciliation: a key the mirror learned from the stream that a completed backfill does
-- not list is removed ('reconciled'); listed again later, it is alive again. A fid_start
-- of an older sidecar ("every store": no app_key named) reconciles no app keys; a failed
-- fid reconciles nothing.
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.apply('event', :'ev_sa1', :'ev_sb1');
SELECT pg_temp.apply('fid_start/2/1410', pg_temp.j('{"types":[],"fids_total":1}'));
SELECT pg_temp.apply('fid_done/2/1410', pg_temp.j('{"status":"ok","messages":0}'));
SELECT pg_temp.apply('fid_start/3/1410', pg_temp.j('{"types":["cast","app_key"],"fids_total":1}'));
SELECT pg_temp.apply('signer', :'st_b1');
SELECT pg_temp.apply('fid_done/3/1410', pg_temp.j('{"status":"failed","messages":1,"error":"x"}'));
SELECT * FROM pg_temp.keys();
SELECT pg_temp.apply('fid_start/4/1410', pg_temp.j('{"types":["cast","app_key"],"fids_total":1}'));
SELECT pg_temp.apply('signer', :'st_b1');
SELECT pg_temp.apply('fid_done/4/1410', pg_temp.j('{"status":"ok","messages":1}'));
SELECT * FROM pg_temp.keys();
SELECT reconciled_rows FROM waypoint.backfill_fid_starts WHERE job_id = 4;
SELECT substr(encode(key, 'hex'), 1, 2) AS key, expired, active, removed_at IS NOT NULL AS has_removed_at FROM waypoint.signers
 WHERE fid = 1410 ORDER BY key;
SELECT * FROM pg_temp.lines();
-- At level full a key removed at an unknown time (reconciled) grants nothing: its cast waits.
SELECT pg_temp.apply('full:event', :'ev_sk_cast');
SELECT pg_temp.n(hash) AS held FROM waypoint.held_messages WHERE fid = 1410;
-- Listed again by a later backfill (the same KEY_ADD): alive again, still with its hash,
-- and the cast is applied.
SELECT pg_temp.apply('signer', :'st_a1');
SELECT * FROM pg_temp.keys();
SELECT pg_temp.n(hash) AS held FROM waypoint.held_messages WHERE fid = 1410;
-- A live KEY_ADD after the fid_start, before the pages: not reconciled.
SELECT pg_temp.apply('fid_start/5/1410', pg_temp.j('{"types":["app_key"],"fids_total":1}'));
SELECT pg_temp.apply('event', :'ev_sa2');
SELECT pg_temp.apply('signer', :'st_b1');
SELECT pg_temp.apply('fid_done/5/1410', pg_temp.j('{"status":"ok","messages":1}'));
SELECT * FROM pg_temp.keys();

-- Every order of the events of key a5 and a backfill's state of sa2 (read between the
-- upsert and the remove), one batch each and all in one batch: the same end, removed
-- (sa2 by sr1); with the state of sa5 as well, sa5 held.
CREATE TEMP TABLE orders (o int, evs text[]);
INSERT INTO orders VALUES (1, ARRAY['sa1', 'sa2', 'st_a2', 'sr1']), (2, ARRAY['st_a2', 'sa1', 'sa2', 'sr1']),
  (3, ARRAY['sr1', 'st_a2', 'sa2', 'sa1']), (4, ARRAY['st_a2', 'sr1', 'sa1', 'sa2']), (5, ARRAY['sa2', 'st_a2', 'sr1', 'sa1']),
  (6, ARRAY['sa1', 'st_a2', 'sr1', 'sa2']);
CREATE TEMP TABLE payloads (name text, kind text, p bytea);
INSERT INTO payloads VALUES ('sa1', 'event', :'ev_sa1'), ('sa2', 'event', :'ev_sa2'), ('sr1', 'event', :'ev_sr1'),
  ('st_a2', 'signer', :'st_a2'), ('st_a5', 'signer', :'st_a5'), ('sa5', 'event', :'ev_sa5');
CREATE TEMP TABLE results (o int, mode text, state text);
CREATE FUNCTION pg_temp.clear() RETURNS void LANGUAGE sql AS $$
  TRUNCATE waypoint.messages, waypoint.app_keys
$$;
DO $$
DECLARE r record; n text; one boolean; evs text[]; extra text[];
BEGIN
  FOREACH extra SLICE 1 IN ARRAY ARRAY[ARRAY['none', 'none'], ARRAY['st_a5', 'sa5']] LOOP
    FOR r IN SELECT * FROM orders ORDER BY o LOOP
      evs := r.evs;
      IF extra[1] <> 'none' THEN
        evs := CASE WHEN r.o % 2 = 0 THEN extra || evs ELSE evs || extra END;
      END IF;
      FOREACH one IN ARRAY ARRAY[true, false] LOOP
        PERFORM pg_temp.clear();
        IF one THEN
          FOREACH n IN ARRAY evs LOOP
            PERFORM count(*) FROM pg_temp.apply((SELECT kind FROM payloads WHERE name = n),
                                                (SELECT p FROM payloads WHERE name = n));
          END LOOP;
        ELSE
          PERFORM count(*) FROM waypoint.apply_payloads(
            ARRAY(SELECT kind FROM unnest(evs) WITH ORDINALITY AS e(n, i) JOIN payloads ON name = e.n ORDER BY i),
            ARRAY(SELECT p FROM unnest(evs) WITH ORDINALITY AS e(n, i) JOIN payloads ON name = e.n ORDER BY i));
        END IF;
        INSERT INTO results SELECT r.o, CASE WHEN one THEN 'one by one' ELSE 'one batch' END,
          string_agg(k.winner || CASE WHEN k.removed THEN ' removed by ' || k.remove ELSE '' END || ' nonce ' || k.nonce,
                     '; ')
          FROM pg_temp.keys() k;
      END LOOP;
    END LOOP;
  END LOOP;
END $$;
SELECT state, count(*) FROM results GROUP BY state ORDER BY state;

-- Level full: messages signed by key a5 wait until a backfill's state of the key names
-- it, then those its scopes allow are applied (the cast; the follow waits for sa5).
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.apply('full:event', :'ev_sk_cast', :'ev_sk_follow');
SELECT pg_temp.n(hash) AS held FROM waypoint.held_messages WHERE fid = 1410 ORDER BY 1;
SELECT pg_temp.apply('signer', :'st_a2');
SELECT pg_temp.n(hash) AS held FROM waypoint.held_messages WHERE fid = 1410 ORDER BY 1;
SELECT pg_temp.n(hash) AS applied FROM waypoint.messages WHERE fid = 1410 AND type NOT IN (16, 17) ORDER BY 1;
SELECT pg_temp.apply('signer', :'st_a5');
SELECT pg_temp.n(hash) AS held FROM waypoint.held_messages WHERE fid = 1410 ORDER BY 1;
SELECT pg_temp.n(hash) AS applied FROM waypoint.messages WHERE fid = 1410 AND type NOT IN (16, 17) ORDER BY 1;

-- What is not a gasless key: an on-chain Signer is accepted and writes nothing (the key
-- registry's events carry it); malformed Signers are rejected.
SELECT pg_temp.apply('signer', :'st_onchain');
SELECT count(*) FROM waypoint.app_keys WHERE fid = 1410 AND key = decode(repeat('b5', 32), 'hex');
SELECT pg_temp.apply('signer', :'st_short_key', :'st_no_nonce', :'st_no_added_at', :'st_fid0', :'st_garbage');
