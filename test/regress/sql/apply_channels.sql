-- Channels (docs/apply-semantics.md, "Channels"): the registry folded in chain order, the
-- owner fid by verification, and per slot the newest merge of data shard 1, whatever the
-- timestamps and the arrival order; copies from shard 2 ignored; bodies the node refuses
-- refused with their reason.
CREATE TEMP TABLE names (name text, hash text);
INSERT INTO names VALUES ('u1', :'cu1_h'), ('u2', :'cu2_h'), ('m1', :'cm1_h'), ('m2', :'cm2_h'), ('m3', :'cm3_h'),
  ('m4', :'cm4_h'), ('m5', :'cm5_h'), ('m6', :'cm6_h'), ('p1', :'cp1_h'), ('p2', :'cp2_h'), ('h1', :'ch1_h'),
  ('h2', :'ch2_h'), ('h3', :'ch3_h');
CREATE FUNCTION pg_temp.n(h bytea) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce((SELECT name FROM names WHERE hash = encode(h, 'hex')), CASE WHEN h IS NULL THEN '-' ELSE '?' END)
$$;
-- Every slot row, one line.
CREATE FUNCTION pg_temp.slots() RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(l, ' | ' ORDER BY l), '-') FROM (
    SELECT 'meta ' || pg_temp.n(message_hash) || ' ' || coalesce(name, '-') || ' ' || casting_mode || ' '
           || membership_mode || ' by ' || author_fid AS l FROM waypoint.channel_metadata
    UNION ALL
    SELECT 'member ' || member_fid || ' ' || state || ' (' || action || ' by ' || author_fid || ') '
           || pg_temp.n(message_hash) FROM waypoint.channel_members
    UNION ALL
    SELECT 'pin ' || coalesce(substr(encode(cast_hash, 'hex'), 1, 2), '-') || ' by ' || author_fid || ' '
           || pg_temp.n(message_hash) FROM waypoint.channel_pins
    UNION ALL
    SELECT 'moderation ' || substr(encode(cast_hash, 'hex'), 1, 2) || ' ' || action || ' hidden=' || hidden
           || ' by ' || author_fid || ' ' || pg_temp.n(message_hash) FROM waypoint.channel_moderations) s
$$;
CREATE TEMP TABLE ch (id bytea);
INSERT INTO ch VALUES (decode(:'ch_id', 'hex'));
CREATE FUNCTION pg_temp.channel() RETURNS TABLE (key text, owner text, owner_fid bigint, parked boolean,
                                                 expiry bigint, registered_at bigint) LANGUAGE sql AS $$
  SELECT channel_key, encode(owner_address, 'hex'), owner_fid, parked, extract(epoch FROM expiry)::bigint,
         extract(epoch FROM registered_at)::bigint
    FROM waypoint.channels WHERE channel_id = (SELECT id FROM ch)
$$;
SELECT pg_temp.fresh();
RESET client_min_messages;

-- The registry: a mint (TRANSFER, then its REGISTER in the same transaction), a renew, a
-- transfer; skipped: a REGISTER whose label is not its key's hash, one with a 19-byte
-- owner, a TRANSFER of a label never registered. Every event is a row.
SELECT pg_temp.apply('onchain', :'reg_mint', :'reg_register', :'reg_renew', :'reg_transfer', :'reg_bad_label',
                     :'reg_bad_owner', :'reg_unknown');
SELECT * FROM pg_temp.channel();
SELECT count(*) AS registry_events, count(DISTINCT channel_id) AS labels FROM waypoint.channel_registry_events;
SELECT count(*) AS channels FROM waypoint.channels;
-- Before the transfer (only the mint and the renew known yet), in any order: the mint's
-- owner, the renewed expiry.
TRUNCATE waypoint.channel_registry_events;
SELECT pg_temp.apply('onchain', :'reg_renew', :'reg_register', :'reg_mint');
SELECT * FROM pg_temp.channel();
-- All of them in reverse order, twice: the same channel as in chain order.
TRUNCATE waypoint.channel_registry_events;
SELECT pg_temp.apply('onchain', :'reg_unknown', :'reg_bad_owner', :'reg_bad_label', :'reg_transfer', :'reg_renew',
                     :'reg_register', :'reg_mint', :'reg_transfer', :'reg_mint');
