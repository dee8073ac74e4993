-- waypoint 0.2.0 -> 0.3.0 (ALTER EXTENSION waypoint UPDATE).
-- 0.3.0 verifies what the node sends (docs/verification.md): the sidecar reports its
-- verification level, which sidecar_health() and sync_status show, and refused messages
-- are dead letters shown by the new view refused_messages; level full holds messages
-- of unknown signers in the new table held_messages (keys: the new view signers). Operators may now read
-- sync_status (it reads the storage mode); profiles gains profile_token and live_at.
-- No table changes.
DROP VIEW waypoint.sync_status;
DROP FUNCTION waypoint.sidecar_health();

CREATE FUNCTION waypoint.sidecar_health(OUT node_breaker text, OUT redis_state text, OUT consumer text,
                                        OUT mode text, OUT seen_at timestamptz, OUT verify_level text)
RETURNS SETOF record
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'waypoint_sidecar_health';
COMMENT ON FUNCTION waypoint.sidecar_health() IS
  'What the sidecar last reported in the Redis hash <prefix>:sidecar:health (every second): its node circuit breaker (closed, open, half_open), its view of Redis, consumer name, mode, when, and the verification level of what it writes (off, hash, signature, full; docs/verification.md). No row, with a NOTICE, when Redis is unreachable or no sidecar ever ran. Requires waypoint_operator.';

CREATE VIEW waypoint.sync_status AS
  WITH applied AS (
    SELECT sp.shard, max(sp.applied_event_id) AS applied_event_id, max(sp.applied_at) AS applied_at
      FROM waypoint.shard_progress AS sp GROUP BY sp.shard
  )
  SELECT coalesce(a.shard, h.shard) AS shard,
         a.applied_event_id,
         a.applied_event_id OPERATOR(pg_catalog.>>) 14 AS applied_height,
         a.applied_at,
         h.node_height,
         h.node_event_id,
         h.node_head_at,
         h.node_height OPERATOR(pg_catalog.-) (a.applied_event_id OPERATOR(pg_catalog.>>) 14) AS lag_blocks,
         s.node_breaker,
         CASE WHEN w.up IS NULL THEN NULL WHEN w.up THEN 'closed' ELSE 'open' END AS redis_breaker,
         s.seen_at AS sidecar_seen_at,
         st.storage_mode,
         st.indexes_missing,
         s.verify_level
    FROM applied AS a
    FULL JOIN waypoint.node_heads() AS h ON h.shard OPERATOR(pg_catalog.=) a.shard
    LEFT JOIN waypoint.sidecar_health() AS s ON true
    LEFT JOIN (SELECT bool_and(ws.redis_connected) AS up FROM waypoint.worker_stats() AS ws
                WHERE ws.pid IS NOT NULL) AS w ON true
    LEFT JOIN waypoint.storage_state() AS st ON true;
COMMENT ON VIEW waypoint.sync_status IS
  'Per data shard: highest event id (and block height) applied from the live stream, the node head the sidecar last saw (height, event id, time), the lag in blocks, and the circuit breakers: node_breaker as the sidecar last reported it (closed, open, half_open; sidecar_seen_at says when), redis_breaker as the extension''s workers see Redis (open while any running worker is disconnected or refuses the server); storage_mode (live, bulk, building: docs/storage.md) and the secondary-index partitions still missing; verify_level, the sidecar''s verification of what it writes (docs/verification.md).';

CREATE VIEW waypoint.refused_messages AS
  SELECT d.id, d.fid, d.fields OPERATOR(pg_catalog.->>) 'ck' AS check_failed,
         d.fields OPERATOR(pg_catalog.->>) 'why' AS reason,
         d.fields OPERATOR(pg_catalog.->>) 'rk' AS kind,
         pg_catalog.decode(nullif(d.fields OPERATOR(pg_catalog.->>) 'mh', ''), 'hex') AS message_hash,
         d.fields OPERATOR(pg_catalog.->>) 'src' AS source,
         nullif(d.fields OPERATOR(pg_catalog.->>) 'sh', '')::integer AS shard,
         nullif(d.fields OPERATOR(pg_catalog.->>) 'id', '')::bigint AS event_id,
         d.payload, d.stream, d.entry_id, d.failed_at
    FROM waypoint.dead_letters AS d
   WHERE d.kind OPERATOR(pg_catalog.=) 'refused';
