-- waypoint 0.5.0 -> 0.6.0 (ALTER EXTENSION waypoint UPDATE).

-- Channels (docs/apply-semantics.md, "Channels"): the registry events as a table, the four
-- slot tables, their views, the channel lines of state_lines(), and the fill of all of
-- them from what the mirror already holds (waypoint.fill_channels(), at the end). Before
-- 0.6.0 channel messages were raw rows of waypoint.messages only, taken from every data
-- shard, and CHANNEL_REGISTER events rows of waypoint.onchain_events only. The slots the
-- fill derives count as merged before every event (their merge order across shards is
-- lost): a mirror with channel messages must have drained its streams before the update
-- (docs/storage.md, "Upgrading").

-- Channels (docs/apply-semantics.md, "Channels"). Keyed by channel, not by fid: any
-- author may take a slot, so these tables are not fid-partitioned and any apply worker
-- may write any row (the upserts converge whichever applies first; docs/storage.md).
-- Channel messages come from data shard 1's events only, and per slot the message
-- merged last (the highest event id of that shard) holds it: sql/apply/channel_*.sql.
-- A backfill writes rows derived from the node's state reads (waypoint.apply_channel_state):
-- message_hash, "timestamp" (and author_fid, members' action where the read has none) are
-- NULL on those, and merge_event is the data-shard-1 position the state counts as of.
CREATE TABLE waypoint.channel_registry_events (
  transaction_hash bytea NOT NULL,
  log_index bigint NOT NULL,
  channel_id bytea NOT NULL,
  event_type int NOT NULL,
  channel_key text NOT NULL,
  key_matches_label boolean NOT NULL,
  owner_address bytea NOT NULL,
  expiry timestamptz,
  block_number bigint NOT NULL,
  tx_index bigint NOT NULL,
  block_timestamp timestamptz NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (transaction_hash, log_index)
);
CREATE INDEX channel_registry_events_channel_idx
  ON waypoint.channel_registry_events (channel_id, block_number, tx_index, log_index);

CREATE TABLE waypoint.channel_metadata (
  channel_id bytea PRIMARY KEY,
  name text,
  description text,
  image_url text,
  header text,
  rules text,
  casting_mode text NOT NULL,
  membership_mode text NOT NULL,
  author_fid bigint,
  message_hash bytea,
  "timestamp" timestamptz,
  merge_event bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE waypoint.channel_members (
  channel_id bytea NOT NULL,
  member_fid bigint NOT NULL,
  state text NOT NULL CHECK (state IN ('member', 'moderator', 'removed', 'banned')),
  action text,
  author_fid bigint,
  message_hash bytea,
  "timestamp" timestamptz,
  merge_event bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel_id, member_fid)
);
-- The channels of a fid (memberships).
CREATE INDEX channel_members_member_idx ON waypoint.channel_members (member_fid);

CREATE TABLE waypoint.channel_pins (
  channel_id bytea PRIMARY KEY,
  cast_hash bytea,
  author_fid bigint,
  message_hash bytea,
  "timestamp" timestamptz,
  merge_event bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE waypoint.channel_moderations (
  channel_id bytea NOT NULL,
  cast_hash bytea NOT NULL,
  action text NOT NULL,
  hidden boolean NOT NULL,
  author_fid bigint,
  message_hash bytea,
  "timestamp" timestamptz,
  merge_event bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel_id, cast_hash)
);

-- Channels (docs/apply-semantics.md, "Channels").
COMMENT ON TABLE waypoint.channel_registry_events IS
  'Every CHANNEL_REGISTER on-chain event (type 6) as it came, one row per (transaction hash, log index); waypoint.channels folds them in chain order.';
COMMENT ON COLUMN waypoint.channel_registry_events.transaction_hash IS 'Transaction hash of the event.';
COMMENT ON COLUMN waypoint.channel_registry_events.log_index IS 'Log index of the event in its transaction.';
COMMENT ON COLUMN waypoint.channel_registry_events.channel_id IS 'The event''s label: keccak256 of the channel name, the channel id channel messages carry.';
COMMENT ON COLUMN waypoint.channel_registry_events.event_type IS 'ChannelRegisterEventType: 1 register, 2 renew, 3 transfer (0 or unknown: folded by nothing).';
COMMENT ON COLUMN waypoint.channel_registry_events.channel_key IS 'The channel name (empty for transfers).';
COMMENT ON COLUMN waypoint.channel_registry_events.key_matches_label IS 'Whether keccak256(channel_key) equals the label: a register or renew without it is skipped by the node.';
COMMENT ON COLUMN waypoint.channel_registry_events.owner_address IS 'Registrant (register) or receiver (transfer); empty for renews.';
COMMENT ON COLUMN waypoint.channel_registry_events.expiry IS 'Registration expiry (register, renew); NULL when the event carries none. The node never checks it.';
COMMENT ON COLUMN waypoint.channel_registry_events.block_number IS 'Chain block: with tx_index and log_index, the order the fold follows.';
COMMENT ON COLUMN waypoint.channel_registry_events.tx_index IS 'Transaction index in the block.';
COMMENT ON COLUMN waypoint.channel_registry_events.block_timestamp IS 'Time of the chain block.';
COMMENT ON COLUMN waypoint.channel_registry_events.first_seen_at IS 'When this database first saw the event.';

COMMENT ON TABLE waypoint.channel_metadata IS
  'Per channel, the CHANNEL_UPDATE (type 18) the node holds: the newest merge (on data shard 1), whoever wrote it and whatever its timestamp; it is the whole configuration (a field it leaves out is unset).';
COMMENT ON COLUMN waypoint.channel_metadata.channel_id IS 'Channel id (32 bytes, keccak256 of the name).';
COMMENT ON COLUMN waypoint.channel_metadata.name IS 'Display name; NULL when the update leaves it out.';
COMMENT ON COLUMN waypoint.channel_metadata.description IS 'Description; NULL when left out.';
COMMENT ON COLUMN waypoint.channel_metadata.image_url IS 'Image URL; NULL when left out.';
COMMENT ON COLUMN waypoint.channel_metadata.header IS 'Header image URL; NULL when left out.';
COMMENT ON COLUMN waypoint.channel_metadata.rules IS 'Rules text; NULL when left out.';
COMMENT ON COLUMN waypoint.channel_metadata.casting_mode IS 'everyone, members_only or recommended (absent or NONE: members_only). Advisory: the node never checks it when a cast merges.';
COMMENT ON COLUMN waypoint.channel_metadata.membership_mode IS 'open (anyone may add themselves) or approval (absent or NONE: approval).';
COMMENT ON COLUMN waypoint.channel_metadata.author_fid IS 'Fid that wrote the update (the owner when the node admitted it).';
COMMENT ON COLUMN waypoint.channel_metadata.message_hash IS 'Hash of the winning CHANNEL_UPDATE.';
COMMENT ON COLUMN waypoint.channel_metadata."timestamp" IS 'Its timestamp (Farcaster time converted); it does not decide anything.';
COMMENT ON COLUMN waypoint.channel_metadata.merge_event IS 'Event id (data shard 1) of its latest merge: the later merge holds the slot. 0 when derived by the upgrade to 0.6.0.';
COMMENT ON COLUMN waypoint.channel_metadata.updated_at IS 'When the winning message last changed.';

COMMENT ON TABLE waypoint.channel_members IS
  'Per (channel, target fid), the CHANNEL_MEMBER (type 19) the node holds (the newest merge on data shard 1) and the state it gives the target; a removed or banned row keeps its slot.';
COMMENT ON COLUMN waypoint.channel_members.channel_id IS 'Channel id (32 bytes).';
COMMENT ON COLUMN waypoint.channel_members.member_fid IS 'The target fid.';
COMMENT ON COLUMN waypoint.channel_members.state IS 'member, moderator, removed or banned, from the winning action (add_member, remove_moderator -> member; add_moderator -> moderator; remove_member, unban -> removed; ban -> banned).';
COMMENT ON COLUMN waypoint.channel_members.action IS 'The winning action: add_member, remove_member, add_moderator, remove_moderator, ban, unban.';
COMMENT ON COLUMN waypoint.channel_members.author_fid IS 'Fid that did it (the target itself for a self-add or a leave).';
COMMENT ON COLUMN waypoint.channel_members.message_hash IS 'Hash of the winning CHANNEL_MEMBER.';
COMMENT ON COLUMN waypoint.channel_members."timestamp" IS 'Its timestamp (Farcaster time converted); it does not decide anything.';
COMMENT ON COLUMN waypoint.channel_members.merge_event IS 'Event id (data shard 1) of its latest merge. 0 when derived by the upgrade to 0.6.0.';
COMMENT ON COLUMN waypoint.channel_members.updated_at IS 'When the winning message last changed.';

COMMENT ON TABLE waypoint.channel_pins IS
  'Per channel, the CHANNEL_PIN (type 20) the node holds (the newest merge on data shard 1): the pinned cast, or none after an unpin.';
COMMENT ON COLUMN waypoint.channel_pins.channel_id IS 'Channel id (32 bytes).';
COMMENT ON COLUMN waypoint.channel_pins.cast_hash IS 'Hash of the pinned cast (20 bytes); NULL: unpinned.';
COMMENT ON COLUMN waypoint.channel_pins.author_fid IS 'Fid that pinned or unpinned (owner or moderator when admitted).';
COMMENT ON COLUMN waypoint.channel_pins.message_hash IS 'Hash of the winning CHANNEL_PIN.';
COMMENT ON COLUMN waypoint.channel_pins."timestamp" IS 'Its timestamp (Farcaster time converted); it does not decide anything.';
COMMENT ON COLUMN waypoint.channel_pins.merge_event IS 'Event id (data shard 1) of its latest merge. 0 when derived by the upgrade to 0.6.0.';
COMMENT ON COLUMN waypoint.channel_pins.updated_at IS 'When the winning message last changed.';

COMMENT ON TABLE waypoint.channel_moderations IS
  'Per (channel, cast hash), the CHANNEL_MODERATE (type 21) the node holds (the newest merge on data shard 1): whether the cast is hidden in the channel.';
COMMENT ON COLUMN waypoint.channel_moderations.channel_id IS 'Channel id (32 bytes).';
COMMENT ON COLUMN waypoint.channel_moderations.cast_hash IS 'Hash of the moderated cast (20 bytes; the node does not check the cast).';
COMMENT ON COLUMN waypoint.channel_moderations.action IS 'The winning action: hide or unhide.';
COMMENT ON COLUMN waypoint.channel_moderations.hidden IS 'True when the winning action is hide.';
COMMENT ON COLUMN waypoint.channel_moderations.author_fid IS 'Fid that moderated (owner or moderator when admitted).';
COMMENT ON COLUMN waypoint.channel_moderations.message_hash IS 'Hash of the winning CHANNEL_MODERATE.';
COMMENT ON COLUMN waypoint.channel_moderations."timestamp" IS 'Its timestamp (Farcaster time converted); it does not decide anything.';
COMMENT ON COLUMN waypoint.channel_moderations.merge_event IS 'Event id (data shard 1) of its latest merge. 0 when derived by the upgrade to 0.6.0.';
COMMENT ON COLUMN waypoint.channel_moderations.updated_at IS 'When the winning message last changed.';

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

-- (Channel lines: the whole function as installed.)
CREATE OR REPLACE FUNCTION waypoint.state_lines() RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT line FROM (
    SELECT 'msg' || E'\t' || 'cast' || E'\t' || encode(message_hash, 'hex') AS line
      FROM waypoint.casts WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'thread' || E'\t' || encode(hash, 'hex') || E'\t' || coalesce(root_fid::text, '-') || E'\t'
           || coalesce(encode(root_hash, 'hex'), '-') || E'\t' || coalesce(root_url, '')
      FROM waypoint.casts WHERE NOT removed AND pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'reaction' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.reactions WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'link' || E'\t' || encode(message_hash, 'hex') FROM waypoint.links_held
    UNION ALL
    SELECT 'msg' || E'\t' || 'link_compact_state' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.link_compact_states WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'verification' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.verifications WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'user_data' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.user_data WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'msg' || E'\t' || 'lend_storage' || E'\t' || encode(message_hash, 'hex')
      FROM waypoint.lend_storage WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL
    UNION ALL
    SELECT 'app_key' || E'\t' || fid || E'\t' || encode(key, 'hex') || E'\t' || nonce || E'\t'
           || array_to_string(scopes, ',') || E'\t' || ttl
      FROM waypoint.app_keys WHERE NOT removed
    UNION ALL
    SELECT 'onchain' || E'\t' || type || E'\t' || fid || E'\t' || encode(transaction_hash, 'hex') || E'\t' || log_index
      FROM waypoint.onchain_events
    UNION ALL
    SELECT 'fname' || E'\t' || name || E'\t' || fid FROM waypoint.username_proofs
      WHERE NOT deleted AND fid <> 0 AND reconciled_at IS NULL
    UNION ALL
    SELECT 'channel' || E'\t' || encode(channel_id, 'hex') || E'\t' || channel_key || E'\t'
           || encode(owner_address, 'hex') || E'\t' || coalesce(extract(epoch FROM expiry)::bigint, 0) || E'\t'
           || coalesce(owner_fid, 0)
      FROM waypoint.channels
    UNION ALL
    SELECT 'channel_meta' || E'\t' || encode(channel_id, 'hex') || E'\t' || casting_mode || E'\t' || membership_mode
           || E'\t' || coalesce(encode(convert_to(name, 'UTF8'), 'hex'), '-')
           || E'\t' || coalesce(encode(convert_to(description, 'UTF8'), 'hex'), '-')
           || E'\t' || coalesce(encode(convert_to(image_url, 'UTF8'), 'hex'), '-')
           || E'\t' || coalesce(encode(convert_to(header, 'UTF8'), 'hex'), '-')
           || E'\t' || coalesce(encode(convert_to(rules, 'UTF8'), 'hex'), '-')
           || E'\t' || coalesce(encode(message_hash, 'hex'), '')
      FROM waypoint.channel_metadata
     -- a row derived from a state read that says nothing (the defaults): the read cannot
     -- tell it from a channel without an update (docs/state-lines.md)
     WHERE message_hash IS NOT NULL OR name IS NOT NULL OR description IS NOT NULL OR image_url IS NOT NULL
        OR header IS NOT NULL OR rules IS NOT NULL OR casting_mode <> 'members_only' OR membership_mode <> 'approval'
    UNION ALL
    SELECT 'channel_member' || E'\t' || encode(channel_id, 'hex') || E'\t' || member_fid || E'\t' || state || E'\t'
           || coalesce(encode(message_hash, 'hex'), '')
      FROM waypoint.channel_members
    UNION ALL
    SELECT 'channel_pin' || E'\t' || encode(channel_id, 'hex') || E'\t' || coalesce(encode(cast_hash, 'hex'), '')
           || E'\t' || coalesce(author_fid::text, '') || E'\t' || coalesce(encode(message_hash, 'hex'), '')
      FROM waypoint.channel_pins
     WHERE message_hash IS NOT NULL OR cast_hash IS NOT NULL  -- a derived "no pin" has no line
    UNION ALL
    SELECT 'channel_moderation' || E'\t' || encode(channel_id, 'hex') || E'\t' || encode(cast_hash, 'hex') || E'\t'
           || CASE WHEN hidden THEN 'hidden' ELSE 'visible' END || E'\t' || coalesce(author_fid::text, '')
           || E'\t' || coalesce(encode(message_hash, 'hex'), '')
      FROM waypoint.channel_moderations
  ) s
  ORDER BY line COLLATE "C";
$$;

-- App keys from a backfill (docs/apply-semantics.md, "App keys from a backfill"): a
-- backfill reads the node's key state (GetSignersByFid), which carries no message, so such
-- rows have no message_hash and no deadline; app keys are a backfill type ('app_key') and
-- reconciled; the app_key lines of state_lines() (above) name the key, not the KEY_ADD's
-- hash, which a mirror filled by backfill cannot know.
ALTER TABLE waypoint.app_keys ALTER COLUMN message_hash DROP NOT NULL, ALTER COLUMN deadline DROP NOT NULL;
COMMENT ON TABLE waypoint.app_keys IS
  'App keys (KEY_ADD, message type 16), one row per (fid, key): the KEY_ADD the node keeps (the latest merged: a later KEY_ADD of the key replaces it), or the last one, marked removed, once a KEY_REMOVE (type 17) deleted it; a removed key may be added again; or, written by a backfill from the node''s key state (GetSignersByFid), the key as the node lists it, without its message (message_hash NULL) (docs/apply-semantics.md, "App keys").';
COMMENT ON COLUMN waypoint.app_keys.message_hash IS 'Hash of the winning KEY_ADD; NULL when the row comes from the node''s key state read by a backfill (no message), until the stream brings that KEY_ADD or a later one.';
COMMENT ON COLUMN waypoint.app_keys.deadline IS 'Deadline of the custody signature (Unix seconds); NULL for a row from a backfill (the node''s key state does not carry it).';
COMMENT ON COLUMN waypoint.app_keys.nonce IS 'The fid''s user nonce the KEY_ADD consumed: it orders the KEY_ADDs of a fid, and so a backfill''s key state against the KEY_ADD messages.';
COMMENT ON COLUMN waypoint.app_keys.dropped_at IS 'When the node reported the winning KEY_ADD deleted (event time), or when a backfill reconciled the key away, while removed.';
COMMENT ON COLUMN waypoint.app_keys.dropped_reason IS 'While removed: deleted (a KEY_REMOVE deleted the KEY_ADD) or reconciled (a completed backfill found the key no longer listed by the node).';
-- (origin was added in 0.6.0.)
CREATE OR REPLACE VIEW waypoint.app_keys_live AS
  SELECT fid, key, key_type, scopes, ttl, nonce, request_fid, deadline, message_hash AS hash, "timestamp",
         CASE WHEN message_hash IS NULL THEN 'backfill' ELSE 'message' END AS origin
  FROM waypoint.app_keys
  WHERE NOT removed;
COMMENT ON VIEW waypoint.app_keys_live IS 'App keys the node holds now (KEY_ADD not removed), one per (fid, key); origin: message (a KEY_ADD the mirror holds, with its hash) or backfill (the node''s key state, no hash or deadline); expiry by TTL is not tracked.';
COMMENT ON VIEW waypoint.signers IS 'Every key a fid may sign with now or could before, one row per (fid, key, source): source onchain (key registry events: added, removed by remove or admin reset) or app (KEY_ADD messages, or the key state of the node read by a backfill, with their scopes and ttl; removed by KEY_REMOVE, or reconciled by a backfill that no longer found them). active: may sign now (app keys: expiry by TTL not tracked). Verification level full applies a message once its signer is a key of its fid here (docs/verification.md).';
CREATE OR REPLACE FUNCTION waypoint.backfill_type_names() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ARRAY['cast', 'reaction', 'link', 'link_compact_state', 'verification', 'user_data',
                   'username_proof', 'lend_storage', 'onchain', 'fname', 'app_key', 'channel']::text[] $$;

-- The test surface's kinds merged and @<shard>.
COMMENT ON FUNCTION waypoint.apply_payloads(text[], bytea[]) IS
  'Superuser test surface: applies raw payloads (kind event = HubEvent, message = Message, onchain = OnChainEvent, fname = UserNameProof, signer = a Signer of GetSignersByFid, fid_start/<job>/<fid> and fid_done/<job>/<fid> backfill markers, whose payload is their JSON; channel_state/<as_of> = a backfill''s read of one channel''s state (core/channel_state.hpp) as of that data-shard-1 event id; merged = a Message as the message of a MERGE_MESSAGE event with id 0; a suffix @<shard> names the data shard the entry came from, default 1; a prefix full: marks it as written at verification level full) exactly as the apply workers do, inside the caller''s transaction. One result row per payload; applied = false with the reason for rejected (undecodable or invalid) payloads.';

-- Channels (docs/apply-semantics.md, "Channels").
GRANT SELECT ON waypoint.channel_registry_events, waypoint.channel_metadata, waypoint.channel_members,
  waypoint.channel_pins, waypoint.channel_moderations, waypoint.channels, waypoint.channel_members_live,
  waypoint.channel_pins_live, waypoint.channel_hidden_casts TO PUBLIC;

-- Derives the channel tables from what the mirror already holds (an upgrade from a
-- version that kept channel messages and CHANNEL_REGISTER events as raw rows only): every
-- CHANNEL_REGISTER event of waypoint.onchain_events goes through the apply again (the
-- registry is folded by a view, so nothing else is needed), and every channel message
-- the mirror holds alive (its latest merge after its latest deletion) takes its slot as a
-- merge at event 0, before every real event: any channel message merged later replaces
-- it. The node holds one message per slot, so a mirror that saw the whole stream has one
-- alive message per slot; the standing stays right although versions before 0.6.0
-- applied the copies of every data shard (each shard replays the same merges), but their
-- merge order is lost (ids of different shards do not compare), hence event 0.
CREATE FUNCTION waypoint.fill_channels() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  chunk record;
  n bigint := 0;
BEGIN
  FOR chunk IN
    SELECT array_agg(o.raw) AS raws
      FROM (SELECT raw, (row_number() OVER (ORDER BY transaction_hash, log_index) - 1) / 5000 AS c
              FROM waypoint.onchain_events WHERE type = 6) AS o
     GROUP BY o.c ORDER BY o.c
  LOOP
    PERFORM 1 FROM waypoint.apply_payloads(array_fill('onchain'::text, ARRAY[cardinality(chunk.raws)]), chunk.raws);
  END LOOP;
  FOR chunk IN
    SELECT array_agg(m.raw) AS raws
      FROM (SELECT raw, (row_number() OVER (ORDER BY fid, hash) - 1) / 5000 AS c
              FROM waypoint.messages
             WHERE type BETWEEN 18 AND 21 AND merge_event IS NOT NULL
               AND (death_event IS NULL OR death_event < merge_event)) AS m
     GROUP BY m.c ORDER BY m.c
  LOOP
    SELECT n + count(*) FILTER (WHERE applied) INTO n
      FROM waypoint.apply_payloads(array_fill('merged@1'::text, ARRAY[cardinality(chunk.raws)]), chunk.raws);
  END LOOP;
  RETURN n;
END
$$;
REVOKE ALL ON FUNCTION waypoint.fill_channels() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.fill_channels() IS
  'Internal (the upgrade scripts call it): fills the channel tables from the CHANNEL_REGISTER events in waypoint.onchain_events and the channel messages in waypoint.messages; returns the channel messages applied.';

-- Applies a backfill's read of one channel's state (entry kind channel_state; the apply
-- calls it once per entry; docs/apply-semantics.md, "Channel backfill"). The state counts
-- as of the data-shard-1 position as_of: it reflects every merge up to it and may reflect
-- later ones. Per slot: a row merged after as_of stays as it is; a row at or before as_of
-- that says what the state says is kept (with its message hash, author and timestamp) and
-- takes as_of as its merge_event; one that says something else is replaced by a row
-- derived from the state (message_hash, "timestamp" NULL, author_fid as the read gives
-- it or NULL; merge_event = as_of); a slot the mirror lacks gets such a row; member and
-- moderation rows at or before as_of that the state does not list are deleted (the node
-- never deletes a slot, so such a row was never the node's). A stream merge after as_of
-- replaces a derived row as any later merge does; one at or before it changes nothing.
-- The metadata and pin slots always get a row (the defaults, an unpinned pin): it
-- records as_of, so a delayed older merge cannot take the slot back. Parameters: the
-- folded metadata (casting_mode, membership_mode as numbers, already resolved), the pin
-- (NULL: none), members (fid, ChannelMemberState 1..4), moderations (cast hash,
-- ChannelModerateAction 1..2, author fid).
CREATE FUNCTION waypoint.apply_channel_state(
  channel bytea, as_of bigint, m_name text, m_description text, m_image_url text, m_header text, m_rules text,
  m_casting int, m_membership int, pin_cast bytea, pin_author bigint,
  member_fids bigint[], member_states int[], mod_casts bytea[], mod_actions int[], mod_authors bigint[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cm text := CASE m_casting WHEN 1 THEN 'everyone' WHEN 3 THEN 'recommended' ELSE 'members_only' END;
  mm text := CASE m_membership WHEN 1 THEN 'open' ELSE 'approval' END;
BEGIN
  INSERT INTO waypoint.channel_metadata (channel_id, name, description, image_url, header, rules, casting_mode,
                                         membership_mode, author_fid, message_hash, "timestamp", merge_event)
  VALUES (channel, m_name, m_description, m_image_url, m_header, m_rules, cm, mm, NULL, NULL, NULL, as_of)
  ON CONFLICT (channel_id) DO NOTHING;
  UPDATE waypoint.channel_metadata t SET
    name = m_name, description = m_description, image_url = m_image_url, header = m_header, rules = m_rules,
    casting_mode = cm, membership_mode = mm,
    author_fid = CASE WHEN x.same THEN t.author_fid END,
    message_hash = CASE WHEN x.same THEN t.message_hash END,
    "timestamp" = CASE WHEN x.same THEN t."timestamp" END,
    merge_event = as_of,
    updated_at = CASE WHEN x.same THEN t.updated_at ELSE now() END
  FROM (SELECT c.channel_id,
               c.name IS NOT DISTINCT FROM m_name AND c.description IS NOT DISTINCT FROM m_description
               AND c.image_url IS NOT DISTINCT FROM m_image_url AND c.header IS NOT DISTINCT FROM m_header
               AND c.rules IS NOT DISTINCT FROM m_rules AND c.casting_mode = cm AND c.membership_mode = mm AS same
          FROM waypoint.channel_metadata c WHERE c.channel_id = channel) AS x
  WHERE t.channel_id = channel AND x.channel_id = t.channel_id AND t.merge_event <= as_of;

  INSERT INTO waypoint.channel_pins (channel_id, cast_hash, author_fid, message_hash, "timestamp", merge_event)
  VALUES (channel, pin_cast, CASE WHEN pin_cast IS NOT NULL THEN pin_author END, NULL, NULL, as_of)
  ON CONFLICT (channel_id) DO NOTHING;
  UPDATE waypoint.channel_pins t SET
    cast_hash = pin_cast,
    author_fid = CASE WHEN x.same THEN t.author_fid WHEN pin_cast IS NOT NULL THEN pin_author END,
    message_hash = CASE WHEN x.same THEN t.message_hash END,
    "timestamp" = CASE WHEN x.same THEN t."timestamp" END,
    merge_event = as_of,
    updated_at = CASE WHEN x.same THEN t.updated_at ELSE now() END
  FROM (SELECT c.channel_id,
               c.cast_hash IS NOT DISTINCT FROM pin_cast
               AND (pin_cast IS NULL OR c.author_fid IS NOT DISTINCT FROM pin_author) AS same
          FROM waypoint.channel_pins c WHERE c.channel_id = channel) AS x
  WHERE t.channel_id = channel AND x.channel_id = t.channel_id AND t.merge_event <= as_of;

  INSERT INTO waypoint.channel_members (channel_id, member_fid, state, action, author_fid, message_hash,
                                        "timestamp", merge_event)
  SELECT channel, u.fid,
         CASE u.st WHEN 1 THEN 'member' WHEN 2 THEN 'moderator' WHEN 3 THEN 'removed' ELSE 'banned' END,
         NULL, NULL, NULL, NULL, as_of
    FROM unnest(member_fids, member_states) AS u(fid, st)
   ORDER BY u.fid
  ON CONFLICT (channel_id, member_fid) DO NOTHING;
  UPDATE waypoint.channel_members t SET
    state = x.state,
    action = CASE WHEN x.same THEN t.action END,
    author_fid = CASE WHEN x.same THEN t.author_fid END,
    message_hash = CASE WHEN x.same THEN t.message_hash END,
    "timestamp" = CASE WHEN x.same THEN t."timestamp" END,
    merge_event = as_of,
    updated_at = CASE WHEN x.same THEN t.updated_at ELSE now() END
  FROM (SELECT c.member_fid, s.state, c.state = s.state AS same
          FROM (SELECT u.fid, CASE u.st WHEN 1 THEN 'member' WHEN 2 THEN 'moderator' WHEN 3 THEN 'removed'
                                        ELSE 'banned' END AS state
                  FROM unnest(member_fids, member_states) AS u(fid, st)) AS s
          JOIN waypoint.channel_members c ON c.channel_id = channel AND c.member_fid = s.fid) AS x
  WHERE t.channel_id = channel AND t.member_fid = x.member_fid AND t.merge_event <= as_of;
  DELETE FROM waypoint.channel_members t
   WHERE t.channel_id = channel AND t.merge_event <= as_of AND t.member_fid <> ALL (member_fids);

  INSERT INTO waypoint.channel_moderations (channel_id, cast_hash, action, hidden, author_fid, message_hash,
                                            "timestamp", merge_event)
  SELECT channel, u.cast_hash, CASE u.act WHEN 1 THEN 'hide' ELSE 'unhide' END, u.act = 1, u.author, NULL, NULL, as_of
    FROM unnest(mod_casts, mod_actions, mod_authors) AS u(cast_hash, act, author)
   ORDER BY u.cast_hash
  ON CONFLICT (channel_id, cast_hash) DO NOTHING;
  UPDATE waypoint.channel_moderations t SET
    action = x.action, hidden = x.hidden,
    author_fid = CASE WHEN x.same THEN t.author_fid ELSE x.author END,
    message_hash = CASE WHEN x.same THEN t.message_hash END,
    "timestamp" = CASE WHEN x.same THEN t."timestamp" END,
    merge_event = as_of,
    updated_at = CASE WHEN x.same THEN t.updated_at ELSE now() END
  FROM (SELECT c.cast_hash, s.action, s.hidden, s.author,
               c.action = s.action AND c.author_fid IS NOT DISTINCT FROM s.author AS same
          FROM (SELECT u.cast_hash, CASE u.act WHEN 1 THEN 'hide' ELSE 'unhide' END AS action, u.act = 1 AS hidden,
                       u.author
                  FROM unnest(mod_casts, mod_actions, mod_authors) AS u(cast_hash, act, author)) AS s
          JOIN waypoint.channel_moderations c ON c.channel_id = channel AND c.cast_hash = s.cast_hash) AS x
  WHERE t.channel_id = channel AND t.cast_hash = x.cast_hash AND t.merge_event <= as_of;
  DELETE FROM waypoint.channel_moderations t
   WHERE t.channel_id = channel AND t.merge_event <= as_of AND t.cast_hash <> ALL (mod_casts);
END
$$;
REVOKE ALL ON FUNCTION waypoint.apply_channel_state(bytea, bigint, text, text, text, text, text, int, int, bytea, bigint,
  bigint[], int[], bytea[], int[], bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.apply_channel_state(bytea, bigint, text, text, text, text, text, int, int, bytea, bigint,
  bigint[], int[], bytea[], int[], bigint[]) IS
  'Internal (the apply workers call it for a channel_state entry): sets one channel''s slots to the state a backfill read as of a data-shard-1 position, keeping later merges and rows that already say the same.';

SELECT waypoint.fill_channels();

-- Thread roots: the resolver no longer runs while a batch is in flight (docs/apply-semantics.md,
-- "Thread roots"); the batches of the new library take the lock in shared mode.
-- The lock that keeps the thread-root resolver and the apply batches apart: every batch
-- takes it in shared mode before its first write, the resolver exclusively (it waits for
-- the batches in flight, and new batches wait for it). extension/src/apply/apply.cpp
-- (NextSequence) writes the same value out; change both together.
CREATE FUNCTION waypoint.thread_roots_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE
AS $$ SELECT 7176716458105632101::bigint $$;
REVOKE ALL ON FUNCTION waypoint.thread_roots_lock_key() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.thread_roots_lock_key() IS
  'Internal: the advisory lock key the apply batches take in shared mode and waypoint.resolve_thread_roots exclusively.';

-- Thread roots after a bulk sync, set-based (docs/storage.md, "Initial sync: bulk mode"):
-- the rule at the top of a thread as one function both resolvers use, the set-based pass
-- and when it is due, and the storage step that runs it before the casts indexes are
-- built (waypoint.thread_roots_rebuild_min is the new library's setting).
-- The thread-root rule at the top of a thread (docs/apply-semantics.md "Thread roots"):
-- the root of a cast whose parent is not held, given the cast's own row. Both resolvers
-- take it from here (inlined: a set-returning SQL function in FROM).
--   - no parent cast: its own root, its parent URL (the channel) as root_url;
--   - a parent cast the node does not hold (deleted, pruned, not seen yet): open at it.
-- A cast whose parent is held has its parent's root.
CREATE FUNCTION waypoint.thread_root_at_top(fid bigint, hash bytea, parent_fid bigint, parent_hash bytea,
                                            parent_url text)
RETURNS TABLE (root_fid bigint, root_hash bytea, root_url text, root_open boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN parent_hash IS NULL THEN fid ELSE parent_fid END,
         CASE WHEN parent_hash IS NULL THEN hash ELSE parent_hash END,
         CASE WHEN parent_hash IS NULL THEN parent_url END,
         parent_hash IS NOT NULL
$$;
REVOKE ALL ON FUNCTION waypoint.thread_root_at_top(bigint, bytea, bigint, bytea, text) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.thread_root_at_top(bigint, bytea, bigint, bytea, text) IS
  'Internal (the thread-root resolvers use it): the thread root of a cast whose parent is not held: its own (with its parent URL) when it replies to no cast, else open at the parent.';

-- Thread roots (docs/apply-semantics.md "Thread roots"). A cast's thread root is the top
-- of its chain of parents as far as the node holds them:
--   - a cast that replies to no cast is its own root (root_url: its parent URL, if any);
--   - a cast whose parent is held (an add, not pruned, revoked or dropped) has its parent's root;
--   - otherwise the thread stops at the parent (deleted, pruned, or not seen yet): root_fid
--     and root_hash name it, root_url is NULL and root_open is true.
-- It depends only on what the node holds, so every arrival order ends with the same roots.
-- The apply sets a first guess in every casts row it writes and queues the rows whose
-- guess may be wrong or that may change other rows (waypoint.cast_thread_queue; the rule is
-- in sql/apply/casts.sql); this function takes up to max_entries queued casts and, for each:
--   1. computes its root by the rule, walking up through parents that are queued too, open
--      or not resolved yet and taking the stored root of the first parent that is none of
--      these (an open root is never copied: where it stops may have come since, unqueued);
--   2. if it is held: the open rows that stopped at it take its root (the parent came);
--   3. if not: the rows whose thread ran through it stop at it (walked down the replies).
-- A closed root read from a row below a death that is still queued may be stale; that
-- death, when its turn comes, corrects it (3 walks down to every row that copied it). That needs one
-- resolver at a time, each step reading what is committed: an advisory lock keeps out a
-- second caller, who returns 0; and no batch in flight meanwhile (thread_roots_lock_key),
-- else a reply a batch is writing, open at a cast another batch just added, is missed by
-- step 2, and its own turn reads a parent whose change this call has not committed yet.
-- It waits while secondary indexes are missing (storage mode not 'live'), since 2 and 3
-- read casts_root_open_idx and casts_parent_hash_idx.
-- A queue that is a large share of the table goes to the set-based pass of the same rule
-- (waypoint.rebuild_thread_roots, below) instead.
-- Every read is a lookup by key from the queued casts (LATERAL ... LIMIT 1 by the primary
-- key, or by those two indexes), and each step writes its changed rows in one statement
-- by primary key, so the cost is per queued cast and does not grow with the table: scans
-- and hash or merge joins are switched off for it, whatever the statistics suggest (a
-- worker caches its plans while the table is still empty, where a scan looks cheaper).
-- Returns the number of queue entries taken.
CREATE OR REPLACE FUNCTION waypoint.resolve_thread_roots(max_entries int DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
-- No JIT: it compiled for 2 s per call for statements of 100 ms.
SET jit = off
AS $$
DECLARE
  taken bigint;
  fids bigint[];
  hashes bytea[];
  c_fid bigint[];
  c_hash bytea[];
  n_fid bigint[];
  n_hash bytea[];
  n_url text[];
  n_open boolean[];
  h_fid bigint[];      -- the queued casts that are held, with their roots after step 1
  h_hash bytea[];
  h_root_fid bigint[];
  h_root_hash bytea[];
  h_root_url text[];
  h_root_open boolean[];
  d_fid bigint[];      -- the queued casts that are not
  d_hash bytea[];
BEGIN
  -- An empty queue returns before the lock below, which would wait for every batch in
  -- flight and hold the next ones back (the workers call this after every round).
  IF (SELECT mode FROM waypoint.storage_mode) <> 'live'
     OR NOT EXISTS (SELECT 1 FROM waypoint.cast_thread_queue)
     OR NOT pg_try_advisory_xact_lock(hashtext('waypoint.resolve_thread_roots')) THEN
    RETURN 0;
  END IF;
  -- A queue that is a large share of the table: one set-based pass instead.
  IF waypoint.thread_roots_rebuild_due() THEN
    RETURN waypoint.rebuild_thread_roots();
  END IF;
  -- No batch in flight while it runs: what it reads is every batch's committed rows, and
  -- no batch copies a root it is about to change.
  PERFORM pg_advisory_xact_lock(waypoint.thread_roots_lock_key());
  WITH d AS (DELETE FROM waypoint.cast_thread_queue
              WHERE ctid = ANY (ARRAY(SELECT ctid FROM waypoint.cast_thread_queue LIMIT max_entries))
             RETURNING fid, hash),
       u AS (SELECT DISTINCT fid, hash FROM d)
  SELECT (SELECT count(*) FROM d), (SELECT array_agg(fid ORDER BY fid, hash) FROM u),
         (SELECT array_agg(hash ORDER BY fid, hash) FROM u)
    INTO taken, fids, hashes;
  IF taken = 0 THEN
    RETURN 0;
  END IF;

  -- 1. The queued casts' own roots.
  WITH RECURSIVE e AS MATERIALIZED (SELECT * FROM unnest(fids, hashes) AS e(fid, hash)),
    walk AS (
      SELECT c.fid AS sfid, c.hash AS shash, c.root_fid AS old_fid, c.root_hash AS old_hash,
             c.root_url AS old_url, c.root_open AS old_open,
             NOT c.removed AND c.pruned_at IS NULL AND c.revoked_at IS NULL AND c.dropped_at IS NULL AS held,
             c.fid, c.hash, c.parent_fid, c.parent_hash, c.parent_url, 0 AS depth
        FROM e CROSS JOIN LATERAL (
               SELECT * FROM waypoint.casts c WHERE c.fid = e.fid AND c.hash = e.hash LIMIT 1) c
      UNION ALL
      SELECT w.sfid, w.shash, w.old_fid, w.old_hash, w.old_url, w.old_open, w.held,
             p.fid, p.hash, p.parent_fid, p.parent_hash, p.parent_url, w.depth + 1
        FROM walk w CROSS JOIN LATERAL (
               SELECT * FROM waypoint.casts p WHERE p.fid = w.parent_fid AND p.hash = w.parent_hash LIMIT 1) p
       WHERE w.parent_hash IS NOT NULL
         AND NOT p.removed AND p.pruned_at IS NULL AND p.revoked_at IS NULL AND p.dropped_at IS NULL
         AND (p.root_hash IS NULL OR p.root_open OR EXISTS (SELECT 1 FROM e WHERE e.fid = p.fid AND e.hash = p.hash))
         AND w.depth < cardinality(fids)
    ),
    top AS (SELECT DISTINCT ON (sfid, shash) * FROM walk ORDER BY sfid, shash, depth DESC),
    -- The top's parent, held with a root: its root; else the rule at the top of a thread.
    n AS (
      SELECT t.sfid, t.shash, t.old_fid, t.old_hash, t.old_url, t.old_open, t.held,
             CASE WHEN p.root_hash IS NOT NULL THEN p.root_fid ELSE r.root_fid END AS root_fid,
             CASE WHEN p.root_hash IS NOT NULL THEN p.root_hash ELSE r.root_hash END AS root_hash,
             CASE WHEN p.root_hash IS NOT NULL THEN p.root_url ELSE r.root_url END AS root_url,
             CASE WHEN p.root_hash IS NOT NULL THEN p.root_open ELSE r.root_open END AS root_open
        FROM top t
        CROSS JOIN LATERAL waypoint.thread_root_at_top(t.fid, t.hash, t.parent_fid, t.parent_hash, t.parent_url) r
        LEFT JOIN LATERAL (
               SELECT * FROM waypoint.casts p WHERE p.fid = t.parent_fid AND p.hash = t.parent_hash LIMIT 1) p
          ON NOT p.removed AND p.pruned_at IS NULL AND p.revoked_at IS NULL AND p.dropped_at IS NULL
    )
  , m AS (SELECT *, (old_fid, old_hash, old_url, old_open) IS DISTINCT FROM (root_fid, root_hash, root_url, root_open)
                      AS changed FROM n)
  SELECT array_agg(sfid) FILTER (WHERE changed), array_agg(shash) FILTER (WHERE changed),
         array_agg(root_fid) FILTER (WHERE changed), array_agg(root_hash) FILTER (WHERE changed),
         array_agg(root_url) FILTER (WHERE changed), array_agg(root_open) FILTER (WHERE changed),
         array_agg(sfid) FILTER (WHERE held), array_agg(shash) FILTER (WHERE held),
         array_agg(root_fid) FILTER (WHERE held), array_agg(root_hash) FILTER (WHERE held),
         array_agg(root_url) FILTER (WHERE held), array_agg(root_open) FILTER (WHERE held),
         array_agg(sfid) FILTER (WHERE NOT held), array_agg(shash) FILTER (WHERE NOT held)
    INTO c_fid, c_hash, n_fid, n_hash, n_url, n_open,
         h_fid, h_hash, h_root_fid, h_root_hash, h_root_url, h_root_open, d_fid, d_hash
    FROM m;
  PERFORM waypoint.set_thread_roots(c_fid, c_hash, n_fid, n_hash, n_url, n_open);

  -- 2. Held queued casts: the open rows that stopped at one continue to its root. That
  -- root, from step 1, may itself stop at another held cast of this call, whose rows this
  -- same step closes: follow such roots through the held casts first (else a row that
  -- stopped at the first would take a root already closed, and stay open for good).
  -- (The held casts are joined with themselves: a hash join, not a loop over the list.)
  PERFORM set_config('enable_hashjoin', 'on', true);
  WITH RECURSIVE h AS MATERIALIZED (
         SELECT * FROM unnest(h_fid, h_hash, h_root_fid, h_root_hash, h_root_url, h_root_open)
                    AS h(fid, hash, root_fid, root_hash, root_url, root_open)),
       f AS (
         SELECT h.fid, h.hash, h.root_fid, h.root_hash, h.root_url, h.root_open, 0 AS depth FROM h
         UNION ALL
         SELECT f.fid, f.hash, y.root_fid, y.root_hash, y.root_url, y.root_open, f.depth + 1
           FROM f JOIN h y ON y.fid = f.root_fid AND y.hash = f.root_hash
          WHERE f.root_open AND f.depth < cardinality(h_fid)),
       x AS (SELECT DISTINCT ON (fid, hash) * FROM f ORDER BY fid, hash, depth DESC)
  SELECT array_agg(fid), array_agg(hash), array_agg(root_fid), array_agg(root_hash), array_agg(root_url),
         array_agg(root_open)
    INTO h_fid, h_hash, h_root_fid, h_root_hash, h_root_url, h_root_open
    FROM x;
  PERFORM set_config('enable_hashjoin', 'off', true);
  SELECT array_agg(m.fid), array_agg(m.hash), array_agg(x.root_fid), array_agg(x.root_hash), array_agg(x.root_url),
         array_agg(x.root_open)
    INTO c_fid, c_hash, n_fid, n_hash, n_url, n_open
      FROM unnest(h_fid, h_hash, h_root_fid, h_root_hash, h_root_url, h_root_open)
           AS x(fid, hash, root_fid, root_hash, root_url, root_open)
      CROSS JOIN LATERAL (
             SELECT c.fid, c.hash, c.root_fid, c.root_hash, c.root_url, c.root_open FROM waypoint.casts c
              WHERE c.root_open AND c.root_hash = x.hash AND c.root_fid = x.fid) m
     WHERE NOT (m.fid = x.fid AND m.hash = x.hash)
       AND (m.root_fid, m.root_hash, m.root_url, m.root_open) IS DISTINCT FROM (x.root_fid, x.root_hash, x.root_url, x.root_open);
  PERFORM waypoint.set_thread_roots(c_fid, c_hash, n_fid, n_hash, n_url, n_open);

  -- 3. Queued casts that are not held: the replies below one (through held replies) stop at it.
  WITH RECURSIVE x AS (SELECT * FROM unnest(d_fid, d_hash) AS x(fid, hash)),
    down AS (
      SELECT x.fid AS xfid, x.hash AS xhash, ch.fid, ch.hash, ch.held, ch.root_fid, ch.root_hash, ch.root_url, ch.root_open
        FROM x CROSS JOIN LATERAL (
               SELECT c.fid, c.hash, c.root_fid, c.root_hash, c.root_url, c.root_open,
                      NOT c.removed AND c.pruned_at IS NULL AND c.revoked_at IS NULL AND c.dropped_at IS NULL AS held
                 FROM waypoint.casts c WHERE c.parent_hash = x.hash AND c.parent_fid = x.fid) ch
      UNION ALL
      SELECT d.xfid, d.xhash, ch.fid, ch.hash, ch.held, ch.root_fid, ch.root_hash, ch.root_url, ch.root_open
        FROM down d CROSS JOIN LATERAL (
               SELECT c.fid, c.hash, c.root_fid, c.root_hash, c.root_url, c.root_open,
                      NOT c.removed AND c.pruned_at IS NULL AND c.revoked_at IS NULL AND c.dropped_at IS NULL AS held
                 FROM waypoint.casts c WHERE c.parent_hash = d.hash AND c.parent_fid = d.fid) ch
       WHERE d.held
    )
  SELECT array_agg(fid), array_agg(hash), array_agg(xfid), array_agg(xhash), array_agg(NULL::text), array_agg(true)
    INTO c_fid, c_hash, n_fid, n_hash, n_url, n_open
    FROM down
   WHERE (root_fid, root_hash, root_url, root_open) IS DISTINCT FROM (xfid, xhash, NULL::text, true);
  PERFORM waypoint.set_thread_roots(c_fid, c_hash, n_fid, n_hash, n_url, n_open);
  RETURN taken;
END
$$;
REVOKE ALL ON FUNCTION waypoint.resolve_thread_roots(int) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.resolve_thread_roots(int) IS
  'Internal (the apply workers call it between batches): resolves the thread roots of up to max_entries queued casts (waypoint.cast_thread_queue) and of the casts whose thread they change; a queue that is a large share of the table (waypoint.thread_roots_rebuild_due()) is resolved by waypoint.rebuild_thread_roots() instead; returns the entries taken, 0 when another caller is resolving or secondary indexes are missing.';

-- The set-based pass of the same rule, for a queue that is a large share of the table
-- (after a bulk sync every cast written meanwhile is queued; an upgrade from 0.4.0 queues
-- every cast): instead of a lookup per queued cast, every cast's root is computed anew
-- from casts alone, in a few hash joins over the whole table, and only the rows whose
-- stored root differs are written. Under the same locks as resolve_thread_roots (one
-- resolver; no batch in flight, so the whole queue is covered and emptied); batches wait
-- for it, their entries in Redis. It reads no secondary index, so it also runs in
-- storage mode 'building' before they are built (waypoint.storage_step).
--   1. thread_up: the casts whose parent is held, with the parent as their pointer. Every
--      other cast is the top of its thread, and its root follows from its own row:
--      itself (no parent cast; root_url its parent URL) or open at its parent.
--   2. pointer jumping: a cast whose pointer is a top (not in thread_up) has that top;
--      one whose pointer already has its top takes it; every other cast's pointer becomes
--      its pointer's pointer. A chain of depth d is done in about log2(d) rounds. (Parent
--      cycles cannot occur, since a hash covers the parent's hash; a self-parent or other
--      cycle in garbage would never reach a top and ends the rounds: below.)
--   3. every cast's root from its top's row; the rows where it differs are written.
-- Returns the number of queue entries emptied, 0 when another caller is resolving.
CREATE FUNCTION waypoint.rebuild_thread_roots() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = on
SET enable_hashjoin = on
SET enable_mergejoin = on
-- Every join but the last update's is of whole tables: hash joins. (The planner cannot
-- know how many pointers lead out of thread_up, and with an estimate of one row it chose
-- a loop over thread_top: 19.6 s instead of 0.2 s for 360k casts.)
SET enable_nestloop = off
SET jit = off
AS $$
DECLARE
  taken bigint;
  pending bigint;
  done bigint;
  rounds int := 0;
  started timestamptz := clock_timestamp();
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('waypoint.resolve_thread_roots')) THEN
    RETURN 0;
  END IF;
  PERFORM pg_advisory_xact_lock(waypoint.thread_roots_lock_key());
  SELECT count(*) INTO taken FROM waypoint.cast_thread_queue;
  -- Hash joins over the whole table: as much memory as an index build gets.
  PERFORM set_config('work_mem', current_setting('maintenance_work_mem'), true);

  -- 1.
  CREATE TEMP TABLE thread_up ON COMMIT DROP AS
    SELECT c.fid, c.hash, c.parent_fid AS up_fid, c.parent_hash AS up_hash
      FROM waypoint.casts c
      JOIN waypoint.casts p ON p.fid = c.parent_fid AND p.hash = c.parent_hash
     WHERE NOT p.removed AND p.pruned_at IS NULL AND p.revoked_at IS NULL AND p.dropped_at IS NULL;
  ANALYZE thread_up;
  CREATE TEMP TABLE thread_top (fid bigint, hash bytea, top_fid bigint, top_hash bytea) ON COMMIT DROP;

  -- 2.
  SELECT count(*) INTO pending FROM thread_up;
  WHILE pending > 0 LOOP
    INSERT INTO thread_top
      SELECT r.fid, r.hash, coalesce(d.top_fid, r.up_fid), coalesce(d.top_hash, r.up_hash)
        FROM thread_up r
        LEFT JOIN thread_top d ON d.fid = r.up_fid AND d.hash = r.up_hash
       WHERE NOT EXISTS (SELECT 1 FROM thread_up q WHERE q.fid = r.up_fid AND q.hash = r.up_hash);
    GET DIAGNOSTICS done = ROW_COUNT;
    EXIT WHEN done = 0;  -- only cycles are left
    rounds := rounds + 1;
    CREATE TEMP TABLE thread_next ON COMMIT DROP AS
      SELECT r.fid, r.hash, q.up_fid, q.up_hash
        FROM thread_up r JOIN thread_up q ON q.fid = r.up_fid AND q.hash = r.up_hash;
    DROP TABLE thread_up;
    ALTER TABLE thread_next RENAME TO thread_up;
    ANALYZE thread_up;
    ANALYZE thread_top;
    pending := pending - done;
  END LOOP;

  -- 3. A cast's top is itself, or the one its pointers reached; its root is the rule's at
  -- that top. (thread_up holds what only cycles left: not here.)
  CREATE TEMP TABLE thread_new ON COMMIT DROP AS
    SELECT x.fid, x.hash, r.root_fid, r.root_hash, r.root_url, r.root_open
      FROM (SELECT c.fid, c.hash, c.root_fid, c.root_hash, c.root_url, c.root_open,
                   CASE WHEN d.fid IS NULL THEN c.fid ELSE d.top_fid END AS top_fid,
                   CASE WHEN d.fid IS NULL THEN c.hash ELSE d.top_hash END AS top_hash,
                   CASE WHEN d.fid IS NULL THEN c.parent_fid ELSE d.top_parent_fid END AS top_parent_fid,
                   CASE WHEN d.fid IS NULL THEN c.parent_hash ELSE d.top_parent_hash END AS top_parent_hash,
                   CASE WHEN d.fid IS NULL THEN c.parent_url ELSE d.top_parent_url END AS top_parent_url
              FROM waypoint.casts c
              LEFT JOIN (SELECT d.fid, d.hash, t.fid AS top_fid, t.hash AS top_hash, t.parent_fid AS top_parent_fid,
                                t.parent_hash AS top_parent_hash, t.parent_url AS top_parent_url
                           FROM thread_top d JOIN waypoint.casts t ON t.fid = d.top_fid AND t.hash = d.top_hash) d
                ON d.fid = c.fid AND d.hash = c.hash
             WHERE NOT EXISTS (SELECT 1 FROM thread_up q WHERE q.fid = c.fid AND q.hash = c.hash)) x
      CROSS JOIN LATERAL waypoint.thread_root_at_top(x.top_fid, x.top_hash, x.top_parent_fid, x.top_parent_hash,
                                                     x.top_parent_url) r
     WHERE (x.root_fid, x.root_hash, x.root_url, x.root_open) IS DISTINCT FROM
           (r.root_fid, r.root_hash, r.root_url, r.root_open);
  ANALYZE thread_new;
  -- (few changed rows: by primary key; many: a hash join)
  PERFORM set_config('enable_nestloop', 'on', true);
  UPDATE waypoint.casts c
     SET root_fid = n.root_fid, root_hash = n.root_hash, root_url = n.root_url, root_open = n.root_open
    FROM thread_new n
   WHERE c.fid = n.fid AND c.hash = n.hash;
  GET DIAGNOSTICS done = ROW_COUNT;
  -- What cycles left (none but in garbage): as the incremental resolver's bounded walk
  -- leaves a self-parent and its replies: the stored root of the cycle's cast, else open
  -- at it.
  IF pending > 0 THEN
    UPDATE waypoint.casts c
       SET root_fid = n.root_fid, root_hash = n.root_hash, root_url = n.root_url, root_open = n.root_open
      FROM (SELECT r.fid, r.hash, coalesce(ap.root_fid, a.parent_fid) AS root_fid,
                   coalesce(ap.root_hash, a.parent_hash) AS root_hash,
                   CASE WHEN ap.root_hash IS NOT NULL THEN ap.root_url END AS root_url,
                   CASE WHEN ap.root_hash IS NOT NULL THEN ap.root_open ELSE true END AS root_open
              FROM thread_up r
              JOIN waypoint.casts a ON a.fid = r.up_fid AND a.hash = r.up_hash
              JOIN waypoint.casts ap ON ap.fid = a.parent_fid AND ap.hash = a.parent_hash) n
     WHERE c.fid = n.fid AND c.hash = n.hash
       AND (c.root_fid, c.root_hash, c.root_url, c.root_open) IS DISTINCT FROM
           (n.root_fid, n.root_hash, n.root_url, n.root_open);
  END IF;
  RAISE LOG 'waypoint: thread roots rebuilt: % queued casts, % casts written, % rounds, in % s', taken, done, rounds,
    round(extract(epoch FROM clock_timestamp() - started)::numeric, 1);
  DROP TABLE thread_up, thread_top, thread_new;
  TRUNCATE waypoint.cast_thread_queue;
  RETURN taken;
END
$$;
REVOKE ALL ON FUNCTION waypoint.rebuild_thread_roots() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.rebuild_thread_roots() IS
  'Internal (waypoint.resolve_thread_roots and waypoint.storage_step call it when waypoint.thread_roots_rebuild_due()): computes every cast''s thread root anew in a few passes over casts, writes the rows that differ and empties waypoint.cast_thread_queue; returns the entries emptied, 0 when another caller is resolving.';

-- Whether the queue is large enough for the set-based pass: at least
-- waypoint.thread_roots_rebuild_min entries and an eighth of the casts (estimated from the
-- table's size). The incremental resolver costs a few index lookups per queued cast, the
-- set-based pass a few sequential passes over the table (bench/notes.md, round 8).
CREATE FUNCTION waypoint.thread_roots_rebuild_due() RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  need bigint;
  casts_estimate float8;
BEGIN
  -- The planner's estimate of the rows of every casts partition (reltuples per page times
  -- the pages it has now; 40 rows a page where it was never analyzed).
  SELECT coalesce(sum(CASE WHEN c.reltuples >= 0 AND c.relpages > 0 THEN c.reltuples / c.relpages ELSE 40 END
                      * (pg_relation_size(c.oid) / current_setting('block_size')::int)), 0)
    INTO casts_estimate
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'waypoint.casts'::regclass;
  need := greatest(coalesce(current_setting('waypoint.thread_roots_rebuild_min', true)::bigint, 10000),
                   (casts_estimate / 8)::bigint, 1);
  -- The queue's size in pages bounds its rows (about 130 a page): count only when it can be enough.
  IF pg_relation_size('waypoint.cast_thread_queue') / current_setting('block_size')::int * 160 < need THEN
    RETURN false;
  END IF;
  RETURN (SELECT count(*) FROM (SELECT 1 FROM waypoint.cast_thread_queue LIMIT need) q) >= need;
END
$$;
REVOKE ALL ON FUNCTION waypoint.thread_roots_rebuild_due() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.thread_roots_rebuild_due() IS
  'Internal: whether waypoint.cast_thread_queue holds at least waypoint.thread_roots_rebuild_min entries and an eighth of the casts, so that waypoint.rebuild_thread_roots() is cheaper than the incremental resolver.';

-- Under a backlog the apply workers call this instead of resolve_thread_roots (a lookup
-- per queued cast and an exclusive lock every round cost a catch-up more than a pass):
-- the set-based pass once it is due, else nothing. Like resolve_thread_roots, only in
-- storage mode 'live' (a bulk sync's queue is taken when it ends).
CREATE FUNCTION waypoint.rebuild_thread_roots_if_due() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF (SELECT mode FROM waypoint.storage_mode) <> 'live' OR NOT waypoint.thread_roots_rebuild_due() THEN
    RETURN 0;
  END IF;
  RETURN waypoint.rebuild_thread_roots();
END
$$;
REVOKE ALL ON FUNCTION waypoint.rebuild_thread_roots_if_due() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.rebuild_thread_roots_if_due() IS
  'Internal (the apply workers call it between the batches of a backlog): waypoint.rebuild_thread_roots() when waypoint.thread_roots_rebuild_due() and the storage mode is live, else nothing; returns the entries emptied.';

-- Called by apply worker `worker` of `workers` between batches, in its own transaction:
-- ends a bulk sync whose job is complete; while building, first resolves the thread roots
-- the bulk sync queued, set-based (waypoint.rebuild_thread_roots, when
-- thread_roots_rebuild_due()), while casts has no secondary index to maintain: one worker
-- does it, the others build the indexes of the other tables meanwhile; then builds one
-- missing index of a table partition this worker owns (remainder % workers = worker) and
-- returns its name; makes the mode live when nothing is missing. Returns NULL when there
-- was nothing to do.
CREATE OR REPLACE FUNCTION waypoint.storage_step(worker int, workers int) RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  st waypoint.storage_mode;
  r record;
  roots_due boolean;
  taken bigint;
BEGIN
  SELECT * INTO st FROM waypoint.storage_mode;
  IF st.mode = 'bulk' AND st.bulk_job_id IS NOT NULL AND EXISTS (
       SELECT 1 FROM waypoint.backfill_progress AS p
        WHERE p.job_id = st.bulk_job_id AND p.state IN ('done', 'done_with_failures')) THEN
    PERFORM waypoint.end_bulk_sync();
    RETURN 'end of bulk sync';
  END IF;
  IF st.mode <> 'building' THEN
    RETURN NULL;
  END IF;
  roots_due := waypoint.thread_roots_rebuild_due();
  IF roots_due THEN
    taken := waypoint.rebuild_thread_roots();
    IF taken > 0 THEN
      RETURN 'thread roots of ' || taken || ' queued casts';
    END IF;
  END IF;
  SELECT * INTO r FROM waypoint.missing_index_partitions() AS m
   WHERE m.remainder % workers = worker AND NOT (roots_due AND m.table_name = 'casts') LIMIT 1;
  IF FOUND THEN
    EXECUTE format('CREATE INDEX %I ON waypoint.%I %s', r.index_name || '_p' || r.remainder, r.partition_name,
                   r.definition);
    EXECUTE format('ALTER INDEX waypoint.%I ATTACH PARTITION waypoint.%I', r.index_name,
                   r.index_name || '_p' || r.remainder);
    RETURN r.index_name || '_p' || r.remainder;
  END IF;
  IF NOT roots_due AND NOT EXISTS (SELECT 1 FROM waypoint.missing_index_partitions()) THEN
    UPDATE waypoint.storage_mode SET mode = 'live', bulk_job_id = NULL, changed_at = now() WHERE mode = 'building';
    RETURN 'live';
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION waypoint.storage_step(int, int) IS
  'Internal (the apply workers call it between batches): ends a bulk sync whose job is complete, resolves the thread roots it queued (set-based, before the casts indexes), builds one missing secondary-index partition of the given worker, or makes the storage mode live.';

COMMENT ON VIEW waypoint.sync_status IS
  'Per data shard: highest event id (and block height) applied from the live stream, the node head the sidecar last saw (height, event id, time), the lag in blocks, and the circuit breakers: node_breaker as the sidecar last reported it (closed, open, half_open; sidecar_seen_at says when), redis_breaker as the extension''s workers see Redis (open while any running worker is disconnected or refuses the server); storage_mode (live, bulk, building: docs/storage.md) and the secondary-index partitions still missing; verify_level, the sidecar''s verification of what it writes (docs/verification.md); thread_roots_pending, casts written whose thread roots are not resolved yet (counted up to a million; the ones a bulk sync queued are resolved in one pass when it ends, before the casts indexes are built, else they wait while storage_mode is not live).';

-- Channel backfill (docs/apply-semantics.md, "Channel backfill"): the type name 'channel'
-- (waypoint.backfill_type_names above) and waypoint.enqueue_backfill_channels().
CREATE FUNCTION waypoint.enqueue_backfill_channels()
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.enqueue_backfill_all(ARRAY['channel']);
COMMENT ON FUNCTION waypoint.enqueue_backfill_channels() IS
  'Queues a backfill of every registered channel''s state (the CHANNEL_REGISTER events and each channel''s metadata, pin, members and moderations as the node reads them) and of no fid, in the caller''s transaction; returns the job id. enqueue_backfill_all() with no types does it too. Requires waypoint_operator.';
REVOKE ALL ON FUNCTION waypoint.enqueue_backfill_channels() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION waypoint.enqueue_backfill_channels() TO waypoint_operator;

-- Channel pass progress: the sidecar reports a job's channel pass as the fid_done of fid 0,
-- and backfill_progress counts a job that reads channels as done only with it (the column
-- channels is new). Sidecars before 0.6.0 did not report it; they read channels before a
-- job's fids, so every job already dispatched counts its pass as done.
COMMENT ON TABLE waypoint.backfill_fid_progress IS
  'One row per fid of a backfill job the sidecar finished (fid_done stream entries); fid 0 is the job''s channel pass; a later report for the same fid replaces an earlier one.';
-- A job that reads channels (its types name channel, or an every-fid job of every type)
-- reports its channel pass as the fid_done of fid 0 (docs/architecture.md): such a job is
-- done once that is in too, and a channels-only job (types exactly channel) has no fids.
CREATE OR REPLACE VIEW waypoint.backfill_progress AS
  WITH p AS (
    SELECT fp.job_id,
           count(*) FILTER (WHERE fp.fid OPERATOR(pg_catalog.<>) 0 AND fp.status OPERATOR(pg_catalog.=) 'ok') AS fids_done,
           count(*) FILTER (WHERE fp.fid OPERATOR(pg_catalog.<>) 0 AND fp.status OPERATOR(pg_catalog.=) 'failed') AS fids_failed,
           sum(fp.messages) AS messages,
           max(fp.reported_at) AS last_report_at,
           max(fp.status) FILTER (WHERE fp.fid OPERATOR(pg_catalog.=) 0) AS channel_pass
      FROM waypoint.backfill_fid_progress AS fp GROUP BY fp.job_id
  ), t AS (
    -- The sidecar counts an all-fid job's fids and sends the total on every fid_start.
    SELECT fs.job_id, max(fs.fids_total) AS fids_total
      FROM waypoint.backfill_fid_starts AS fs GROUP BY fs.job_id
  ), r AS (
    SELECT j.*, coalesce(p.fids_done, 0) AS fids_done, coalesce(p.fids_failed, 0) AS fids_failed,
           coalesce(p.messages, 0)::bigint AS messages, p.last_report_at, p.channel_pass,
           'channel' OPERATOR(pg_catalog.=) ANY (j.types)
             OR (j.fids IS NULL AND cardinality(j.types) OPERATOR(pg_catalog.=) 0) AS reads_channels,
           CASE WHEN j.types OPERATOR(pg_catalog.=) ARRAY['channel']::text[] THEN 0::bigint
                ELSE coalesce(cardinality(j.fids)::bigint, t.fids_total) END AS fids_total,
           extract(epoch FROM p.last_report_at OPERATOR(pg_catalog.-) j.dispatched_at) AS secs
      FROM waypoint.backfill_jobs AS j LEFT JOIN p ON p.job_id OPERATOR(pg_catalog.=) j.job_id
      LEFT JOIN t ON t.job_id OPERATOR(pg_catalog.=) j.job_id
  )
  SELECT r.job_id,
         CASE WHEN r.dispatched_at IS NULL THEN 'queued'
              WHEN r.fids_total IS NOT NULL
               AND r.fids_done OPERATOR(pg_catalog.+) r.fids_failed OPERATOR(pg_catalog.>=) r.fids_total
               AND (r.channel_pass IS NOT NULL OR NOT r.reads_channels) THEN
                CASE WHEN r.fids_failed OPERATOR(pg_catalog.>) 0 OR r.channel_pass OPERATOR(pg_catalog.=) 'failed'
                     THEN 'done_with_failures' ELSE 'done' END
              ELSE 'running' END AS state,
         r.fids IS NULL AS all_fids,
         r.fids_total AS fids_queued,
         r.fids_done, r.fids_failed, r.messages, r.types, r.requested_by, r.created_at,
         r.dispatched_at, r.last_report_at,
         CASE WHEN r.secs OPERATOR(pg_catalog.>) 0
              THEN round(((r.fids_done OPERATOR(pg_catalog.+) r.fids_failed) OPERATOR(pg_catalog./) r.secs)::numeric, 2) END AS fids_per_second,
         CASE WHEN r.secs OPERATOR(pg_catalog.>) 0
              THEN round((r.messages OPERATOR(pg_catalog./) r.secs)::numeric, 1) END AS messages_per_second,
         CASE WHEN r.fids_total IS NOT NULL AND r.secs OPERATOR(pg_catalog.>) 0
               AND r.fids_done OPERATOR(pg_catalog.+) r.fids_failed OPERATOR(pg_catalog.>) 0
              THEN make_interval(secs => greatest(r.fids_total OPERATOR(pg_catalog.-) r.fids_done OPERATOR(pg_catalog.-) r.fids_failed, 0)
                                        OPERATOR(pg_catalog.*) r.secs OPERATOR(pg_catalog./) (r.fids_done OPERATOR(pg_catalog.+) r.fids_failed)) END AS eta,
         CASE WHEN r.reads_channels
              THEN coalesce(r.channel_pass, CASE WHEN r.dispatched_at IS NULL THEN 'queued' ELSE 'running' END) END AS channels
    FROM r;
COMMENT ON VIEW waypoint.backfill_progress IS
  'Per backfill job: state (queued, running, done, done_with_failures), fids queued (for all-fid jobs: as counted by the sidecar, known from the first fid_start on; 0 for a channels-only job)/done/failed, messages written (channel entries included), rates since dispatch, the estimated time left, and for a job that reads channels the outcome of its channel pass (queued, running, ok, failed; NULL when the job reads none).';
-- (After the view: the jobs it shows with a pass not reported yet, by its own rule.)
INSERT INTO waypoint.backfill_fid_progress (job_id, fid, status, messages, reported_at)
SELECT p.job_id, 0, 'ok', 0, p.dispatched_at FROM waypoint.backfill_progress AS p WHERE p.channels = 'running';

-- App key expiry (docs/apply-semantics.md, "Expiry"): the node's TTL anchor from a
-- backfill's key state (sql/apply/app_key_states.sql, compiled into the library), and
-- waypoint.signers' last_used_at, expires_at, expired; active now excludes expired keys.
-- (IF NOT EXISTS: an upgrade from 0.4.0 adds it before its fill, as the upserts of this
-- library write it.)
ALTER TABLE waypoint.app_keys ADD COLUMN IF NOT EXISTS last_used_at timestamptz;
COMMENT ON COLUMN waypoint.app_keys.ttl IS 'Sliding lifetime in seconds: the node refuses messages once the key was unused for this long (waypoint.signers shows expires_at and expired).';
COMMENT ON COLUMN waypoint.app_keys.last_used_at IS 'The node''s anchor of the sliding TTL as a backfill read it from the node''s key state (the KEY_ADD''s timestamp, moved by each message the key signed); NULL for a row from a KEY_ADD message, whose anchor waypoint.signers derives from the messages.';
COMMENT ON VIEW waypoint.app_keys_live IS 'App keys the node holds now (KEY_ADD not removed), one per (fid, key); origin: message (a KEY_ADD the mirror holds, with its hash) or backfill (the node''s key state, no hash or deadline); whether a key has expired by its TTL: waypoint.signers.';
-- Columns after active were added in 0.5.0, last_used_at, expires_at and expired in 0.6.0
-- (CREATE OR REPLACE VIEW keeps views built on it).
-- An app key's TTL slides (docs/apply-semantics.md, "Expiry"): its anchor is the latest of
-- the KEY_ADD's timestamp, the anchor the node's key state gave a backfill, and the newest
-- message of the fid signed by the key that the mirror holds; the node refuses the key's
-- messages once anchor + ttl is past. A ttl of 0 never expires.
CREATE OR REPLACE VIEW waypoint.signers AS
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