SELECT * FROM pg_temp.channel();

-- The owner fid: the fid whose live Ethereum verification of the owner address has the
-- greatest (timestamp, hash). 700 verified the old owner address; 701, then 702 (later)
-- verify the new one; 702's removal gives it back to 701.
SELECT pg_temp.apply('event', :'ev_cv700');
SELECT owner_fid, parked FROM waypoint.channels;
SELECT pg_temp.apply('event', :'ev_cv701');
SELECT owner_fid, parked FROM waypoint.channels;
SELECT pg_temp.apply('event', :'ev_cv702');
SELECT owner_fid, parked FROM waypoint.channels;
SELECT pg_temp.apply('event', :'ev_cv702_rm');
SELECT owner_fid, parked FROM waypoint.channels;

-- The slots, in the node's merge order: u2 beats u1 although older by timestamp, and u1
-- submitted again takes the slot back; members invited, promoted, banned, unbanned, a
-- self-add under OPEN and a leave; a pin and an unpin by a moderator; a hide undone by a
-- moderator, another hide.
SELECT pg_temp.apply('event', :'ev_cu1');
SELECT pg_temp.slots();
SELECT pg_temp.apply('event', :'ev_cu2');
SELECT pg_temp.slots();
SELECT pg_temp.apply('event', :'ev_cu1_again', :'ev_cm1', :'ev_cm2', :'ev_cm3', :'ev_cm4', :'ev_cm5', :'ev_cm6',
                     :'ev_cp1', :'ev_cp2', :'ev_ch1', :'ev_ch2', :'ev_ch3');
SELECT pg_temp.slots();
SELECT name, casting_mode, membership_mode, metadata_by FROM waypoint.channels;
SELECT fid, state, author_fid FROM waypoint.channel_members_live ORDER BY fid;
SELECT count(*) AS pins FROM waypoint.channel_pins_live;
SELECT substr(encode(cast_hash, 'hex'), 1, 2) AS hidden_cast, author_fid FROM waypoint.channel_hidden_casts;
SELECT line FROM waypoint.state_lines() AS line WHERE line LIKE 'channel%' ORDER BY 1;