COMMENT ON VIEW waypoint.refused_messages IS
  'Events and backfill messages the sidecar''s verification refused (docs/verification.md): the check that failed (hash_mismatch, bad_signature, bad_data, data_mismatch, wrong_network, ...), why, and the payload exactly as the node sent it. They are dead letters of kind refused, never applied.';

-- Verification level full (docs/verification.md): stream entries whose message is signed
-- by a key the mirror does not know for its fid, kept whole (as the sidecar wrote them)
-- and applied when an on-chain add of that key is. Lookups are by fid (the key's add
-- names its fid), so the primary key serves them.
CREATE TABLE waypoint.held_messages (
  fid bigint NOT NULL,
  hash bytea NOT NULL,
  signer bytea NOT NULL,
  kind text NOT NULL,
  payload bytea NOT NULL,
  shard int NOT NULL,
  event_id bigint NOT NULL,
  source text NOT NULL,
  job_id text NOT NULL,
  held_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fid, hash)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('held_messages');
COMMENT ON TABLE waypoint.held_messages IS
  'Verification level full: entries whose message is signed by a key not (yet) added for its fid, not applied; applied and removed from here when the key''s on-chain add is (docs/verification.md).';

CREATE VIEW waypoint.signers AS
  SELECT fid, signer_key AS key, max(signer_key_type) AS key_type,
         min(block_timestamp) FILTER (WHERE signer_event_type = 1) AS added_at,
         min(block_timestamp) FILTER (WHERE signer_event_type IN (2, 3)) AS removed_at,
         bool_or(signer_event_type = 1) AND NOT bool_or(signer_event_type IN (2, 3)) AS active
  FROM waypoint.onchain_events WHERE type = 1
  GROUP BY fid, signer_key;
COMMENT ON VIEW waypoint.signers IS 'Keys of the on-chain key registry per fid: when added and removed (remove or admin reset), and whether active now. Verification level full applies a message once its signer was added here (docs/verification.md).';

-- Profiles: profile_token and live_at (user data types 13 and 14), appended.
CREATE OR REPLACE VIEW waypoint.profiles AS
  SELECT fid,
         max(value) FILTER (WHERE user_data_type = 6) AS username,
         max(value) FILTER (WHERE user_data_type = 2) AS display_name,
         max(value) FILTER (WHERE user_data_type = 1) AS pfp_url,
         max(value) FILTER (WHERE user_data_type = 3) AS bio,
         max(value) FILTER (WHERE user_data_type = 5) AS url,
         max(value) FILTER (WHERE user_data_type = 7) AS location,
         max(value) FILTER (WHERE user_data_type = 8) AS twitter,
         max(value) FILTER (WHERE user_data_type = 9) AS github,
         max(value) FILTER (WHERE user_data_type = 10) AS banner_url,
         max(value) FILTER (WHERE user_data_type = 11) AS primary_address_ethereum,
         max(value) FILTER (WHERE user_data_type = 12) AS primary_address_solana,
         max("timestamp") AS updated_at,
         -- added in 0.3.0, after updated_at so CREATE OR REPLACE VIEW keeps views built on it
         max(value) FILTER (WHERE user_data_type = 13) AS profile_token,
         max(value) FILTER (WHERE user_data_type = 14) AS live_at
  FROM waypoint.user_data_live
  GROUP BY fid;
COMMENT ON VIEW waypoint.profiles IS 'One row per fid with its current profile fields (from user_data_live); profile_token is a CAIP-19 token id, live_at where the user is live now.';

REVOKE ALL ON FUNCTION waypoint.sidecar_health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION waypoint.sidecar_health() TO waypoint_operator;
REVOKE ALL ON waypoint.sync_status, waypoint.refused_messages FROM PUBLIC;
GRANT SELECT ON waypoint.sync_status TO waypoint_operator;
GRANT SELECT ON waypoint.refused_messages TO waypoint_operator, pg_monitor;
GRANT SELECT ON waypoint.storage_mode, waypoint.secondary_indexes TO waypoint_operator, pg_monitor;
GRANT SELECT ON waypoint.held_messages TO waypoint_operator, pg_monitor;
GRANT SELECT ON waypoint.signers TO PUBLIC;
