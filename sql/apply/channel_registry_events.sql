-- Insert of waypoint.channel_registry_events: every CHANNEL_REGISTER on-chain event
-- (type 6) as it came, one row per (transaction hash, log index), first copy kept (the
-- node sends the same event from several shards). Nothing is folded here: the view
-- waypoint.channels folds them in chain order (docs/apply-semantics.md, "Channels"), so
-- the order they arrive in does not matter. Parameters, one array element per event:
--   $1 transaction_hash, $2 log_index, $3 channel_id (the event's label), $4 event_type
--   (1 register, 2 renew, 3 transfer), $5 channel_key, $6 key_matches_label
--   (keccak256(channel_key) = label, computed by the decoder), $7 owner_address, $8 expiry
--   (Unix seconds; 0 = none), $9 block_number, $10 tx_index, $11 block_timestamp (Unix
--   seconds).
INSERT INTO waypoint.channel_registry_events (
  transaction_hash, log_index, channel_id, event_type, channel_key, key_matches_label, owner_address, expiry,
  block_number, tx_index, block_timestamp)
SELECT u.tx, u.li, u.channel_id, u.event_type, u.channel_key, u.key_matches_label, u.owner_address,
       CASE WHEN u.expiry <> 0 THEN to_timestamp(u.expiry) END, u.block_number, u.tx_index, to_timestamp(u.bts)
  FROM (SELECT unnest($1::bytea[]) AS tx, unnest($2::bigint[]) AS li, unnest($3::bytea[]) AS channel_id,
               unnest($4::int[]) AS event_type, unnest($5::text[]) AS channel_key,
               unnest($6::boolean[]) AS key_matches_label, unnest($7::bytea[]) AS owner_address,
               unnest($8::bigint[]) AS expiry, unnest($9::bigint[]) AS block_number, unnest($10::bigint[]) AS tx_index,
               unnest($11::bigint[]) AS bts) AS u
 ORDER BY u.tx, u.li
ON CONFLICT (transaction_hash, log_index) DO NOTHING
