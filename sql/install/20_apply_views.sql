-- Live views: what the node currently holds, without removes. A row is live when its
-- winning message is an add that was not pruned, revoked or dropped (and, for links,
-- not compacted away by the (fid, type) link compact state).

CREATE VIEW waypoint.casts_live AS
  SELECT fid, hash, "timestamp", text, parent_fid, parent_hash, parent_url, embeds, mentions,
         mentions_positions, cast_type, root_fid, root_hash, root_url
  FROM waypoint.casts
  WHERE NOT removed AND pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL;
COMMENT ON VIEW waypoint.casts_live IS 'Casts the node holds now (not removed, pruned or revoked), with their thread root (root_fid, root_hash: the top cast; root_url: its channel URL).';

CREATE VIEW waypoint.reactions_live AS
  SELECT fid, reaction_type, target_cast_fid, target_cast_hash, target_url, message_hash AS hash, "timestamp"
  FROM waypoint.reactions
  WHERE NOT removed AND pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL;
COMMENT ON VIEW waypoint.reactions_live IS 'Active reactions (1 like, 2 recast): one per (fid, type, target).';

-- Links the node holds, adds and removes (state before filtering removes). Every link
-- compact state ever merged for (fid, link_type) compacted links when it merged, not only
-- the current one: a link at or before one of them is gone unless it is an add whose target
-- that state lists, or it was merged after that state's latest merge (the node then did not
-- hold the state, or it would have refused the link).
CREATE VIEW waypoint.links_held AS
  SELECT l.*
  FROM waypoint.links l
  WHERE l.pruned_at IS NULL AND l.revoked_at IS NULL AND l.dropped_at IS NULL
    AND NOT EXISTS (
      SELECT 1 FROM waypoint.link_compact_state_history s
      WHERE s.fid = l.fid AND s.link_type = l.link_type AND l."timestamp" <= s."timestamp"
        AND (l.removed OR NOT (l.target_fid = ANY (s.target_fids)))
        AND NOT coalesce(l.event_id > s.event_id, false));
COMMENT ON VIEW waypoint.links_held IS
  'Link messages (adds and removes) the node holds: not pruned, revoked or compacted away by any link compact state it merged.';

CREATE VIEW waypoint.links_live AS
  SELECT fid, link_type, target_fid, message_hash AS hash, "timestamp", display_timestamp
  FROM waypoint.links_held WHERE NOT removed;
COMMENT ON VIEW waypoint.links_live IS
  'Active links (e.g. follows: link_type = ''follow''): followers of X are rows with target_fid = X, following are rows with fid = X.';

CREATE VIEW waypoint.link_compact_states_live AS
  SELECT fid, link_type, target_fids, message_hash AS hash, "timestamp"
  FROM waypoint.link_compact_states
  WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL;
COMMENT ON VIEW waypoint.link_compact_states_live IS 'Current link compact state per (fid, link_type).';

CREATE VIEW waypoint.verifications_live AS
  SELECT fid, address, protocol, verification_type, chain_id, claim_signature, block_hash,
         message_hash AS hash, "timestamp"
  FROM waypoint.verifications
  WHERE NOT removed AND pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL;
COMMENT ON VIEW waypoint.verifications_live IS 'Verified addresses (protocol 0 Ethereum, 1 Solana).';

CREATE VIEW waypoint.user_data_live AS
  SELECT fid, user_data_type, value, message_hash AS hash, "timestamp"
  FROM waypoint.user_data
  WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL;
COMMENT ON VIEW waypoint.user_data_live IS 'Current profile fields per (fid, UserDataType).';

CREATE VIEW waypoint.profiles AS
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

CREATE VIEW waypoint.username_proof_messages_live AS
  SELECT name, fid, proof_fid, proof_timestamp, owner, signature, proof_type, message_hash AS hash, "timestamp"
  FROM waypoint.username_proof_messages
  WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL;
