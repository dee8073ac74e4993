\set QUIET off
-- App keys (docs/apply-semantics.md, "App keys"): one row per (fid, key), the KEY_ADD the
-- node keeps (latest merge wins), removed by KEY_REMOVE (not stored by the node), added
-- again after; in any order, duplicated; what the node refuses leaves no row.
CREATE TEMP TABLE names (name text, hash text);
INSERT INTO names VALUES ('ka1', :'ka1_h'), ('ka2', :'ka2_h'), ('ka3', :'ka3_h'), ('kb1', :'kb1_h'), ('kr1', :'kr1_h'),
  ('cast', :'ak_cast_h'), ('like', :'ak_like_h'), ('follow', :'ak_follow_h'), ('late', :'ak_late_h');
CREATE FUNCTION pg_temp.n(h bytea) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce((SELECT name FROM names WHERE hash = encode(h, 'hex')), CASE WHEN h IS NULL THEN '-' ELSE '?' END)
$$;
CREATE FUNCTION pg_temp.keys() RETURNS TABLE (key text, winner text, removed boolean, remove text, scopes int[],
                                              ttl bigint, nonce bigint, request_fid bigint) LANGUAGE sql AS $$
  SELECT substr(encode(a.key, 'hex'), 1, 2),
         pg_temp.n(a.message_hash),
         a.removed,
         pg_temp.n(a.remove_hash) || CASE WHEN a.removed_at = waypoint.farcaster_time(14020) THEN ' at 14020' ELSE '' END,
         a.scopes, a.ttl, a.nonce, a.request_fid
    FROM waypoint.app_keys a ORDER BY a.key
$$;
-- The app_key lines (fid, key, nonce, scopes, ttl), each named by the KEY_ADD whose row it shows.
CREATE FUNCTION pg_temp.lines() RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(coalesce(pg_temp.n(a.message_hash), '?'), ' ' ORDER BY l), '-')
    FROM waypoint.state_lines() AS s(l)
    LEFT JOIN waypoint.app_keys a
      ON a.fid = split_part(l, E'\t', 2)::bigint AND encode(a.key, 'hex') = split_part(l, E'\t', 3)
     AND a.nonce = split_part(l, E'\t', 4)::bigint AND array_to_string(a.scopes, ',') = split_part(l, E'\t', 5)
     AND a.ttl = split_part(l, E'\t', 6)::bigint
   WHERE l LIKE E'app_key\t%'
$$;
SELECT pg_temp.fresh();
RESET client_min_messages;

-- In the node's order: add, another key, upsert, remove, re-add.
SELECT pg_temp.apply('event', :'ev_ka1', :'ev_kb1');
SELECT * FROM pg_temp.keys();
SELECT pg_temp.apply('event', :'ev_ka2');
SELECT * FROM pg_temp.keys();
SELECT pg_temp.apply('event', :'ev_kr1');
SELECT * FROM pg_temp.keys();
SELECT pg_temp.lines();
SELECT fid, substr(encode(key, 'hex'), 1, 2) AS key, key_type, source, scopes, ttl, removed_at IS NULL AS held, expired, active,
       added_at = waypoint.farcaster_time(14010) AS added_by_ka2, removed_at = waypoint.farcaster_time(14020) AS removed_by_kr1
  FROM waypoint.signers WHERE fid = 1400 ORDER BY key;
SELECT pg_temp.apply('event', :'ev_ka3');
SELECT * FROM pg_temp.keys();
SELECT pg_temp.lines();
SELECT fid, substr(encode(key, 'hex'), 1, 2) AS key, scopes FROM waypoint.app_keys_live ORDER BY key;
-- The node keeps no KEY_REMOVE: the mirror keeps it only as a message.
SELECT type, count(*) FROM waypoint.messages WHERE fid = 1400 GROUP BY type ORDER BY type;
-- Everything again, duplicated, and the KEY_ADDs read back without an event: nothing moves.
SELECT pg_temp.apply('event', :'ev_ka3', :'ev_kr1', :'ev_ka2', :'ev_ka1', :'ev_ka3');
SELECT pg_temp.apply('message', :'msg_ka1', :'msg_ka2', :'msg_kr1');
SELECT * FROM pg_temp.keys();

-- Every order of the four events of key a1, one batch each and all in one batch: the
-- same end (ka3 held), and before the re-add the same removed row (ka2 by kr1).
CREATE TEMP TABLE orders (o int, evs text[]);
INSERT INTO orders VALUES (1, ARRAY['ka1', 'ka2', 'kr1', 'ka3']), (2, ARRAY['ka3', 'kr1', 'ka2', 'ka1']),
  (3, ARRAY['kr1', 'ka1', 'ka3', 'ka2']), (4, ARRAY['ka2', 'ka3', 'ka1', 'kr1']), (5, ARRAY['kr1', 'ka3', 'ka1', 'ka2']);
CREATE TEMP TABLE payloads (name text, p bytea);
INSERT INTO payloads VALUES ('ka1', :'ev_ka1'), ('ka2', :'ev_ka2'), ('kr1', :'ev_kr1'), ('ka3', :'ev_ka3');
CREATE TEMP TABLE results (o int, mode text, state text);
-- (an empty mirror without recreating the extension, which a loop could not afford)
CREATE FUNCTION pg_temp.clear() RETURNS void LANGUAGE sql AS $$
  TRUNCATE waypoint.messages, waypoint.app_keys
