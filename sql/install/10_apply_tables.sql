-- Apply engine: raw messages, one table per node store, proofs and on-chain events.
-- Written by ApplyEntries (extension/src/apply/apply.cpp); see docs/apply-semantics.md
-- and docs/storage.md (the layout and why it keeps its apply rate as it grows).
-- No foreign keys: data arrives in any order and must never stall the pipeline.
-- Every key of per-fid state starts with the fid, and those tables are hash-partitioned
-- by fid in line with the stream partitions (below): an apply worker writes only its own
-- partitions, and a fid's rows sit together in every index.

-- Farcaster time (seconds since 2021-01-01T00:00:00Z) as timestamptz.
CREATE FUNCTION waypoint.farcaster_time(seconds bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.to_timestamp((seconds + 1609459200)::double precision);
COMMENT ON FUNCTION waypoint.farcaster_time(bigint) IS
  'Converts Farcaster seconds (Unix seconds - 1609459200) to timestamptz.';

-- Partitioning by fid: PARTITION BY HASH (fid waypoint.fid_partition_ops) puts fid f in
-- the partition of remainder f % modulus, the same rule as the stream partitions
-- (core routing: fid mod waypoint.partitions), so with as many table partitions as
-- streams, table partition p is written by the worker of stream p alone.
CREATE FUNCTION waypoint.fid_partition_hash(fid bigint, seed bigint) RETURNS bigint
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'waypoint_fid_partition_hash';
REVOKE ALL ON FUNCTION waypoint.fid_partition_hash(bigint, bigint) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.fid_partition_hash(bigint, bigint) IS
  'Internal: hash support function of waypoint.fid_partition_ops: makes hash partition = fid mod modulus (docs/storage.md).';
CREATE FUNCTION waypoint.fid_partition_hash(fid integer, seed bigint) RETURNS bigint
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'waypoint_fid_partition_hash_int4';
REVOKE ALL ON FUNCTION waypoint.fid_partition_hash(integer, bigint) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.fid_partition_hash(integer, bigint) IS
  'Internal: the same as waypoint.fid_partition_hash(bigint, bigint) for an integer fid (WHERE fid = 3 prunes to one partition).';
CREATE OPERATOR CLASS waypoint.fid_partition_ops FOR TYPE bigint USING hash AS
  OPERATOR 1 = (bigint, bigint),
  FUNCTION 2 waypoint.fid_partition_hash(bigint, bigint);
-- Cross-type equality, so that a query's integer literal (fid = 3) also prunes.
ALTER OPERATOR FAMILY waypoint.fid_partition_ops USING hash ADD
  OPERATOR 1 = (bigint, integer),
  OPERATOR 1 = (integer, bigint),
  OPERATOR 1 = (integer, integer),
  FUNCTION 2 (integer, integer) waypoint.fid_partition_hash(integer, bigint);

-- Creates the hash partitions <table>_p0 .. <table>_p(n-1) of a fid-partitioned table.
-- n is waypoint.partitions when the extension is created (8 if the library is not loaded).
CREATE FUNCTION waypoint.create_fid_partitions(parent text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n int := coalesce(nullif(current_setting('waypoint.partitions', true), '')::int, 8);
BEGIN
  FOR i IN 0 .. n - 1 LOOP
    EXECUTE format('CREATE TABLE waypoint.%I PARTITION OF waypoint.%I FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
                   parent || '_p' || i, parent, n, i);
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION waypoint.create_fid_partitions(text) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.create_fid_partitions(text) IS
  'Internal (the install and upgrade scripts call it): creates the hash partitions <table>_p0 .. _p(n-1) of a fid-partitioned table.';

CREATE TABLE waypoint.messages (
  fid bigint NOT NULL,
  hash bytea NOT NULL,
  type smallint NOT NULL,
  "timestamp" timestamptz NOT NULL,
  network smallint NOT NULL,
  signer bytea NOT NULL,
  raw bytea NOT NULL,
  pruned_at timestamptz,
  revoked_at timestamptz,
  dropped_at timestamptz,
  merge_event bigint,
  death_event bigint,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fid, hash)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('messages');
COMMENT ON TABLE waypoint.messages IS
  'Every Farcaster message seen (merged, superseded, pruned, revoked or from backfill), one row per (fid, hash), with the node''s own protobuf bytes. Look a message up by fid and hash: the key starts with the fid.';
COMMENT ON COLUMN waypoint.messages.hash IS 'Message hash (20 bytes, BLAKE3 of the data bytes).';
COMMENT ON COLUMN waypoint.messages.fid IS 'Author fid.';
COMMENT ON COLUMN waypoint.messages.type IS 'MessageType number (1 cast add ... 15 lend storage, 16+ keys/channels).';
COMMENT ON COLUMN waypoint.messages."timestamp" IS 'Message timestamp (Farcaster time converted).';
COMMENT ON COLUMN waypoint.messages.network IS 'FarcasterNetwork number (1 mainnet).';
COMMENT ON COLUMN waypoint.messages.signer IS 'Ed25519 public key that signed the message.';
COMMENT ON COLUMN waypoint.messages.raw IS 'The Message protobuf bytes as the node sent them: any row can be re-derived from it.';
COMMENT ON COLUMN waypoint.messages.pruned_at IS 'Set by a PRUNE_MESSAGE event (earliest event time); history: whether it still applies is decided by merge_event/death_event.';
COMMENT ON COLUMN waypoint.messages.revoked_at IS 'Set by a REVOKE_MESSAGE event (signer removed; earliest event time); history, see pruned_at.';
COMMENT ON COLUMN waypoint.messages.dropped_at IS 'Set when the node reported the message deleted from its store (MERGE_MESSAGE deleted_messages, MERGE_USERNAME_PROOF deleted_username_proof_message); history, see pruned_at.';
COMMENT ON COLUMN waypoint.messages.merge_event IS 'Latest Snapchain event id of a MERGE of this message (NULL: seen only in backfill pages or tombstones).';
COMMENT ON COLUMN waypoint.messages.death_event IS 'Latest Snapchain event id of a tombstone (prune, revoke, superseded). The message is dead when death_event >= coalesce(merge_event, -1): a later merge revives it, a backfill page never does.';
COMMENT ON COLUMN waypoint.messages.first_seen_at IS 'When this database first saw the message.';

-- Store tables share these columns (the winning candidate of the key):
--   message_hash, "timestamp", removed, deleted_at, pruned_at, revoked_at, dropped_at,
--   dropped_reason, confirmed_seq, updated_at
-- event_id is the winner's latest merge event id (waypoint.messages.merge_event).
-- confirmed_seq is the apply sequence of the last batch that offered the current winner;
-- backfill reconciliation (docs/apply-semantics.md) compares it with the sequence at the
-- fid's fid_start.

-- One value per applied batch (taken once per ApplyEntries call); orders batches.
CREATE SEQUENCE waypoint.apply_seq;
COMMENT ON SEQUENCE waypoint.apply_seq IS
  'Apply sequence: one value per applied batch; store rows record the batch that last offered their winner (confirmed_seq).';

CREATE TABLE waypoint.casts (
  fid bigint NOT NULL,
  hash bytea NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  removed boolean NOT NULL,
  deleted_at timestamptz,
  pruned_at timestamptz,
  revoked_at timestamptz,
  dropped_at timestamptz,
  dropped_reason text,
  confirmed_seq bigint NOT NULL DEFAULT 0,
  event_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  text text,
  parent_fid bigint,
  parent_hash bytea,
  parent_url text,
  embeds jsonb,
  mentions bigint[],
  mentions_positions int[],
  cast_type int,
  -- The cast's thread (docs/apply-semantics.md "Thread roots"), kept by
  -- waypoint.resolve_thread_roots(); NULL until it first ran for the row.
  root_fid bigint,
  root_hash bytea,
  root_url text,
  root_open boolean NOT NULL DEFAULT false,
  PRIMARY KEY (fid, hash)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('casts');

-- Casts whose thread root may have to change: every casts row the apply writes is queued
-- here in the same transaction, and waypoint.resolve_thread_roots() works the queue off.
-- A plain heap without an index: rows are appended and taken in any order.
CREATE TABLE waypoint.cast_thread_queue (
  fid bigint NOT NULL,
  hash bytea NOT NULL
);
COMMENT ON TABLE waypoint.cast_thread_queue IS
  'Internal: casts rows written since their thread roots were last resolved (waypoint.resolve_thread_roots()).';

CREATE TABLE waypoint.reactions (
  fid bigint NOT NULL,
  reaction_type int NOT NULL,
  target_key bytea NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  removed boolean NOT NULL,
  deleted_at timestamptz,
  pruned_at timestamptz,
  revoked_at timestamptz,
  dropped_at timestamptz,
  dropped_reason text,
  confirmed_seq bigint NOT NULL DEFAULT 0,
  event_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  target_cast_fid bigint,
  target_cast_hash bytea,
  target_url text,
  PRIMARY KEY (fid, reaction_type, target_key)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('reactions');

CREATE TABLE waypoint.links (
  fid bigint NOT NULL,
  link_type text NOT NULL,
  target_fid bigint NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  removed boolean NOT NULL,
  deleted_at timestamptz,
  pruned_at timestamptz,
  revoked_at timestamptz,
  dropped_at timestamptz,
  dropped_reason text,
  confirmed_seq bigint NOT NULL DEFAULT 0,
  event_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  display_timestamp timestamptz,
  PRIMARY KEY (fid, link_type, target_fid)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('links');

CREATE TABLE waypoint.link_compact_states (
  fid bigint NOT NULL,
  link_type text NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  removed boolean NOT NULL,
  deleted_at timestamptz,
  pruned_at timestamptz,
  revoked_at timestamptz,
  dropped_at timestamptz,
  dropped_reason text,
  confirmed_seq bigint NOT NULL DEFAULT 0,
  event_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  target_fids bigint[] NOT NULL,
  PRIMARY KEY (fid, link_type)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('link_compact_states');

-- Every link compact state ever seen (merged, superseded, pruned, revoked, from pages):
-- each one compacted links on the node when it merged, whether it is the winner or not.
CREATE TABLE waypoint.link_compact_state_history (
  fid bigint NOT NULL,
  link_type text NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  target_fids bigint[] NOT NULL,
  event_id bigint,
  PRIMARY KEY (fid, link_type, message_hash)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('link_compact_state_history');
COMMENT ON TABLE waypoint.link_compact_state_history IS
  'Every link compact state seen per (fid, link_type); links_held hides links any of them compacted away.';
COMMENT ON COLUMN waypoint.link_compact_state_history.event_id IS
  'Latest merge event id of the compact state (NULL: none known); a link merged after it is not compacted by it.';

CREATE TABLE waypoint.verifications (
  fid bigint NOT NULL,
  address bytea NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  removed boolean NOT NULL,
  deleted_at timestamptz,
  pruned_at timestamptz,
  revoked_at timestamptz,
  dropped_at timestamptz,
  dropped_reason text,
  confirmed_seq bigint NOT NULL DEFAULT 0,
  event_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  protocol int NOT NULL,
  claim_signature bytea,
  block_hash bytea,
  verification_type int,
  chain_id bigint,
  PRIMARY KEY (fid, address)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('verifications');

CREATE TABLE waypoint.user_data (
  fid bigint NOT NULL,
  user_data_type int NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  removed boolean NOT NULL,
  deleted_at timestamptz,
  pruned_at timestamptz,
  revoked_at timestamptz,
  dropped_at timestamptz,
  dropped_reason text,
  confirmed_seq bigint NOT NULL DEFAULT 0,
  event_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  value text NOT NULL,
  PRIMARY KEY (fid, user_data_type)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('user_data');

CREATE TABLE waypoint.username_proof_messages (
  name text PRIMARY KEY,
  fid bigint NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  removed boolean NOT NULL,
  deleted_at timestamptz,
  pruned_at timestamptz,
  revoked_at timestamptz,
  dropped_at timestamptz,
  dropped_reason text,
  confirmed_seq bigint NOT NULL DEFAULT 0,
  event_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  proof_fid bigint NOT NULL,
  proof_timestamp timestamptz NOT NULL,
  owner bytea NOT NULL,
  signature bytea NOT NULL,
  proof_type int NOT NULL
);
CREATE INDEX username_proof_messages_fid_idx ON waypoint.username_proof_messages (fid);

CREATE TABLE waypoint.lend_storage (
  fid bigint NOT NULL,
  to_fid bigint NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  removed boolean NOT NULL,
  deleted_at timestamptz,
  pruned_at timestamptz,
  revoked_at timestamptz,
  dropped_at timestamptz,
  dropped_reason text,
  confirmed_seq bigint NOT NULL DEFAULT 0,
  event_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  num_units bigint NOT NULL,
  unit_type int NOT NULL,
  PRIMARY KEY (fid, to_fid)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('lend_storage');

-- App keys (KEY_ADD / KEY_REMOVE, docs/apply-semantics.md "App keys"): one row per
-- (fid, key), the KEY_ADD the node keeps for it, or, once a KEY_REMOVE deleted it, that
-- KEY_ADD marked removed (the node stores no KEY_REMOVE). Written by sql/apply/app_keys.sql,
-- and from the node's key state read by a backfill by sql/apply/app_key_states.sql (such a
-- row has no message: message_hash and deadline are NULL).
CREATE TABLE waypoint.app_keys (
  fid bigint NOT NULL,
  key bytea NOT NULL,
  message_hash bytea,
  "timestamp" timestamptz NOT NULL,
  key_type int NOT NULL,
  scopes int[] NOT NULL,
  ttl bigint NOT NULL,
  nonce bigint NOT NULL,
  deadline bigint,
  request_fid bigint,
  removed boolean NOT NULL,
  removed_at timestamptz,
  remove_hash bytea,
  remove_event bigint,
  dropped_at timestamptz,
  dropped_reason text,
  confirmed_seq bigint NOT NULL DEFAULT 0,
  event_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,  -- (added in 0.6.0, hence last)
  PRIMARY KEY (fid, key)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('app_keys');

CREATE TABLE waypoint.username_proofs (
  name text PRIMARY KEY,
  fid bigint NOT NULL,
  owner bytea NOT NULL,
  signature bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  proof_type int NOT NULL,
  deleted boolean NOT NULL,
  raw bytea NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  confirmed_seq bigint NOT NULL DEFAULT 0,
  reconciled_at timestamptz
);
CREATE INDEX username_proofs_fid_idx ON waypoint.username_proofs (fid);

-- Every username proof seen, with its standing: the latest event that merged it and the
-- latest that deleted it (MERGE_USERNAME_PROOF deleted_username_proof). Alive unless
-- death_event >= coalesce(merge_event, -1); username_proofs keeps the best per name.
CREATE TABLE waypoint.username_proof_standing (
  name text NOT NULL,
  "timestamp" timestamptz NOT NULL,
  signature bytea NOT NULL,
  merge_event bigint,
  death_event bigint,
  PRIMARY KEY (name, "timestamp", signature)
);
COMMENT ON TABLE waypoint.username_proof_standing IS
  'Every username proof seen (name, timestamp, signature) with the latest Snapchain event ids that merged and deleted it; decides whether a proof is alive.';

CREATE TABLE waypoint.onchain_events (
  transaction_hash bytea NOT NULL,
  log_index bigint NOT NULL,
  type int NOT NULL,
  chain_id bigint NOT NULL,
  block_number bigint NOT NULL,
  block_hash bytea NOT NULL,
  block_timestamp timestamptz NOT NULL,
  tx_index bigint NOT NULL,
  fid bigint NOT NULL,
  version int NOT NULL,
  signer_key bytea,
  signer_key_type bigint,
  signer_event_type int,
  signer_metadata bytea,
  signer_metadata_type bigint,
  migrated_at timestamptz,
  id_to bytea,
  id_event_type int,
  id_from bytea,
  id_recovery bytea,
  rent_payer bytea,
  rent_units bigint,
  rent_expiry timestamptz,
  tier_type int,
  tier_for_days bigint,
  tier_payer bytea,
  channel_key text,
  raw bytea NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fid, transaction_hash, log_index)
) PARTITION BY HASH (fid waypoint.fid_partition_ops);
SELECT waypoint.create_fid_partitions('onchain_events');

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

-- Backfill windows: the apply sequence at each fid's fid_start, per job, and what the
-- reconciliation at its fid_done found (docs/apply-semantics.md, "Backfill reconciliation").
CREATE TABLE waypoint.backfill_fid_starts (
  job_id bigint NOT NULL,
  fid bigint NOT NULL,
  start_seq bigint NOT NULL,
  stores text[],
  fids_total bigint,
  started_at timestamptz NOT NULL DEFAULT now(),
  reconciled_at timestamptz,
  reconciled_rows bigint,
  PRIMARY KEY (job_id, fid)
);

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