COMMENT ON VIEW waypoint.username_proof_messages_live IS 'ENS/basename proofs held as messages (type 12), one per name.';

CREATE VIEW waypoint.lend_storage_live AS
  SELECT fid, to_fid, num_units, unit_type, message_hash AS hash, "timestamp"
  FROM waypoint.lend_storage
  WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL;
COMMENT ON VIEW waypoint.lend_storage_live IS 'Storage lent by fid to to_fid (current lend per pair).';

CREATE VIEW waypoint.fnames AS
  SELECT name, fid, owner, "timestamp", proof_type
  FROM waypoint.username_proofs
  WHERE NOT deleted AND fid <> 0 AND reconciled_at IS NULL;
COMMENT ON VIEW waypoint.fnames IS
  'Current holder of each name from username proofs (fnames and ENS, proof_type 1 fname, 2 ENS, 3 basename); released names are absent.';

CREATE VIEW waypoint.signer_events AS
  SELECT fid, signer_key AS key, signer_key_type AS key_type, signer_event_type AS event_type,
         signer_metadata AS metadata, signer_metadata_type AS metadata_type,
         chain_id, block_number, block_hash, block_timestamp, transaction_hash, log_index, tx_index
  FROM waypoint.onchain_events WHERE type = 1;
COMMENT ON VIEW waypoint.signer_events IS 'Key registry events (event_type 1 add, 2 remove, 3 admin reset).';

CREATE VIEW waypoint.signer_migrated_events AS
  SELECT fid, migrated_at, chain_id, block_number, block_hash, block_timestamp, transaction_hash, log_index, tx_index
  FROM waypoint.onchain_events WHERE type = 2;
COMMENT ON VIEW waypoint.signer_migrated_events IS 'Signer migration events.';

CREATE VIEW waypoint.id_register_events AS
  SELECT fid, id_to AS to_address, id_event_type AS event_type, id_from AS from_address,
         id_recovery AS recovery_address, chain_id, block_number, block_hash, block_timestamp,
         transaction_hash, log_index, tx_index
  FROM waypoint.onchain_events WHERE type = 3;
COMMENT ON VIEW waypoint.id_register_events IS 'Id registry events (event_type 1 register, 2 transfer, 3 change recovery).';

CREATE VIEW waypoint.storage_rent_events AS
  SELECT fid, rent_payer AS payer, rent_units AS units, rent_expiry AS expiry, chain_id, block_number,
         block_hash, block_timestamp, transaction_hash, log_index, tx_index
  FROM waypoint.onchain_events WHERE type = 4;
COMMENT ON VIEW waypoint.storage_rent_events IS 'Storage rent events.';

CREATE VIEW waypoint.tier_purchases AS
  SELECT fid, tier_type, tier_for_days AS for_days, tier_payer AS payer, chain_id, block_number, block_hash,
         block_timestamp, transaction_hash, log_index, tx_index
  FROM waypoint.onchain_events WHERE type = 5;
COMMENT ON VIEW waypoint.tier_purchases IS 'Tier purchases (tier_type 1 Pro).';

-- App keys (KEY_ADD / KEY_REMOVE) and the signers of both sources.
-- (origin was added in 0.6.0.)
CREATE VIEW waypoint.app_keys_live AS
  SELECT fid, key, key_type, scopes, ttl, nonce, request_fid, deadline, message_hash AS hash, "timestamp",
         CASE WHEN message_hash IS NULL THEN 'backfill' ELSE 'message' END AS origin
  FROM waypoint.app_keys
  WHERE NOT removed;
COMMENT ON VIEW waypoint.app_keys_live IS 'App keys the node holds now (KEY_ADD not removed), one per (fid, key); origin: message (a KEY_ADD the mirror holds, with its hash) or backfill (the node''s key state, no hash or deadline); whether a key has expired by its TTL: waypoint.signers.';