$$;
DO $$
DECLARE r record; n text; one boolean;
BEGIN
  FOR r IN SELECT * FROM orders ORDER BY o LOOP
    FOREACH one IN ARRAY ARRAY[true, false] LOOP
      PERFORM pg_temp.clear();
      IF one THEN
        FOREACH n IN ARRAY r.evs LOOP
          PERFORM count(*) FROM pg_temp.apply('event', (SELECT p FROM payloads WHERE name = n));
        END LOOP;
      ELSE
        PERFORM count(*) FROM waypoint.apply_payloads(array_fill('event'::text, ARRAY[4]),
          ARRAY(SELECT p FROM unnest(r.evs) WITH ORDINALITY AS e(n, i) JOIN payloads ON name = e.n ORDER BY i));
      END IF;
      INSERT INTO results SELECT r.o, CASE WHEN one THEN 'one by one' ELSE 'one batch' END,
        string_agg(k.winner || CASE WHEN k.removed THEN ' removed by ' || k.remove ELSE '' END || ' nonce ' || k.nonce, '; ')
        FROM pg_temp.keys() k;
    END LOOP;
  END LOOP;
END $$;
SELECT state, count(*) FROM results GROUP BY state ORDER BY state;
-- Without the re-add: removed, in every order.
DELETE FROM results;
DO $$
DECLARE r record; n text;
BEGIN
  FOR r IN SELECT * FROM orders ORDER BY o LOOP
    PERFORM pg_temp.clear();
    FOREACH n IN ARRAY array_remove(r.evs, 'ka3') LOOP
      PERFORM count(*) FROM pg_temp.apply('event', (SELECT p FROM payloads WHERE name = n));
    END LOOP;
    INSERT INTO results SELECT r.o, 'one by one',
      string_agg(k.winner || CASE WHEN k.removed THEN ' removed by ' || k.remove ELSE '' END, '; ') FROM pg_temp.keys() k;
  END LOOP;
END $$;
SELECT state, count(*) FROM results GROUP BY state ORDER BY state;

-- What the node refuses does not fool the mirror: MERGE_FAILUREs (a stale nonce, a
-- remove of a key not held) change nothing; malformed key messages are rejected.
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.apply('event', :'ev_ka1', :'ev_ka_stale', :'ev_kr_unknown', :'ev_ka_short', :'ev_kr_wrongbody');
SELECT * FROM pg_temp.keys();
SELECT count(*) AS messages FROM waypoint.messages WHERE fid = 1400;
-- A KEY_ADD read back without an event (no node read returns one) cannot revive a removed key.
SELECT pg_temp.apply('event', :'ev_ka2', :'ev_kr1');
SELECT pg_temp.apply('message', :'msg_ka2', :'msg_ka1');
SELECT * FROM pg_temp.keys();
SELECT pg_temp.lines();

-- Verification level full with app keys (docs/verification.md): a message signed by an
-- app key is applied when the key's scopes hold its type; KEY_ADD and KEY_REMOVE are
-- never held for their envelope signer.
CREATE FUNCTION pg_temp.full_apply(VARIADIC p bytea[]) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT CASE WHEN NOT applied THEN 'rejected: ' || reason ELSE coalesce(reason, 'ok') END
  FROM waypoint.apply_payloads(array_fill('full:event'::text, ARRAY[cardinality(p)]), p) ORDER BY ord
$$;
CREATE FUNCTION pg_temp.full_state() RETURNS TABLE (live text, held text) LANGUAGE sql AS $$
  SELECT (SELECT coalesce(string_agg(x, ' ' ORDER BY x), '-') FROM (
            SELECT 'cast:' || text AS x FROM waypoint.casts_live WHERE fid = 1400
            UNION ALL SELECT 'like' FROM waypoint.reactions_live WHERE fid = 1400
            UNION ALL SELECT 'follow' FROM waypoint.links_live WHERE fid = 1400) s),
         (SELECT coalesce(string_agg(pg_temp.n(hash), ' ' ORDER BY pg_temp.n(hash)), '-')
            FROM waypoint.held_messages)
$$;
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
-- Messages before their key: held; the KEY_ADD (signed by a stranger) applies and
-- releases what its scopes cover (cast, like; not the follow).
SELECT pg_temp.full_apply(:'ev_ak_cast', :'ev_ak_like', :'ev_ak_follow');
SELECT * FROM pg_temp.full_state();
SELECT pg_temp.full_apply(:'ev_ka1_stranger');
SELECT * FROM pg_temp.full_state();
-- After the remove, a cast timestamped after it is held (also in the remove's batch);
-- the re-add (scope cast add) releases it.
SELECT pg_temp.full_apply(:'ev_ka2');
SELECT pg_temp.full_apply(:'ev_ak_late', :'ev_kr1');
SELECT * FROM pg_temp.full_state();
SELECT pg_temp.full_apply(:'ev_ka3');
SELECT * FROM pg_temp.full_state();
-- Key and messages in one batch, the key after them: applied in that batch.
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SELECT pg_temp.full_apply(:'ev_ak_cast', :'ev_ak_like', :'ev_ak_follow', :'ev_ka1');
SELECT * FROM pg_temp.full_state();
