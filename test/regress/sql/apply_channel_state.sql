-- Channel backfill (docs/apply-semantics.md, "Channel backfill"): a channel_state entry
-- (the node's state reads of one channel, as of a data-shard-1 position) against the
-- slots the stream merged: rows that say the same keep their message, others are derived
-- from the state (no hash), slots the read does not list go, merges after the position
-- stay and win later, merges at or before it change nothing (but lend a derived row their
-- hash when they say the same); an older read changes nothing; refused reads.
CREATE TEMP TABLE names (name text, hash text);
INSERT INTO names VALUES ('bu', :'bu_h'), ('m801', :'bm801_h'), ('m802', :'bm802_h'), ('m802u', :'bm802u_h'),
  ('m803', :'bm803_h'), ('m804', :'bm804_h'), ('bp', :'bp_h'), ('bp2', :'bp2_h'), ('bh', :'bh_h');
CREATE FUNCTION pg_temp.n(h bytea) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce((SELECT name FROM names WHERE hash = encode(h, 'hex')), CASE WHEN h IS NULL THEN '-' ELSE '?' END)
$$;
CREATE TEMP TABLE ids (id bytea, tag text);
INSERT INTO ids VALUES (decode(:'cb_id', 'hex'), 'B'), (decode(:'cq_id', 'hex'), 'Q');
-- Every slot row of the two channels, one line each: the message holding it ('-': derived
-- from a state read), author, and merge_event relative to 50 << 14.
CREATE FUNCTION pg_temp.slots() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT l FROM (
    SELECT i.tag || ' meta ' || coalesce(name, '-') || ' ' || casting_mode || ' ' || membership_mode || ' by '
           || coalesce(author_fid::text, '-') || ' ' || pg_temp.n(message_hash) || ' @' || (merge_event - (50 << 14))
           AS l FROM waypoint.channel_metadata JOIN ids i ON i.id = channel_id
    UNION ALL
    SELECT i.tag || ' member ' || member_fid || ' ' || state || ' (' || coalesce(action, '-') || ' by '
           || coalesce(author_fid::text, '-') || ') ' || pg_temp.n(message_hash) || ' @' || (merge_event - (50 << 14))
      FROM waypoint.channel_members JOIN ids i ON i.id = channel_id
    UNION ALL
    SELECT i.tag || ' pin ' || coalesce(substr(encode(cast_hash, 'hex'), 1, 2), '-') || ' by '
           || coalesce(author_fid::text, '-') || ' ' || pg_temp.n(message_hash) || ' @' || (merge_event - (50 << 14))
      FROM waypoint.channel_pins JOIN ids i ON i.id = channel_id
    UNION ALL
    SELECT i.tag || ' moderation ' || substr(encode(cast_hash, 'hex'), 1, 2) || ' ' || action || ' by '
           || coalesce(author_fid::text, '-') || ' ' || pg_temp.n(message_hash) || ' @' || (merge_event - (50 << 14))
      FROM waypoint.channel_moderations JOIN ids i ON i.id = channel_id) s
  ORDER BY l COLLATE "C"
$$;
CREATE FUNCTION pg_temp.lines() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT replace(l, encode(i.id, 'hex'), i.tag) FROM waypoint.state_lines() l
    JOIN ids i ON l LIKE 'channel%' AND strpos(l, encode(i.id, 'hex')) > 0
$$;
SELECT applied FROM waypoint.apply_payloads(ARRAY['onchain'], ARRAY[:'reg_cb'::bytea]);
-- The stream's merges (802 banned, 803 a member, a pin, a hide).
SELECT bool_and(applied) FROM waypoint.apply_payloads(ARRAY['event', 'event', 'event', 'event', 'event', 'event'],
  ARRAY[:'ev_bu', :'ev_bm801', :'ev_bm802', :'ev_bp', :'ev_bh', :'ev_bm803']::bytea[]);
SELECT * FROM pg_temp.slots();
-- The read, as of (50 << 14) + 100: the update and 801 say the same (kept, with their
-- messages); 802 is removed and 804 a moderator (derived); 803 is not listed (gone); no
-- pin (a derived unpinned row); 0x81 hidden by 800 (kept), 0x82 unhidden by 805 (new).
SELECT applied, reason FROM waypoint.apply_payloads(ARRAY['channel_state/' || ((50 << 14) + 100)], ARRAY[:'cs_b'::bytea]);
SELECT * FROM pg_temp.slots();
SELECT * FROM pg_temp.lines();
-- Merges at or before the position arriving late: 804 made a member changes nothing; 802
-- unbanned (removed, as the read says) lends the derived row its hash and event.
SELECT bool_and(applied) FROM waypoint.apply_payloads(ARRAY['event', 'event'],
  ARRAY[:'ev_bm804_old', :'ev_bm802_unban']::bytea[]);
SELECT * FROM pg_temp.slots() s WHERE s LIKE 'B member 80%';
-- A merge after the position replaces the derived pin.
SELECT applied FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_bp_after'::bytea]);
SELECT * FROM pg_temp.slots() s WHERE s LIKE 'B pin%';
-- The same read again: the pin merged after it stays, the rest is as it was (802 keeps
-- the hash it took); an older read (as of 50 << 14) changes nothing at all.
CREATE TEMP TABLE before AS SELECT * FROM pg_temp.slots();
SELECT applied FROM waypoint.apply_payloads(ARRAY['channel_state/' || ((50 << 14) + 100)], ARRAY[:'cs_b'::bytea]);
SELECT * FROM pg_temp.slots() EXCEPT SELECT * FROM before;
SELECT * FROM before EXCEPT SELECT * FROM pg_temp.slots();
DELETE FROM before;
INSERT INTO before SELECT * FROM pg_temp.slots();
SELECT applied FROM waypoint.apply_payloads(ARRAY['channel_state/' || (50 << 14)], ARRAY[:'cs_b'::bytea]);
SELECT count(*) AS changed FROM (SELECT * FROM pg_temp.slots() EXCEPT SELECT * FROM before) c;
-- A channel never streamed: the defaults and an unpinned pin (no state line: a read cannot
-- tell them from nothing), one member.
SELECT applied FROM waypoint.apply_payloads(ARRAY['channel_state/7'], ARRAY[:'cs_q'::bytea]);
SELECT * FROM pg_temp.slots() s WHERE s LIKE 'Q %';
SELECT * FROM pg_temp.lines() l WHERE l LIKE '%Q%';
-- The read and a stream merge in one batch (the read after the merge): the merge after
-- the position wins.
BEGIN;
SELECT bool_and(applied) FROM waypoint.apply_payloads(ARRAY['event', 'channel_state/' || ((50 << 14) + 100)],
  ARRAY[:'ev_bp_after', :'cs_b']::bytea[]);
SELECT * FROM pg_temp.slots() s WHERE s LIKE 'B pin%';
ROLLBACK;
-- Refused: a 31-byte channel id, a member state NONE, a 19-byte cast hash, bytes that are
-- not a channel_state payload, a read without its position.
SELECT ord, applied, reason FROM waypoint.apply_payloads(
  ARRAY['channel_state/5', 'channel_state/5', 'channel_state/5', 'channel_state/5', 'channel_state/0'],
  ARRAY[:'cs_bad_id', :'cs_bad_state', :'cs_bad_cast', :'cs_garbage', :'cs_q']::bytea[]);
SELECT waypoint.apply_payloads(ARRAY['channel_state/x'], ARRAY[:'cs_q'::bytea]);
-- Leave nothing for the tests after this one.
DELETE FROM waypoint.onchain_events WHERE (transaction_hash, log_index) IN
  (SELECT transaction_hash, log_index FROM waypoint.channel_registry_events WHERE channel_id IN (SELECT id FROM ids));
DELETE FROM waypoint.channel_registry_events WHERE channel_id IN (SELECT id FROM ids);
DELETE FROM waypoint.channel_metadata WHERE channel_id IN (SELECT id FROM ids);
DELETE FROM waypoint.channel_members WHERE channel_id IN (SELECT id FROM ids);
DELETE FROM waypoint.channel_pins WHERE channel_id IN (SELECT id FROM ids);
DELETE FROM waypoint.channel_moderations WHERE channel_id IN (SELECT id FROM ids);