-- Columns after active were added in 0.5.0, last_used_at, expires_at and expired in 0.6.0
-- (CREATE OR REPLACE VIEW keeps views built on it).
-- An app key's TTL slides (docs/apply-semantics.md, "Expiry"): its anchor is the latest of
-- the KEY_ADD's timestamp, the anchor the node's key state gave a backfill, and the newest
-- message of the fid signed by the key that the mirror holds; the node refuses the key's
-- messages once anchor + ttl is past. A ttl of 0 never expires.
CREATE VIEW waypoint.signers AS
  SELECT fid, signer_key AS key, max(signer_key_type) AS key_type,
         min(block_timestamp) FILTER (WHERE signer_event_type = 1) AS added_at,
         min(block_timestamp) FILTER (WHERE signer_event_type IN (2, 3)) AS removed_at,
         bool_or(signer_event_type = 1) AND NOT bool_or(signer_event_type IN (2, 3)) AS active,
         'onchain'::text AS source, NULL::int[] AS scopes, NULL::bigint AS ttl,
         NULL::timestamptz AS last_used_at, NULL::timestamptz AS expires_at, false AS expired
  FROM waypoint.onchain_events WHERE type = 1
  GROUP BY fid, signer_key
  UNION ALL
  SELECT a.fid, a.key, a.key_type::bigint, a."timestamp", CASE WHEN a.removed THEN coalesce(a.removed_at, a.dropped_at) END,
         NOT a.removed AND NOT x.expired, 'app', a.scopes, a.ttl, u.last_used_at, x.expires_at, x.expired
  FROM waypoint.app_keys a
  CROSS JOIN LATERAL (
    SELECT greatest(a."timestamp", a.last_used_at,
                    (SELECT max(m."timestamp") FROM waypoint.messages m
                      WHERE m.fid = a.fid AND m.signer = a.key AND m.type NOT IN (16, 17))) AS last_used_at) u
  CROSS JOIN LATERAL (
    SELECT e.expires_at, coalesce(e.expires_at < now(), false) AS expired
      FROM (SELECT CASE WHEN a.ttl > 0 THEN u.last_used_at + make_interval(secs => a.ttl) END AS expires_at) e) x;
COMMENT ON VIEW waypoint.signers IS 'Every key a fid may sign with now or could before, one row per (fid, key, source): source onchain (key registry events: added, removed by remove or admin reset) or app (KEY_ADD messages, or the key state of the node read by a backfill, with their scopes and ttl; removed by KEY_REMOVE, or reconciled by a backfill that no longer found them). App keys expire by their sliding TTL: last_used_at is the latest of the KEY_ADD, the node''s own anchor read by a backfill and the newest message of the fid the key signed, expires_at = last_used_at + ttl, expired once that is past. active: may sign now (not removed, not expired). Filter by fid: expiry reads the fid''s messages. Verification level full applies a message once its signer is a key of its fid here, expired or not (the node merged it while the key was live; docs/verification.md).';