-- Copies from data shard 2 (ids of that shard, here higher than shard 1's): ignored, not
-- even as tombstones; so is a channel message in a backfill page.
CREATE TEMP TABLE before AS SELECT pg_temp.slots() AS s,
  (SELECT string_agg(encode(hash, 'hex') || coalesce(merge_event, -1) || coalesce(death_event, -1), ',' ORDER BY hash)
     FROM waypoint.messages WHERE type BETWEEN 18 AND 21) AS m;
SELECT pg_temp.apply('event@2', :'ev2_cu2', :'ev2_cm1', :'ev2_cp1', :'ev2_ch1');
SELECT pg_temp.apply('message', :'msg_cu2');
SELECT pg_temp.slots() = s AS slots_unchanged,
       (SELECT string_agg(encode(hash, 'hex') || coalesce(merge_event, -1) || coalesce(death_event, -1), ','
                          ORDER BY hash) FROM waypoint.messages WHERE type BETWEEN 18 AND 21) = m AS messages_unchanged
  FROM before;
SELECT pg_temp.fresh();
SELECT pg_temp.apply('event@2', :'ev2_cu2', :'ev2_cm1', :'ev2_cp1', :'ev2_ch1');
SELECT pg_temp.apply('message', :'msg_cu2');
SELECT pg_temp.slots(), (SELECT count(*) FROM waypoint.messages) AS messages;

-- Any arrival order, one event per batch and all in one batch, duplicated, with the shard
-- 2 copies among them: the same slots as in the node's order.
CREATE TEMP TABLE payloads (i int, p bytea, kind text);
INSERT INTO payloads VALUES (1, :'ev_cu1', 'event'), (2, :'ev_cu2', 'event'), (3, :'ev_cu1_again', 'event'),
  (4, :'ev_cm1', 'event'), (5, :'ev_cm2', 'event'), (6, :'ev_cm3', 'event'), (7, :'ev_cm4', 'event'),
  (8, :'ev_cm5', 'event'), (9, :'ev_cm6', 'event'), (10, :'ev_cp1', 'event'), (11, :'ev_cp2', 'event'),
  (12, :'ev_ch1', 'event'), (13, :'ev_ch2', 'event'), (14, :'ev_ch3', 'event'), (15, :'ev2_cu2', 'event@2'),
  (16, :'ev2_cm1', 'event@2'), (17, :'ev2_cp1', 'event@2'), (18, :'ev2_ch1', 'event@2');
CREATE TEMP TABLE orders (o int, seq int[]);
INSERT INTO orders VALUES (1, ARRAY[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18]),
  (2, ARRAY[18,17,16,15,14,13,12,11,10,9,8,7,6,5,4,3,2,1]),
  (3, ARRAY[3,15,1,2,9,8,7,6,5,4,11,16,10,13,17,12,14,18,3,2]),
  (4, ARRAY[15,16,17,18,2,14,6,11,1,9,4,13,7,10,3,12,5,8,8,1]),
  (5, ARRAY[9,2,12,5,1,16,14,7,3,10,18,6,11,4,15,13,8,17,5,6,7]);
CREATE TEMP TABLE results (o int, mode text, state text);
CREATE FUNCTION pg_temp.clear() RETURNS void LANGUAGE sql AS $$
  TRUNCATE waypoint.messages, waypoint.channel_metadata, waypoint.channel_members, waypoint.channel_pins,
           waypoint.channel_moderations
$$;
DO $$
DECLARE
  r record;
  j int;
BEGIN
  FOR r IN SELECT * FROM orders ORDER BY o LOOP
    PERFORM pg_temp.clear();
    FOREACH j IN ARRAY r.seq LOOP
      PERFORM waypoint.apply_payloads(ARRAY[(SELECT kind FROM payloads WHERE payloads.i = j)],
                                      ARRAY[(SELECT p FROM payloads WHERE payloads.i = j)]);
    END LOOP;
    INSERT INTO results VALUES (r.o, 'one by one', pg_temp.slots());
    PERFORM pg_temp.clear();
    PERFORM waypoint.apply_payloads(ARRAY(SELECT kind FROM unnest(r.seq) WITH ORDINALITY AS s(i, k)
                                            JOIN payloads USING (i) ORDER BY k),
                                    ARRAY(SELECT p FROM unnest(r.seq) WITH ORDINALITY AS s(i, k)
                                            JOIN payloads USING (i) ORDER BY k));
    INSERT INTO results VALUES (r.o, 'one batch', pg_temp.slots());
  END LOOP;
END $$;
SELECT count(DISTINCT state) AS distinct_ends, count(*) AS runs FROM results;
SELECT state FROM results WHERE o = 1 AND mode = 'one by one';

-- What the node refuses whatever the channel's state: rejected with the reason, no row.
SELECT pg_temp.apply('event', :'ev_bad_id', :'ev_bad_pin', :'ev_bad_mod_hash', :'ev_bad_mod_none', :'ev_bad_fid0',
                     :'ev_bad_fid_big', :'ev_bad_action', :'ev_bad_action9', :'ev_bad_mode', :'ev_bad_body');
-- The owner-change hint (type 12) is accepted and writes nothing.
SELECT pg_temp.apply('event', :'ev_hint');
SELECT count(*) AS messages_of_refused FROM waypoint.messages WHERE fid = 700 AND "timestamp" >= waypoint.farcaster_time(5100);
