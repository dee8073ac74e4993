-- Every test starts from an empty mirror (pg_temp.fresh, test/regress/setup.sql).
SELECT pg_temp.fresh();
RESET client_min_messages;
-- User data: last write wins per (fid, type).
SELECT pg_temp.apply('event', :'ev_u2', :'ev_u1', :'ev_u3');
SELECT fid, username, display_name FROM waypoint.profiles;
SELECT pg_temp.apply('event', :'ev_u5', :'ev_u4');
SELECT fid, username, profile_token, live_at FROM waypoint.profiles;
-- Verifications: Ethereum and Solana, protocol kept; remove then re-add.
SELECT pg_temp.apply('event', :'ev_ve1', :'ev_vs1', :'ev_ve1_rm');
SELECT length(address) AS address_bytes, protocol FROM waypoint.verifications_live ORDER BY protocol;
SELECT pg_temp.apply('event', :'ev_ve1_again');
SELECT length(address) AS address_bytes, protocol FROM waypoint.verifications_live ORDER BY protocol;
-- Lend storage: one row per (fid, to_fid), the newer lend wins.
SELECT pg_temp.apply('event', :'ev_ls2', :'ev_ls1');
SELECT fid, to_fid, num_units, unit_type FROM waypoint.lend_storage_live;
-- ENS proof message (type 12), then its removal reported by MERGE_USERNAME_PROOF.
SELECT pg_temp.apply('event', :'ev_ens');
SELECT name, fid, proof_type FROM waypoint.username_proof_messages_live;
SELECT pg_temp.apply('event', :'ev_ens_gone');
SELECT count(*) AS ens_messages_live FROM waypoint.username_proof_messages_live;
SELECT name, fid FROM waypoint.fnames WHERE name = 'alice.eth';
-- Fnames: bob 900 -> 901 -> released; any order, from any shard, twice.
SELECT pg_temp.apply('event', :'ev_bob2');
SELECT name, fid FROM waypoint.fnames WHERE name = 'bob';
SELECT pg_temp.apply('event', :'ev_bob1', :'ev_bob2');
SELECT name, fid FROM waypoint.fnames WHERE name = 'bob';
SELECT pg_temp.apply('event', :'ev_bob3', :'ev_bob1');
SELECT count(*) AS bob_held FROM waypoint.fnames WHERE name = 'bob';
SELECT name, fid, deleted FROM waypoint.username_proofs WHERE name = 'bob';
SELECT pg_temp.apply('fname', :'fname_carol');
SELECT pg_temp.apply('event', :'ev_carol');
SELECT name, fid, "timestamp" = to_timestamp(1700000000) AS unix_time FROM waypoint.fnames ORDER BY name;
-- On-chain events: one row per (tx hash, log index) although two shards sent it.
SELECT pg_temp.apply('event', :'ev_signer_s1', :'ev_signer_s2', :'ev_idr', :'ev_rent', :'ev_tier');
SELECT pg_temp.apply('onchain', :'onchain_signer');
SELECT type, fid, log_index, block_timestamp = to_timestamp(1700000000) AS unix_time FROM waypoint.onchain_events ORDER BY type;
SELECT fid, length(key) AS key_bytes, key_type, event_type, length(metadata) AS metadata_bytes FROM waypoint.signer_events;
SELECT fid, event_type, length(to_address) AS to_bytes, from_address IS NULL AS no_from FROM waypoint.id_register_events;
SELECT fid, units, expiry = to_timestamp(1760000000) AS expiry_ok FROM waypoint.storage_rent_events;
SELECT fid, tier_type, for_days FROM waypoint.tier_purchases;
-- Rejected and ignored payloads: the good ones of the batch still apply.
SELECT * FROM waypoint.apply_payloads(
  ARRAY['event', 'event', 'message', 'event', 'event', 'fid_done', 'event'],
  ARRAY[:'garbage', :'ev_nobody', :'garbage', :'ev_wrongbody', :'ev_block', ''::bytea, :'ev_c1']::bytea[]);
SELECT count(*) AS c1_applied FROM waypoint.casts_live WHERE hash = decode(:'c1_h', 'hex');
SELECT * FROM waypoint.apply_payloads(ARRAY['nonsense'], ARRAY[''::bytea]);
SELECT * FROM waypoint.state_lines();
-- Only superusers may apply.
CREATE ROLE waypoint_regress_user;
SET ROLE waypoint_regress_user;
SELECT * FROM waypoint.apply_payloads(ARRAY['event'], ARRAY[:'ev_c1']::bytea[]);
RESET ROLE;
DROP ROLE waypoint_regress_user;