-- Channels (docs/apply-semantics.md, "Channels").
-- The registry fold, as the node does it (its CHANNEL_REGISTER index), in chain order
-- (block_number, tx_index, log_index) whatever order the events arrived in: an event
-- counts only with a 32-byte label; the first REGISTER whose label is keccak256 of its
-- channel key and whose owner is a 20-byte address makes the channel known; after it, each
-- such REGISTER sets owner and expiry, a RENEW of the same key only the expiry, a TRANSFER
-- to a 20-byte address only the owner (a TRANSFER before the first REGISTER, such as a
-- mint's, changes nothing). The owner fid is resolved as the node does: the fid whose live
-- Ethereum verification of the owner address has the greatest (timestamp, hash), the lower
-- fid on a tie; none: the channel is parked (owner_fid NULL). Metadata: the CHANNEL_UPDATE
-- the node holds, or the node's defaults when there is none.
CREATE VIEW waypoint.channels AS
  SELECT r.channel_id, r.channel_key, o.owner_address, w.fid AS owner_fid, w.fid IS NULL AS parked, x.expiry,
         r.block_timestamp AS registered_at,
         m.name, m.description, m.image_url, m.header, m.rules,
         coalesce(m.casting_mode, 'members_only') AS casting_mode,
         coalesce(m.membership_mode, 'approval') AS membership_mode,
         m.message_hash AS metadata_hash, m.author_fid AS metadata_by, m."timestamp" AS metadata_at
    FROM (SELECT DISTINCT ON (e.channel_id) e.channel_id, e.channel_key, e.block_number, e.tx_index, e.log_index,
                 e.block_timestamp
            FROM waypoint.channel_registry_events e
           WHERE e.event_type = 1 AND e.key_matches_label AND octet_length(e.channel_id) = 32
             AND octet_length(e.owner_address) = 20
           ORDER BY e.channel_id, e.block_number, e.tx_index, e.log_index) AS r
    CROSS JOIN LATERAL (
           SELECT e.owner_address FROM waypoint.channel_registry_events e
            WHERE e.channel_id = r.channel_id AND octet_length(e.owner_address) = 20
              AND ((e.event_type = 1 AND e.key_matches_label) OR e.event_type = 3)
              AND (e.block_number, e.tx_index, e.log_index) >= (r.block_number, r.tx_index, r.log_index)
            ORDER BY e.block_number DESC, e.tx_index DESC, e.log_index DESC LIMIT 1) AS o
    CROSS JOIN LATERAL (
           SELECT e.expiry FROM waypoint.channel_registry_events e
            WHERE e.channel_id = r.channel_id AND e.key_matches_label
              AND ((e.event_type = 1 AND octet_length(e.owner_address) = 20) OR e.event_type = 2)
              AND (e.block_number, e.tx_index, e.log_index) >= (r.block_number, r.tx_index, r.log_index)
            ORDER BY e.block_number DESC, e.tx_index DESC, e.log_index DESC LIMIT 1) AS x
    LEFT JOIN LATERAL (
           SELECT v.fid FROM waypoint.verifications_live v
            WHERE v.address = o.owner_address AND v.protocol = 0
            ORDER BY v."timestamp" DESC, v.hash DESC, v.fid LIMIT 1) AS w ON true
    LEFT JOIN waypoint.channel_metadata m ON m.channel_id = r.channel_id;
COMMENT ON VIEW waypoint.channels IS
  'Registered channels, one per channel id: key, owner address and expiry folded from the CHANNEL_REGISTER events in chain order, the owner fid resolved from the live Ethereum verifications of the owner address (NULL: parked, every write refused by the node but a member leaving), and the metadata of the CHANNEL_UPDATE the node holds (the node''s defaults when none).';

CREATE VIEW waypoint.channel_members_live AS
  SELECT channel_id, member_fid AS fid, state, author_fid, message_hash AS hash, "timestamp"
    FROM waypoint.channel_members
   WHERE state IN ('member', 'moderator');
COMMENT ON VIEW waypoint.channel_members_live IS
  'Members of each channel now (state member or moderator); author_fid is who made them so (an invite, a self-add, the owner''s promotion).';

CREATE VIEW waypoint.channel_pins_live AS
  SELECT channel_id, cast_hash, author_fid, message_hash AS hash, "timestamp"
    FROM waypoint.channel_pins
   WHERE cast_hash IS NOT NULL;
COMMENT ON VIEW waypoint.channel_pins_live IS
  'The pinned cast of each channel that has one (by hash alone: the node does not check the cast).';

CREATE VIEW waypoint.channel_hidden_casts AS
  SELECT channel_id, cast_hash, author_fid, message_hash AS hash, "timestamp"
    FROM waypoint.channel_moderations
   WHERE hidden;
COMMENT ON VIEW waypoint.channel_hidden_casts IS
  'Casts hidden in a channel now (the last moderation of the cast is a hide); author_fid is the moderator.';
