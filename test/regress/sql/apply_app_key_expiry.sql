-- App key expiry (docs/apply-semantics.md, "Expiry"): waypoint.signers derives each app
-- key's sliding-TTL anchor (last_used_at) from the KEY_ADD, the anchor a backfill's key
-- state carries and the newest message of the fid the key signed; expires_at, expired,
-- active follow. Key a5 of fid 1410 (KEY_ADDs sa2, nonce 3, and sa5, nonce 5; TTL 1 day).
SET client_min_messages = warning;
SELECT pg_temp.fresh();
RESET client_min_messages;
SET TIME ZONE 'UTC';
CREATE FUNCTION pg_temp.expiry() RETURNS TABLE (key text, source text, added_at timestamptz, ttl bigint,
                                                last_used_at timestamptz, expires_at timestamptz, expired boolean,
                                                active boolean) LANGUAGE sql AS $$
  SELECT substr(encode(key, 'hex'), 1, 2), source, added_at, ttl, last_used_at, expires_at, expired, active
    FROM waypoint.signers WHERE fid = 1410 ORDER BY key, source
$$;
CREATE FUNCTION pg_temp.stored() RETURNS TABLE (nonce bigint, has_hash boolean, last_used_at timestamptz)
LANGUAGE sql AS $$
  SELECT nonce, message_hash IS NOT NULL, last_used_at FROM waypoint.app_keys WHERE fid = 1410
$$;
CREATE FUNCTION pg_temp.msg(fid bigint, hash text, type int, ts timestamptz) RETURNS void LANGUAGE sql AS $$
  INSERT INTO waypoint.messages (fid, hash, type, "timestamp", network, signer, raw)
  VALUES (fid, decode(hash, 'hex'), type, ts, 1, decode(repeat('a5', 32), 'hex'), '\x00')
$$;

-- The node's state of sa2: its anchor is stored; the key expired a day after it, long ago.
SELECT pg_temp.apply('signer', :'st_a2');
SELECT * FROM pg_temp.stored();
SELECT * FROM pg_temp.expiry();
-- A later read of the same KEY_ADD moves the anchor an hour on; an earlier read applied
-- after it, or one without an anchor, does not move it back.
SELECT pg_temp.apply('signer', :'st_a2_used');
SELECT pg_temp.apply('signer', :'st_a2', :'st_a2_no_anchor');
SELECT * FROM pg_temp.stored();
-- The stream's copy of that KEY_ADD (same nonce) keeps the anchor; the upsert sa5 (a later
-- nonce) restarts it at its own timestamp, as on the node.
SELECT pg_temp.apply('event', :'ev_sa2');
SELECT * FROM pg_temp.stored();
SELECT pg_temp.apply('event', :'ev_sa5');
SELECT * FROM pg_temp.stored();
SELECT * FROM pg_temp.expiry();

-- Messages of the fid signed by the key move it to the newest of them; a message of
-- another fid, and the fid's KEY_ADD/KEY_REMOVE, do not count.
SELECT pg_temp.msg(1410, '01', 1, '2021-01-01 06:00:00+00');
SELECT pg_temp.msg(1410, '02', 3, '2021-01-01 05:00:00+00');
SELECT pg_temp.msg(1411, '03', 1, '2021-01-05 00:00:00+00');
SELECT pg_temp.msg(1410, '04', 16, '2021-01-06 00:00:00+00');
SELECT pg_temp.msg(1410, '05', 17, '2021-01-07 00:00:00+00');
SELECT * FROM pg_temp.expiry();
-- In any order: the messages first, the key's state after (a backfill reads keys last).
TRUNCATE waypoint.app_keys;
SELECT pg_temp.apply('signer', :'st_a2');
SELECT * FROM pg_temp.expiry();

-- Against now(): used within its TTL, the key is active until a day after that use; a
-- ttl of 0 never expires; a removed key is not active, expired or not.
SELECT pg_temp.msg(1410, '06', 1, now() - interval '1 hour');
SELECT substr(encode(key, 'hex'), 1, 2) AS key, expired, active, last_used_at = max_ts AS anchored_at_the_use, expires_at - last_used_at AS ttl_left
  FROM waypoint.signers, (SELECT max("timestamp") AS max_ts FROM waypoint.messages WHERE fid = 1410 AND type = 1) m
 WHERE fid = 1410;
UPDATE waypoint.messages SET "timestamp" = '2021-01-01 06:00:00+00' WHERE hash = '\x06';
UPDATE waypoint.app_keys SET ttl = 0 WHERE fid = 1410;
SELECT substr(encode(key, 'hex'), 1, 2) AS key, ttl, expires_at, expired, active FROM waypoint.signers WHERE fid = 1410;
UPDATE waypoint.app_keys SET removed = true, removed_at = '2021-01-02 00:00:00+00' WHERE fid = 1410;
SELECT substr(encode(key, 'hex'), 1, 2) AS key, removed_at, expired, active FROM waypoint.signers WHERE fid = 1410;
