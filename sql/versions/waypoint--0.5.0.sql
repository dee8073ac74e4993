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
-- KEY_ADD marked removed (the node stores no KEY_REMOVE). Written by sql/apply/app_keys.sql.
CREATE TABLE waypoint.app_keys (
  fid bigint NOT NULL,
  key bytea NOT NULL,
  message_hash bytea NOT NULL,
  "timestamp" timestamptz NOT NULL,
  key_type int NOT NULL,
  scopes int[] NOT NULL,
  ttl bigint NOT NULL,
  nonce bigint NOT NULL,
  deadline bigint NOT NULL,
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
-- Secondary indexes and the storage mode (docs/storage.md).
--
-- The secondary indexes of the fid-partitioned tables (the ones the documented queries
-- need) are listed here, once. In storage mode 'live' they all exist. For the initial
-- sync of an empty or far-behind mirror, waypoint.begin_bulk_sync() drops them ('bulk':
-- each applied row then costs no random index insert); when the bulk sync ends
-- (waypoint.end_bulk_sync(), or by itself when the backfill job it was given completes)
-- the mode becomes 'building' and each apply worker builds them for its own table
-- partitions, one index at a time between its batches, so no other writer waits on the
-- build; the last one makes the mode 'live' again. The apply never reads these indexes,
-- so exactness does not depend on the mode. The thread-root resolver does read them
-- (casts_parent_hash_idx, casts_root_open_idx): it waits for 'live', and the casts it has
-- to resolve wait in waypoint.cast_thread_queue meanwhile.

CREATE TABLE waypoint.secondary_indexes (
  name text PRIMARY KEY,
  table_name text NOT NULL,
  definition text NOT NULL
);
COMMENT ON TABLE waypoint.secondary_indexes IS
  'Secondary indexes of the fid-partitioned tables (name, table, column list and predicate); dropped during a bulk sync, built again by the apply workers.';
INSERT INTO waypoint.secondary_indexes (name, table_name, definition) VALUES
  ('casts_live_fid_timestamp_idx', 'casts',
   '(fid, "timestamp" DESC) WHERE NOT removed AND pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL'),
  ('casts_parent_hash_idx', 'casts', '(parent_hash, "timestamp") WHERE parent_hash IS NOT NULL'),
  ('casts_parent_url_idx', 'casts', '(parent_url, "timestamp" DESC) WHERE parent_url IS NOT NULL'),
  ('casts_thread_idx', 'casts', '(root_hash, root_fid, "timestamp") WHERE root_hash IS NOT NULL'),
  ('casts_root_open_idx', 'casts', '(root_hash) WHERE root_open'),
  ('reactions_target_cast_idx', 'reactions', '(target_cast_hash, reaction_type) WHERE target_cast_hash IS NOT NULL'),
  ('reactions_target_url_idx', 'reactions', '(target_url, reaction_type) WHERE target_url IS NOT NULL'),
  ('links_target_idx', 'links', '(target_fid, link_type)'),
  ('verifications_address_idx', 'verifications', '(address)'),
  ('user_data_username_idx', 'user_data', '(value) WHERE user_data_type = 6'),
  ('lend_storage_to_fid_idx', 'lend_storage', '(to_fid)'),
  ('onchain_events_fid_type_idx', 'onchain_events', '(fid, type, block_number)'),
  ('onchain_events_signer_key_idx', 'onchain_events', '(signer_key) WHERE signer_key IS NOT NULL');

-- Creates every secondary index (with all its partitions) in one go: at install, and
-- after the upgrade's copy. The workers' partition-by-partition build is storage_step.
CREATE FUNCTION waypoint.create_secondary_indexes() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM waypoint.secondary_indexes ORDER BY name LOOP
    EXECUTE format('CREATE INDEX %I ON waypoint.%I %s', r.name, r.table_name, r.definition);
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION waypoint.create_secondary_indexes() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.create_secondary_indexes() IS
  'Internal (the install and the upgrade from 0.1.0 call it): creates every secondary index listed in waypoint.secondary_indexes, with all its partitions.';
SELECT waypoint.create_secondary_indexes();

CREATE TABLE waypoint.storage_mode (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  mode text NOT NULL CHECK (mode IN ('live', 'bulk', 'building')),
  bulk_job_id bigint,
  changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO waypoint.storage_mode (mode) VALUES ('live');
SELECT pg_catalog.pg_extension_config_dump('waypoint.storage_mode', '');
COMMENT ON TABLE waypoint.storage_mode IS
  'Storage mode: live (every secondary index exists), bulk (dropped for an initial sync), building (the workers are building them). bulk_job_id: the backfill job whose completion ends the bulk sync.';

-- Secondary-index partitions still to build: one row per (index, table partition)
-- without its index. remainder is the partition's fid remainder.
CREATE FUNCTION waypoint.missing_index_partitions(
  OUT index_name text, OUT table_name text, OUT partition_name text, OUT remainder int, OUT definition text)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT si.name, si.table_name, c.relname::text,
         substring(c.relname FROM '_p([0-9]+)$')::int, si.definition
    FROM waypoint.secondary_indexes AS si
    JOIN pg_inherits AS i ON i.inhparent = ('waypoint.' || quote_ident(si.table_name))::regclass
    JOIN pg_class AS c ON c.oid = i.inhrelid
   WHERE NOT EXISTS (
     SELECT 1 FROM pg_inherits AS ii JOIN pg_index AS x ON x.indexrelid = ii.inhrelid
      WHERE ii.inhparent = to_regclass('waypoint.' || quote_ident(si.name)) AND x.indrelid = c.oid)
   ORDER BY 1, 4
$$;
-- Read by storage_state(), so also by the readers of sync_status (granted in 50_control.sql).
REVOKE ALL ON FUNCTION waypoint.missing_index_partitions() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.missing_index_partitions() IS
  'Internal (storage_step and storage_state read it): the secondary-index partitions still to build, one row per index and table partition without it.';

CREATE FUNCTION waypoint.begin_bulk_sync(job_id bigint DEFAULT NULL) RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
BEGIN
  PERFORM 1 FROM waypoint.storage_mode FOR UPDATE;
  FOR r IN SELECT name FROM waypoint.secondary_indexes ORDER BY name LOOP
    EXECUTE format('DROP INDEX IF EXISTS waypoint.%I', r.name);
  END LOOP;
  UPDATE waypoint.storage_mode SET mode = 'bulk', bulk_job_id = job_id, changed_at = now();
  RETURN 'bulk';
END
$$;
COMMENT ON FUNCTION waypoint.begin_bulk_sync(bigint) IS
  'Initial sync of an empty or far-behind mirror: drops the secondary indexes (storage mode bulk). Given a backfill job id, the bulk sync ends by itself when that job is complete; else call waypoint.end_bulk_sync().';

CREATE FUNCTION waypoint.end_bulk_sync() RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  m text;
BEGIN
  SELECT mode INTO m FROM waypoint.storage_mode FOR UPDATE;
  IF m <> 'bulk' THEN
    RETURN m;
  END IF;
  -- The parent index is created empty and invalid (ON ONLY); it becomes valid when the
  -- last partition's index is attached.
  FOR r IN SELECT * FROM waypoint.secondary_indexes ORDER BY name LOOP
    IF to_regclass('waypoint.' || quote_ident(r.name)) IS NULL THEN
      EXECUTE format('CREATE INDEX %I ON ONLY waypoint.%I %s', r.name, r.table_name, r.definition);
    END IF;
  END LOOP;
  UPDATE waypoint.storage_mode SET mode = 'building', changed_at = now();
  RETURN 'building';
END
$$;
COMMENT ON FUNCTION waypoint.end_bulk_sync() IS
  'Ends a bulk sync: the apply workers build the secondary indexes partition by partition (storage mode building, then live).';

-- Called by apply worker `worker` of `workers` between batches, in its own transaction:
-- ends a bulk sync whose job is complete; while building, builds one missing index of a
-- table partition this worker owns (remainder % workers = worker) and returns its name;
-- makes the mode live when nothing is missing. Returns NULL when there was nothing to do.
CREATE FUNCTION waypoint.storage_step(worker int, workers int) RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  st waypoint.storage_mode;
  r record;
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
  SELECT * INTO r FROM waypoint.missing_index_partitions() AS m
   WHERE m.remainder % workers = worker LIMIT 1;
  IF FOUND THEN
    EXECUTE format('CREATE INDEX %I ON waypoint.%I %s', r.index_name || '_p' || r.remainder, r.partition_name,
                   r.definition);
    EXECUTE format('ALTER INDEX waypoint.%I ATTACH PARTITION waypoint.%I', r.index_name,
                   r.index_name || '_p' || r.remainder);
    RETURN r.index_name || '_p' || r.remainder;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM waypoint.missing_index_partitions()) THEN
    UPDATE waypoint.storage_mode SET mode = 'live', bulk_job_id = NULL, changed_at = now() WHERE mode = 'building';
    RETURN 'live';
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION waypoint.storage_step(int, int) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.storage_step(int, int) IS
  'Internal (the apply workers call it between batches): ends a bulk sync whose job is complete, builds one missing secondary-index partition of the given worker, or makes the storage mode live.';

-- What waypoint.sync_status shows of the storage mode.
CREATE FUNCTION waypoint.storage_state(OUT storage_mode text, OUT indexes_missing bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT s.mode, (SELECT count(*) FROM waypoint.missing_index_partitions()) FROM waypoint.storage_mode AS s
$$;
COMMENT ON FUNCTION waypoint.storage_state() IS
  'The storage mode (live, bulk, building: docs/storage.md) and how many secondary-index partitions are still missing, as waypoint.sync_status shows them.';
-- Comments on the apply tables (their columns are documented here, next to no code).
COMMENT ON TABLE waypoint.casts IS 'Casts, one row per (fid, cast hash): the cast add, or the remove that deleted it (a remove always wins).';
COMMENT ON COLUMN waypoint.casts.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.casts.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.casts."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.casts.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.casts.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.casts.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.casts.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.casts.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.casts.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.casts.hash IS 'The casts hash (key): the adds own hash, or the target of a remove.';
COMMENT ON COLUMN waypoint.casts.text IS 'Cast text (NUL characters stripped); NULL when removed.';
COMMENT ON COLUMN waypoint.casts.parent_fid IS 'Fid of the parent cast (replies).';
COMMENT ON COLUMN waypoint.casts.parent_hash IS 'Hash of the parent cast (replies).';
COMMENT ON COLUMN waypoint.casts.parent_url IS 'Parent URL (channel casts).';
COMMENT ON COLUMN waypoint.casts.embeds IS 'Embeds as JSON: [{"url": ...}, {"cast_id": {"fid": n, "hash": "hex"}}].';
COMMENT ON COLUMN waypoint.casts.mentions IS 'Mentioned fids.';
COMMENT ON COLUMN waypoint.casts.mentions_positions IS 'Byte positions of the mentions in text.';
COMMENT ON COLUMN waypoint.casts.cast_type IS 'CastType (0 cast, 1 long cast, 2 10k cast).';
COMMENT ON COLUMN waypoint.casts.root_fid IS 'Thread root: fid of the top cast of this cast''s thread (the cast itself when it replies to no cast). When an ancestor is not held by the node (deleted, pruned, or never seen), the thread stops at it: root_fid/root_hash name that ancestor and root_open is true.';
COMMENT ON COLUMN waypoint.casts.root_hash IS 'Thread root: hash of the top cast (see root_fid). Index: casts_thread_idx (the whole thread of a cast).';
COMMENT ON COLUMN waypoint.casts.root_url IS 'Thread root: the parent URL (channel) of the top cast, when the top cast is held; NULL otherwise.';
COMMENT ON COLUMN waypoint.casts.root_open IS 'True when the thread stops at an ancestor the node does not hold (root_fid/root_hash name it); it closes when that cast arrives.';
COMMENT ON TABLE waypoint.reactions IS 'Reactions, one row per (fid, reaction_type, target): the latest like/recast or its removal.';
COMMENT ON COLUMN waypoint.reactions.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.reactions.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.reactions."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.reactions.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.reactions.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.reactions.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.reactions.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.reactions.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.reactions.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.reactions.reaction_type IS 'ReactionType (1 like, 2 recast).';
COMMENT ON COLUMN waypoint.reactions.target_key IS 'Opaque encoding of the target (cast fid and hash, or url); part of the key.';
COMMENT ON COLUMN waypoint.reactions.target_cast_fid IS 'Fid of the target cast.';
COMMENT ON COLUMN waypoint.reactions.target_cast_hash IS 'Hash of the target cast.';
COMMENT ON COLUMN waypoint.reactions.target_url IS 'Target URL.';
COMMENT ON TABLE waypoint.links IS 'Links (follows), one row per (fid, link_type, target_fid): the latest add or remove.';
COMMENT ON COLUMN waypoint.links.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.links.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.links."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.links.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.links.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.links.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.links.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.links.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.links.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.links.link_type IS 'Link type, e.g. follow.';
COMMENT ON COLUMN waypoint.links.target_fid IS 'Followed fid.';
COMMENT ON COLUMN waypoint.links.display_timestamp IS 'Display timestamp of the link, when set.';
COMMENT ON TABLE waypoint.link_compact_states IS 'Link compact state per (fid, link_type): links at or before its timestamp whose target is not listed are compacted away (see links_live).';
COMMENT ON COLUMN waypoint.link_compact_states.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.link_compact_states.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.link_compact_states."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.link_compact_states.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.link_compact_states.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.link_compact_states.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.link_compact_states.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.link_compact_states.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.link_compact_states.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.link_compact_states.link_type IS 'Link type.';
COMMENT ON COLUMN waypoint.link_compact_states.target_fids IS 'Targets kept by the compaction.';
COMMENT ON TABLE waypoint.verifications IS 'Verified addresses (Ethereum and Solana), one row per (fid, address).';
COMMENT ON COLUMN waypoint.verifications.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.verifications.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.verifications."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.verifications.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.verifications.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.verifications.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.verifications.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.verifications.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.verifications.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.verifications.address IS 'Address bytes (20 Ethereum, 32 Solana).';
COMMENT ON COLUMN waypoint.verifications.protocol IS 'Protocol (0 Ethereum, 1 Solana).';
COMMENT ON COLUMN waypoint.verifications.claim_signature IS 'Claim signature.';
COMMENT ON COLUMN waypoint.verifications.block_hash IS 'Block hash of the claim.';
COMMENT ON COLUMN waypoint.verifications.verification_type IS 'Verification type (0 EOA, 1 contract).';
COMMENT ON COLUMN waypoint.verifications.chain_id IS 'Chain id (contract verifications).';
COMMENT ON TABLE waypoint.user_data IS 'Profile fields, one row per (fid, user_data_type): the latest value.';
COMMENT ON COLUMN waypoint.user_data.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.user_data.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.user_data."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.user_data.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.user_data.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.user_data.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.user_data.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.user_data.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.user_data.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.user_data.user_data_type IS 'UserDataType (1 pfp, 2 display, 3 bio, 5 url, 6 username, 7 location, 8 twitter, 9 github, 10 banner, 11/12 primary address, 13 profile token, 14 live at).';
COMMENT ON COLUMN waypoint.user_data.value IS 'Field value.';
COMMENT ON TABLE waypoint.username_proof_messages IS 'Username proofs submitted as messages (type 12: ENS, basenames), one row per name.';
COMMENT ON COLUMN waypoint.username_proof_messages.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.username_proof_messages.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.username_proof_messages."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.username_proof_messages.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.username_proof_messages.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.username_proof_messages.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.username_proof_messages.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.username_proof_messages.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.username_proof_messages.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.username_proof_messages.name IS 'The name (key).';
COMMENT ON COLUMN waypoint.username_proof_messages.proof_fid IS 'Fid named in the proof.';
COMMENT ON COLUMN waypoint.username_proof_messages.proof_timestamp IS 'Proof timestamp (Unix seconds).';
COMMENT ON COLUMN waypoint.username_proof_messages.owner IS 'Owner address.';
COMMENT ON COLUMN waypoint.username_proof_messages.signature IS 'Proof signature.';
COMMENT ON COLUMN waypoint.username_proof_messages.proof_type IS 'UserNameType (1 fname, 2 ENS, 3 basename).';
COMMENT ON TABLE waypoint.lend_storage IS 'Storage lends, one row per (fid, to_fid): the latest lend.';
COMMENT ON COLUMN waypoint.lend_storage.fid IS 'Author fid (the keys owner).';
COMMENT ON COLUMN waypoint.lend_storage.message_hash IS 'Hash of the winning message for this key (highest by the store order).';
COMMENT ON COLUMN waypoint.lend_storage."timestamp" IS 'Timestamp of the winning message (Farcaster time converted).';
COMMENT ON COLUMN waypoint.lend_storage.removed IS 'True when the winning message is a remove.';
COMMENT ON COLUMN waypoint.lend_storage.deleted_at IS 'Time of the winning remove; NULL when the winner is an add.';
COMMENT ON COLUMN waypoint.lend_storage.pruned_at IS 'Set while the winning message is dead by a prune (from waypoint.messages; cleared if it is merged again).';
COMMENT ON COLUMN waypoint.lend_storage.revoked_at IS 'Set when the winning message was revoked (its signer was removed).';
COMMENT ON COLUMN waypoint.lend_storage.dropped_at IS 'Set when the node reported the winning message deleted from its store.';
COMMENT ON COLUMN waypoint.lend_storage.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN waypoint.lend_storage.to_fid IS 'Borrowing fid.';
COMMENT ON COLUMN waypoint.lend_storage.num_units IS 'Units lent (0 revokes).';
COMMENT ON COLUMN waypoint.lend_storage.unit_type IS 'StorageUnitType (0 legacy, 1 2024, 2 2025).';
COMMENT ON TABLE waypoint.username_proofs IS 'Username proofs from MERGE_USERNAME_PROOF events and fname backfill, one row per name: the highest proof by (timestamp, signature).';
COMMENT ON COLUMN waypoint.username_proofs.name IS 'The name (key).';
COMMENT ON COLUMN waypoint.username_proofs.fid IS 'Current holder; 0 means released.';
COMMENT ON COLUMN waypoint.username_proofs.owner IS 'Owner address.';
COMMENT ON COLUMN waypoint.username_proofs.signature IS 'Proof signature.';
COMMENT ON COLUMN waypoint.username_proofs."timestamp" IS 'Proof timestamp (Unix seconds).';
COMMENT ON COLUMN waypoint.username_proofs.proof_type IS 'UserNameType (1 fname, 2 ENS, 3 basename).';
COMMENT ON COLUMN waypoint.username_proofs.deleted IS 'The node reported this proof deleted (it holds no proof for the name).';
COMMENT ON COLUMN waypoint.username_proofs.raw IS 'UserNameProof bytes.';
COMMENT ON COLUMN waypoint.username_proofs.updated_at IS 'When this row last changed.';
COMMENT ON TABLE waypoint.onchain_events IS 'On-chain events, one row per (transaction_hash, log_index) whatever number of shards sent it.';
COMMENT ON COLUMN waypoint.onchain_events.transaction_hash IS 'Transaction hash.';
COMMENT ON COLUMN waypoint.onchain_events.log_index IS 'Log index.';
COMMENT ON COLUMN waypoint.onchain_events.type IS 'OnChainEventType (1 signer, 2 signer migrated, 3 id register, 4 storage rent, 5 tier purchase, 6 channel register).';
COMMENT ON COLUMN waypoint.onchain_events.chain_id IS 'Chain id.';
COMMENT ON COLUMN waypoint.onchain_events.block_number IS 'Block number.';
COMMENT ON COLUMN waypoint.onchain_events.block_hash IS 'Block hash.';
COMMENT ON COLUMN waypoint.onchain_events.block_timestamp IS 'Block time (Unix seconds).';
COMMENT ON COLUMN waypoint.onchain_events.tx_index IS 'Transaction index.';
COMMENT ON COLUMN waypoint.onchain_events.fid IS 'Fid.';
COMMENT ON COLUMN waypoint.onchain_events.version IS 'Event version.';
COMMENT ON COLUMN waypoint.onchain_events.signer_key IS 'Signer: key.';
COMMENT ON COLUMN waypoint.onchain_events.signer_key_type IS 'Signer: key type.';
COMMENT ON COLUMN waypoint.onchain_events.signer_event_type IS 'Signer: 1 add, 2 remove, 3 admin reset.';
COMMENT ON COLUMN waypoint.onchain_events.signer_metadata IS 'Signer: metadata (NULL when empty).';
COMMENT ON COLUMN waypoint.onchain_events.signer_metadata_type IS 'Signer: metadata type.';
COMMENT ON COLUMN waypoint.onchain_events.migrated_at IS 'Signer migrated: time.';
COMMENT ON COLUMN waypoint.onchain_events.id_to IS 'Id register: to address.';
COMMENT ON COLUMN waypoint.onchain_events.id_event_type IS 'Id register: 1 register, 2 transfer, 3 change recovery.';
COMMENT ON COLUMN waypoint.onchain_events.id_from IS 'Id register: from address.';
COMMENT ON COLUMN waypoint.onchain_events.id_recovery IS 'Id register: recovery address.';
COMMENT ON COLUMN waypoint.onchain_events.rent_payer IS 'Storage rent: payer.';
COMMENT ON COLUMN waypoint.onchain_events.rent_units IS 'Storage rent: units.';
COMMENT ON COLUMN waypoint.onchain_events.rent_expiry IS 'Storage rent: expiry.';
COMMENT ON COLUMN waypoint.onchain_events.tier_type IS 'Tier purchase: tier (1 Pro).';
COMMENT ON COLUMN waypoint.onchain_events.tier_for_days IS 'Tier purchase: days.';
COMMENT ON COLUMN waypoint.onchain_events.tier_payer IS 'Tier purchase: payer.';
COMMENT ON COLUMN waypoint.onchain_events.channel_key IS 'Channel register: channel key.';
COMMENT ON COLUMN waypoint.onchain_events.raw IS 'OnChainEvent bytes.';
COMMENT ON COLUMN waypoint.onchain_events.first_seen_at IS 'When this database first saw the event.';

-- Reconciliation columns (docs/apply-semantics.md, "Backfill reconciliation").
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['casts', 'reactions', 'links', 'link_compact_states', 'verifications', 'user_data',
                           'username_proof_messages', 'lend_storage'] LOOP
    EXECUTE format('COMMENT ON COLUMN waypoint.%I.dropped_reason IS %L', t,
      'Why dropped_at is set: deleted (the node reported the winner deleted) or reconciled (a completed backfill of the fid did not return it: the node no longer holds it). Cleared when the winner is offered again.');
    EXECUTE format('COMMENT ON COLUMN waypoint.%I.event_id IS %L', t,
      'Latest Snapchain event id that merged the current winner (NULL: known from backfill pages or tombstones only).');
    EXECUTE format('COMMENT ON COLUMN waypoint.%I.confirmed_seq IS %L', t,
      'waypoint.apply_seq value of the last batch that offered the current winner (0 = before reconciliation existed).');
  END LOOP;
END $$;
COMMENT ON COLUMN waypoint.username_proofs.confirmed_seq IS
  'waypoint.apply_seq value of the last batch that offered the current proof.';
COMMENT ON COLUMN waypoint.username_proofs.reconciled_at IS
  'Set when a completed backfill of the holder fid did not return this proof (the node no longer holds it); cleared when the proof is offered again. Such names are not in waypoint.fnames.';
COMMENT ON TABLE waypoint.backfill_fid_starts IS
  'Per backfill job and fid: the apply sequence at its fid_start marker; at fid_done (status ok) rows of the fid not offered since then are reconciled (marked gone).';
COMMENT ON COLUMN waypoint.backfill_fid_starts.job_id IS 'Backfill job id.';
COMMENT ON COLUMN waypoint.backfill_fid_starts.fid IS 'Backfilled fid.';
COMMENT ON COLUMN waypoint.backfill_fid_starts.start_seq IS 'waypoint.apply_seq of the batch that applied the latest fid_start of this (job, fid).';
COMMENT ON COLUMN waypoint.backfill_fid_starts.stores IS 'Stores being backfilled (sidecar names: cast, reaction, link, ...); empty = all.';
COMMENT ON COLUMN waypoint.backfill_fid_starts.fids_total IS 'Number of fids of the job as the sidecar counted them (all-fid jobs included).';
COMMENT ON COLUMN waypoint.backfill_fid_starts.started_at IS 'When the latest fid_start was applied.';
COMMENT ON COLUMN waypoint.backfill_fid_starts.reconciled_at IS 'When the fid_done (status ok) reconciliation ran.';
COMMENT ON COLUMN waypoint.backfill_fid_starts.reconciled_rows IS 'Rows that reconciliation marked gone (store rows and username proofs).';
COMMENT ON TABLE waypoint.held_messages IS
  'Verification level full: entries whose message is signed by a key not (yet) added for its fid, not applied; applied and removed from here when the key''s on-chain add is (docs/verification.md).';

-- App keys (KEY_ADD / KEY_REMOVE).
COMMENT ON TABLE waypoint.app_keys IS
  'App keys (KEY_ADD, message type 16), one row per (fid, key): the KEY_ADD the node keeps (the latest merged: a later KEY_ADD of the key replaces it), or the last one, marked removed, once a KEY_REMOVE (type 17) deleted it; a removed key may be added again (docs/apply-semantics.md, "App keys").';
COMMENT ON COLUMN waypoint.app_keys.fid IS 'Fid the key signs for.';
COMMENT ON COLUMN waypoint.app_keys.key IS 'Ed25519 public key (32 bytes).';
COMMENT ON COLUMN waypoint.app_keys.message_hash IS 'Hash of the winning KEY_ADD.';
COMMENT ON COLUMN waypoint.app_keys."timestamp" IS 'Timestamp of the winning KEY_ADD (Farcaster time converted): when the key was added or last upserted.';
COMMENT ON COLUMN waypoint.app_keys.key_type IS 'Key type (1 Ed25519).';
COMMENT ON COLUMN waypoint.app_keys.scopes IS 'MessageType values the key may sign.';
COMMENT ON COLUMN waypoint.app_keys.ttl IS 'Sliding lifetime in seconds: the node refuses messages once the key was unused for this long (not tracked by the mirror).';
COMMENT ON COLUMN waypoint.app_keys.nonce IS 'The fid''s user nonce the KEY_ADD consumed.';
COMMENT ON COLUMN waypoint.app_keys.deadline IS 'Deadline of the custody signature (Unix seconds).';
COMMENT ON COLUMN waypoint.app_keys.request_fid IS 'Fid of the app that requested the key (SignedKeyRequest metadata); NULL when the metadata does not decode.';
COMMENT ON COLUMN waypoint.app_keys.removed IS 'True when the node no longer holds the KEY_ADD (a KEY_REMOVE deleted it).';
COMMENT ON COLUMN waypoint.app_keys.removed_at IS 'Timestamp of the KEY_REMOVE that deleted the winning KEY_ADD.';
COMMENT ON COLUMN waypoint.app_keys.remove_hash IS 'Hash of that KEY_REMOVE (kept in waypoint.messages; the node does not store it).';
COMMENT ON COLUMN waypoint.app_keys.remove_event IS 'Snapchain event id that deleted the winning KEY_ADD, while removed.';
COMMENT ON COLUMN waypoint.app_keys.dropped_at IS 'When the node reported the winning KEY_ADD deleted (event time), while removed.';
COMMENT ON COLUMN waypoint.app_keys.dropped_reason IS 'deleted while removed (app keys are never reconciled: a backfill cannot read KEY_ADD messages).';
COMMENT ON COLUMN waypoint.app_keys.confirmed_seq IS 'waypoint.apply_seq value of the last batch that offered the current winner.';
COMMENT ON COLUMN waypoint.app_keys.event_id IS 'Latest Snapchain event id that merged the winning KEY_ADD.';
COMMENT ON COLUMN waypoint.app_keys.updated_at IS 'When this row last changed.';
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
CREATE VIEW waypoint.app_keys_live AS
  SELECT fid, key, key_type, scopes, ttl, nonce, request_fid, deadline, message_hash AS hash, "timestamp"
  FROM waypoint.app_keys
  WHERE NOT removed;
COMMENT ON VIEW waypoint.app_keys_live IS 'App keys the node holds now (KEY_ADD not removed), one per (fid, key); expiry by TTL is not tracked.';

-- Columns after active were added in 0.5.0 (CREATE OR REPLACE VIEW keeps views built on it).
CREATE VIEW waypoint.signers AS
  SELECT fid, signer_key AS key, max(signer_key_type) AS key_type,
         min(block_timestamp) FILTER (WHERE signer_event_type = 1) AS added_at,
         min(block_timestamp) FILTER (WHERE signer_event_type IN (2, 3)) AS removed_at,
         bool_or(signer_event_type = 1) AND NOT bool_or(signer_event_type IN (2, 3)) AS active,
         'onchain'::text AS source, NULL::int[] AS scopes, NULL::bigint AS ttl
  FROM waypoint.onchain_events WHERE type = 1
  GROUP BY fid, signer_key
  UNION ALL
  SELECT fid, key, key_type::bigint, "timestamp", CASE WHEN removed THEN coalesce(removed_at, dropped_at) END,
         NOT removed, 'app', scopes, ttl
  FROM waypoint.app_keys;
COMMENT ON VIEW waypoint.signers IS 'Every key a fid may sign with now or could before, one row per (fid, key, source): source onchain (key registry events: added, removed by remove or admin reset) or app (KEY_ADD messages, with their scopes and ttl; removed by KEY_REMOVE). active: may sign now (app keys: expiry by TTL not tracked). Verification level full applies a message once its signer is a key of its fid here (docs/verification.md).';
-- Apply engine functions.

CREATE FUNCTION waypoint.apply_payloads(kinds text[], payloads bytea[])
RETURNS TABLE (ord int, applied boolean, reason text)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'waypoint_apply_payloads';
REVOKE ALL ON FUNCTION waypoint.apply_payloads(text[], bytea[]) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.apply_payloads(text[], bytea[]) IS
  'Superuser test surface: applies raw payloads (kind event = HubEvent, message = Message, onchain = OnChainEvent, fname = UserNameProof, fid_start/<job>/<fid> and fid_done/<job>/<fid> backfill markers, whose payload is their JSON) exactly as the apply workers do, inside the caller''s transaction. One result row per payload; applied = false with the reason for rejected (undecodable or invalid) payloads.';

-- Writes thread roots by primary key: one statement for the rows a step changed.
CREATE FUNCTION waypoint.set_thread_roots(fids bigint[], hashes bytea[], root_fids bigint[], root_hashes bytea[],
                                          root_urls text[], root_opens boolean[]) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET jit = off
AS $$
  UPDATE waypoint.casts c
     SET root_fid = u.root_fid, root_hash = u.root_hash, root_url = u.root_url, root_open = u.root_open
    FROM unnest(fids, hashes, root_fids, root_hashes, root_urls, root_opens)
         AS u(fid, hash, root_fid, root_hash, root_url, root_open)
   WHERE c.fid = u.fid AND c.hash = u.hash
$$;
REVOKE ALL ON FUNCTION waypoint.set_thread_roots(bigint[], bytea[], bigint[], bytea[], text[], boolean[]) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.set_thread_roots(bigint[], bytea[], bigint[], bytea[], text[], boolean[]) IS
  'Internal (waypoint.resolve_thread_roots calls it): sets the thread roots of the given casts.';

-- Thread roots (docs/apply-semantics.md "Thread roots"). A cast's thread root is the top
-- of its chain of parents as far as the node holds them:
--   - a cast that replies to no cast is its own root (root_url: its parent URL, if any);
--   - a cast whose parent is held (an add, not pruned, revoked or dropped) has its parent's root;
--   - otherwise the thread stops at the parent (deleted, pruned, or not seen yet): root_fid
--     and root_hash name it, root_url is NULL and root_open is true.
-- It depends only on what the node holds, so every arrival order ends with the same roots.
-- The apply queues every casts row it writes (waypoint.cast_thread_queue) and sets a first
-- guess; this function takes up to max_entries queued casts and, for each:
--   1. computes its root by the rule, walking up through parents that are queued too or
--      not resolved yet and taking the stored root of the first parent that is neither;
--   2. if it is held: the open rows that stopped at it take its root (the parent came);
--   3. if not: the rows whose thread ran through it stop at it (walked down the replies).
-- A root read from a row whose own change is still queued may be stale; the queued change
-- corrects it when its turn comes (2 and 3 find every row that copied it). That needs one
-- resolver at a time, each step reading what is committed: an advisory lock keeps out a
-- second caller, who returns 0. It waits while secondary indexes are missing (storage mode
-- not 'live'), since 2 and 3 read casts_root_open_idx and casts_parent_hash_idx.
-- Every read is a lookup by key from the queued casts (LATERAL ... LIMIT 1 by the primary
-- key, or by those two indexes), and each step writes its changed rows in one statement
-- by primary key, so the cost is per queued cast and does not grow with the table: scans
-- and hash or merge joins are switched off for it, whatever the statistics suggest (a
-- worker caches its plans while the table is still empty, where a scan looks cheaper).
-- Returns the number of queue entries taken.
CREATE FUNCTION waypoint.resolve_thread_roots(max_entries int DEFAULT 10000) RETURNS bigint
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
  IF (SELECT mode FROM waypoint.storage_mode) <> 'live'
     OR NOT pg_try_advisory_xact_lock(hashtext('waypoint.resolve_thread_roots')) THEN
    RETURN 0;
  END IF;
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
         AND (p.root_hash IS NULL OR EXISTS (SELECT 1 FROM e WHERE e.fid = p.fid AND e.hash = p.hash))
         AND w.depth < cardinality(fids)
    ),
    top AS (SELECT DISTINCT ON (sfid, shash) * FROM walk ORDER BY sfid, shash, depth DESC),
    n AS (
      SELECT t.sfid, t.shash, t.old_fid, t.old_hash, t.old_url, t.old_open, t.held,
             CASE WHEN t.parent_hash IS NULL THEN t.fid WHEN p.root_hash IS NOT NULL THEN p.root_fid ELSE t.parent_fid END AS root_fid,
             CASE WHEN t.parent_hash IS NULL THEN t.hash WHEN p.root_hash IS NOT NULL THEN p.root_hash ELSE t.parent_hash END AS root_hash,
             CASE WHEN t.parent_hash IS NULL THEN t.parent_url WHEN p.root_hash IS NOT NULL THEN p.root_url END AS root_url,
             CASE WHEN t.parent_hash IS NULL THEN false WHEN p.root_hash IS NOT NULL THEN p.root_open ELSE true END AS root_open
        FROM top t
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

  -- 2. Held queued casts: the open rows that stopped at one continue to its root.
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
  'Internal (the apply workers call it between batches): resolves the thread roots of up to max_entries queued casts (waypoint.cast_thread_queue) and of the casts whose thread they change; returns the entries taken, 0 when another caller is resolving or secondary indexes are missing.';

-- The database's state as text lines, to compare with the node (docs/state-lines.md).
CREATE FUNCTION waypoint.state_lines() RETURNS SETOF text
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
    SELECT 'msg' || E'\t' || 'app_key' || E'\t' || encode(message_hash, 'hex') FROM waypoint.app_keys WHERE NOT removed
    UNION ALL
    SELECT 'onchain' || E'\t' || type || E'\t' || fid || E'\t' || encode(transaction_hash, 'hex') || E'\t' || log_index
      FROM waypoint.onchain_events
    UNION ALL
    SELECT 'fname' || E'\t' || name || E'\t' || fid FROM waypoint.username_proofs
      WHERE NOT deleted AND fid <> 0 AND reconciled_at IS NULL
  ) s
  ORDER BY line COLLATE "C";
$$;
COMMENT ON FUNCTION waypoint.state_lines() IS
  'The mirror''s state as sorted tab-separated lines (docs/state-lines.md), for comparison with the node''s own dump.';

-- Farcaster data is public: every role may read the mirror (Redis-backed and control
-- objects carry their own grants). Writing stays with the apply workers.
GRANT USAGE ON SCHEMA waypoint TO PUBLIC;
GRANT SELECT ON waypoint.messages, waypoint.casts, waypoint.reactions, waypoint.links,
  waypoint.link_compact_states, waypoint.link_compact_state_history, waypoint.verifications, waypoint.user_data,
  waypoint.username_proof_messages, waypoint.lend_storage, waypoint.username_proofs, waypoint.username_proof_standing,
  waypoint.onchain_events, waypoint.casts_live, waypoint.reactions_live, waypoint.links_held,
  waypoint.links_live, waypoint.link_compact_states_live, waypoint.verifications_live,
  waypoint.user_data_live, waypoint.profiles, waypoint.username_proof_messages_live,
  waypoint.lend_storage_live, waypoint.fnames, waypoint.signer_events,
  waypoint.signer_migrated_events, waypoint.id_register_events, waypoint.storage_rent_events,
  waypoint.tier_purchases, waypoint.signers TO PUBLIC;

-- App keys (KEY_ADD / KEY_REMOVE).
GRANT SELECT ON waypoint.app_keys, waypoint.app_keys_live TO PUBLIC;

-- Derives waypoint.app_keys from the KEY_ADD and KEY_REMOVE messages already in
-- waypoint.messages (an upgrade from a version that kept them there only): each KEY_ADD
-- goes through the apply as a candidate without a new event, so its standing (merge and
-- death events) decides as it did when it arrived, and the remove of a removed key is the
-- KEY_REMOVE merged by the event that deleted its KEY_ADD (sql/apply/app_keys.sql).
CREATE FUNCTION waypoint.fill_app_keys() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  chunk record;
  n bigint := 0;
BEGIN
  FOR chunk IN
    SELECT array_agg(m.raw) AS raws
      FROM (SELECT raw, (row_number() OVER (ORDER BY fid, hash) - 1) / 5000 AS c
              FROM waypoint.messages WHERE type = 16) AS m
     GROUP BY m.c ORDER BY m.c
  LOOP
    SELECT n + count(*) FILTER (WHERE applied) INTO n
      FROM waypoint.apply_payloads(array_fill('message'::text, ARRAY[cardinality(chunk.raws)]), chunk.raws);
  END LOOP;
  RETURN n;
END
$$;
REVOKE ALL ON FUNCTION waypoint.fill_app_keys() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.fill_app_keys() IS
  'Internal (the upgrade scripts call it): fills waypoint.app_keys from the KEY_ADD and KEY_REMOVE messages in waypoint.messages; returns the KEY_ADDs applied.';
-- Control surface of the background workers: the backfill outbox, dead letters, apply
-- progress per shard, and the monitoring views. Vocabulary: a *job* is one backfill
-- request (a set of fids, or every fid); the dispatcher worker moves committed jobs to
-- the Redis job stream (the outbox pattern, architecture contract 8); the sidecar answers
-- with one `fid_done` stream entry per fid, which the apply workers record in
-- waypoint.backfill_fid_progress.

-- Roles granted waypoint_operator may enqueue backfills and read the Redis-backed views.
DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'waypoint_operator') THEN
    CREATE ROLE waypoint_operator NOLOGIN;
  END IF;
END
$do$;

CREATE TABLE waypoint.backfill_jobs (
  job_id          bigserial PRIMARY KEY,
  fids            bigint[],                     -- NULL: every fid the node knows
  types           text[] NOT NULL DEFAULT '{}', -- empty: every message type
  requested_by    name NOT NULL DEFAULT session_user,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  dispatched_at   timestamptz,
  stream_entry_id text,
  max_fid         bigint,                       -- with fids NULL: only fids <= max_fid
  CONSTRAINT backfill_jobs_fids_nonempty CHECK (fids IS NULL OR pg_catalog.cardinality(fids) > 0),
  CONSTRAINT backfill_jobs_max_fid CHECK (max_fid IS NULL OR (fids IS NULL AND max_fid > 0))
);
-- The dispatcher only ever looks for undispatched jobs; keep that lookup tiny.
CREATE INDEX backfill_jobs_undispatched ON waypoint.backfill_jobs (job_id) WHERE dispatched_at IS NULL;
COMMENT ON TABLE waypoint.backfill_jobs IS
  'Backfill outbox: one row per enqueue_backfill, enqueue_backfill_all, enqueue_backfill_upto or refresh_profiles call, written in the caller''s transaction; the dispatcher worker copies committed rows to the Redis job stream and sets dispatched_at.';
COMMENT ON COLUMN waypoint.backfill_jobs.fids IS 'Fids to backfill; NULL means every fid.';
COMMENT ON COLUMN waypoint.backfill_jobs.types IS 'Store names to backfill (docs/state-lines.md); empty means every type.';
COMMENT ON COLUMN waypoint.backfill_jobs.requested_by IS 'Session (login) role that enqueued the job; SET ROLE does not change it.';
COMMENT ON COLUMN waypoint.backfill_jobs.dispatched_at IS 'When the job reached the Redis job stream; NULL while still in the outbox.';
COMMENT ON COLUMN waypoint.backfill_jobs.stream_entry_id IS 'Redis entry id of the job in the job stream.';
COMMENT ON COLUMN waypoint.backfill_jobs.max_fid IS 'For an every-fid job (fids NULL): only fids up to this one; NULL means no bound.';

CREATE TABLE waypoint.backfill_fid_progress (
  job_id      bigint NOT NULL,
  fid         bigint NOT NULL,
  status      text NOT NULL CHECK (status IN ('ok', 'failed')),
  messages    bigint NOT NULL DEFAULT 0,
  error       text,
  reported_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (job_id, fid)
);
COMMENT ON TABLE waypoint.backfill_fid_progress IS
  'One row per fid of a backfill job the sidecar finished (fid_done stream entries); a later report for the same fid replaces an earlier one.';

CREATE TABLE waypoint.shard_progress (
  shard            integer NOT NULL,
  partition        integer NOT NULL,
  applied_event_id bigint NOT NULL,
  applied_at       timestamptz NOT NULL,
  PRIMARY KEY (shard, partition)
);
-- Keyed by partition too so that workers never contend for one row.
COMMENT ON TABLE waypoint.shard_progress IS
  'Highest Snapchain event id applied from live stream entries, per data shard and partition stream.';

CREATE TABLE waypoint.dead_letters (
  id         bigserial PRIMARY KEY,
  stream     text NOT NULL,
  entry_id   text NOT NULL,
  reason     text NOT NULL,
  kind       text,
  fid        bigint,
  fields     jsonb NOT NULL,
  payload    bytea,
  worker     integer,
  failed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE (stream, entry_id)
);
COMMENT ON TABLE waypoint.dead_letters IS
  'Stream entries that could not be decoded or applied, with the reason; they are acknowledged so they never block their partition. Also copied to the Redis dead-letter stream.';
COMMENT ON COLUMN waypoint.dead_letters.fields IS 'The entry''s fields other than the payload (non-UTF-8 values as \x-prefixed hex).';
COMMENT ON COLUMN waypoint.dead_letters.payload IS 'The entry''s payload field d (node protobuf bytes), NULL if absent.';

-- Store names a backfill may be restricted to (docs/state-lines.md), plus on-chain events
-- and fname proofs.
CREATE FUNCTION waypoint.backfill_type_names() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ARRAY['cast', 'reaction', 'link', 'link_compact_state', 'verification', 'user_data',
                   'username_proof', 'lend_storage', 'onchain', 'fname']::text[] $$;
COMMENT ON FUNCTION waypoint.backfill_type_names() IS
  'The names accepted in the types argument of waypoint.enqueue_backfill, enqueue_backfill_all and enqueue_backfill_upto.';

-- check_backfill_types validates and normalises a types argument (NULL = every type).
CREATE FUNCTION waypoint.check_backfill_types(types text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  bad text;
BEGIN
  IF types IS NULL OR cardinality(types) = 0 THEN
    RETURN '{}'::text[];
  END IF;
  IF array_ndims(types) > 1 THEN
    RAISE EXCEPTION 'types must be a one-dimensional array' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF array_position(types, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'types must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT t INTO bad FROM unnest(types) AS t
   WHERE NOT (t OPERATOR(pg_catalog.=) ANY (waypoint.backfill_type_names())) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'unknown backfill type "%"', bad USING ERRCODE = 'invalid_parameter_value',
      HINT = 'Valid types: ' || array_to_string(waypoint.backfill_type_names(), ', ') || '.';
  END IF;
  RETURN ARRAY(SELECT DISTINCT t FROM unnest(types) AS t ORDER BY t);
END
$$;
REVOKE ALL ON FUNCTION waypoint.check_backfill_types(text[]) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.check_backfill_types(text[]) IS
  'Internal (called by the enqueue functions): validates a backfill types argument and returns it sorted and deduplicated (empty = every type).';

CREATE FUNCTION waypoint.enqueue_backfill(fids bigint[], types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  bad bigint;
  clean_types text[];
  job bigint;
BEGIN
  IF fids IS NULL THEN
    RAISE EXCEPTION 'fids must not be NULL' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'To backfill every fid, call waypoint.enqueue_backfill_all().';
  END IF;
  IF cardinality(fids) = 0 THEN
    RAISE EXCEPTION 'fids must not be empty' USING ERRCODE = 'invalid_parameter_value',
      HINT = 'To backfill every fid, call waypoint.enqueue_backfill_all().';
  END IF;
  IF array_ndims(fids) > 1 THEN
    RAISE EXCEPTION 'fids must be a one-dimensional array' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF array_position(fids, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'fids must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT f INTO bad FROM unnest(fids) AS f WHERE f OPERATOR(pg_catalog.<=) 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'fid % is not valid', bad USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'Farcaster fids are positive integers.';
  END IF;
  clean_types := waypoint.check_backfill_types(types);
  INSERT INTO waypoint.backfill_jobs (fids, types)
  VALUES (ARRAY(SELECT DISTINCT f FROM unnest(fids) AS f ORDER BY f), clean_types)
  RETURNING job_id INTO job;
  RETURN job;
END
$$;
COMMENT ON FUNCTION waypoint.enqueue_backfill(bigint[], text[]) IS
  'Queues a backfill of the given fids (deduplicated), optionally restricted to some types (see waypoint.backfill_type_names()), in the caller''s transaction; returns the job id. The job reaches the sidecar only if the transaction commits. Requires waypoint_operator.';

CREATE FUNCTION waypoint.enqueue_backfill_all(types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  job bigint;
BEGIN
  INSERT INTO waypoint.backfill_jobs (fids, types)
  VALUES (NULL, waypoint.check_backfill_types(types))
  RETURNING job_id INTO job;
  RETURN job;
END
$$;
COMMENT ON FUNCTION waypoint.enqueue_backfill_all(text[]) IS
  'Queues a backfill of every fid the node knows, optionally restricted to some types, in the caller''s transaction; returns the job id. Requires waypoint_operator.';

CREATE FUNCTION waypoint.enqueue_backfill_upto(max_fid bigint, types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  job bigint;
BEGIN
  IF max_fid IS NULL OR max_fid OPERATOR(pg_catalog.<=) 0 THEN
    RAISE EXCEPTION 'max_fid must be a positive fid' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO waypoint.backfill_jobs (fids, types, max_fid)
  VALUES (NULL, waypoint.check_backfill_types(types), max_fid)
  RETURNING job_id INTO job;
  RETURN job;
END
$$;
COMMENT ON FUNCTION waypoint.enqueue_backfill_upto(bigint, text[]) IS
  'Queues a backfill of every fid the node knows that is <= max_fid (the sidecar lists fids with GetFids and skips the rest), optionally restricted to some types; returns the job id. Requires waypoint_operator.';

CREATE FUNCTION waypoint.refresh_profiles(fids bigint[] DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN fids IS NULL THEN waypoint.enqueue_backfill_all(ARRAY['user_data'])
              ELSE waypoint.enqueue_backfill(fids, ARRAY['user_data']) END
$$;
COMMENT ON FUNCTION waypoint.refresh_profiles(bigint[]) IS
  'Queues a user-data-only backfill (display name, bio, pfp, url, username...) of the given fids, or of every fid when NULL: it reads and rewrites nothing but user data. Returns the job id. Requires waypoint_operator.';

-- Deprecated aliases: the names of 0.3.0 and earlier, which repeated the schema, kept so
-- that their callers keep working. Each calls the function of the new name with its
-- arguments, with the same rights as before (SECURITY DEFINER, EXECUTE for
-- waypoint_operator), so a role that could call the old name still can.
CREATE FUNCTION waypoint.waypoint_enqueue_backfill(fids bigint[], types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.enqueue_backfill(fids, types);
COMMENT ON FUNCTION waypoint.waypoint_enqueue_backfill(bigint[], text[]) IS
  'Deprecated since 0.4.0: use waypoint.enqueue_backfill(fids, types), which this calls.';

CREATE FUNCTION waypoint.waypoint_enqueue_backfill_all(types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.enqueue_backfill_all(types);
COMMENT ON FUNCTION waypoint.waypoint_enqueue_backfill_all(text[]) IS
  'Deprecated since 0.4.0: use waypoint.enqueue_backfill_all(types), which this calls.';

CREATE FUNCTION waypoint.waypoint_enqueue_backfill_upto(max_fid bigint, types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.enqueue_backfill_upto(max_fid, types);
COMMENT ON FUNCTION waypoint.waypoint_enqueue_backfill_upto(bigint, text[]) IS
  'Deprecated since 0.4.0: use waypoint.enqueue_backfill_upto(max_fid, types), which this calls.';

CREATE FUNCTION waypoint.waypoint_refresh_profiles(fids bigint[] DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.refresh_profiles(fids);
COMMENT ON FUNCTION waypoint.waypoint_refresh_profiles(bigint[]) IS
  'Deprecated since 0.4.0: use waypoint.refresh_profiles(fids), which this calls.';

-- queue_alert_status: ok / warning / critical for a stream's backlog (pending + lag) and
-- the age of its oldest pending entry (rule shared with the sidecar: core/redis_policy.hpp).
-- A threshold of 0 is off. Thresholds default to the waypoint.alert_* settings.
CREATE FUNCTION waypoint.queue_alert_status(
  backlog bigint, oldest_pending_age interval,
  backlog_warning bigint DEFAULT pg_catalog.current_setting('waypoint.alert_backlog_warning', true)::bigint,
  backlog_critical bigint DEFAULT pg_catalog.current_setting('waypoint.alert_backlog_critical', true)::bigint,
  age_warning interval DEFAULT pg_catalog.current_setting('waypoint.alert_pending_age_warning', true)::interval,
  age_critical interval DEFAULT pg_catalog.current_setting('waypoint.alert_pending_age_critical', true)::interval)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE
    WHEN (coalesce(backlog_critical, 0) > 0 AND coalesce(backlog, 0) >= backlog_critical)
      OR (coalesce(age_critical, '0') > '0' AND oldest_pending_age >= age_critical) THEN 'critical'
    WHEN (coalesce(backlog_warning, 0) > 0 AND coalesce(backlog, 0) >= backlog_warning)
      OR (coalesce(age_warning, '0') > '0' AND oldest_pending_age >= age_warning) THEN 'warning'
    ELSE 'ok' END
$$;
COMMENT ON FUNCTION waypoint.queue_alert_status(bigint, interval, bigint, bigint, interval, interval) IS
  'Alert status of a stream: critical when the backlog or the oldest pending age reaches its critical threshold, warning likewise, else ok. Thresholds default to waypoint.alert_backlog_warning/critical and waypoint.alert_pending_age_warning/critical (0 = off).';

-- C functions over shared memory and Redis; the views below are the public face.
CREATE FUNCTION waypoint.worker_stats(
  OUT worker integer, OUT role text, OUT pid integer, OUT partitions integer[],
  OUT redis_connected boolean, OUT entries_applied bigint, OUT batches bigint,
  OUT dead_letters bigint, OUT errors bigint, OUT started_at timestamptz,
  OUT last_batch_at timestamptz, OUT last_applied_at timestamptz,
  OUT last_error_at timestamptz, OUT last_error text)
RETURNS SETOF record
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'waypoint_worker_stats';
COMMENT ON FUNCTION waypoint.worker_stats() IS
  'Counters of the apply workers and the outbox dispatcher, from shared memory (one row per configured worker slot).';

CREATE FUNCTION waypoint.redis_queue_depth(
  OUT stream text, OUT partition integer, OUT group_name text, OUT length bigint,
  OUT pending bigint, OUT lag bigint, OUT consumers integer, OUT last_delivered_id text,
  OUT oldest_pending_id text, OUT oldest_pending_age interval)
RETURNS SETOF record
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'waypoint_redis_queue_depth';
COMMENT ON FUNCTION waypoint.redis_queue_depth() IS
  'Reads every partition stream, the backfill job stream and the dead-letter stream from Redis (bounded by waypoint.redis_timeout_ms). Requires waypoint_operator.';

CREATE FUNCTION waypoint.node_heads(OUT shard integer, OUT node_height bigint, OUT node_event_id bigint,
                                    OUT node_head_at timestamptz)
RETURNS SETOF record
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'waypoint_node_heads';
COMMENT ON FUNCTION waypoint.node_heads() IS
  'Head of each data shard as last seen by the sidecar: Redis hashes <prefix>:node:shard:<n>:head (fields block, event_id, ts in Unix ms), shards 1..64; empty, with a NOTICE, when Redis is unreachable. Requires waypoint_operator.';

CREATE FUNCTION waypoint.sidecar_health(OUT node_breaker text, OUT redis_state text, OUT consumer text,
                                        OUT mode text, OUT seen_at timestamptz, OUT verify_level text)
RETURNS SETOF record
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'waypoint_sidecar_health';
COMMENT ON FUNCTION waypoint.sidecar_health() IS
  'What the sidecar last reported in the Redis hash <prefix>:sidecar:health (every second): its node circuit breaker (closed, open, half_open), its view of Redis, consumer name, mode, when, and the verification level of what it writes (off, hash, signature, full; docs/verification.md). No row, with a NOTICE, when Redis is unreachable or no sidecar ever ran. Requires waypoint_operator.';

CREATE VIEW waypoint.queue_depth AS
  SELECT stream, partition, group_name, length, pending, lag, consumers, last_delivered_id,
         oldest_pending_id, oldest_pending_age,
         CASE WHEN partition IS NOT NULL THEN
           waypoint.queue_alert_status(coalesce(pending OPERATOR(pg_catalog.+) lag, length), oldest_pending_age)
         END AS status
    FROM waypoint.redis_queue_depth();
COMMENT ON VIEW waypoint.queue_depth IS
  'Per Redis stream (each partition stream, the backfill job stream, the dead-letter stream) and consumer group: length, entries delivered but not acknowledged (pending), entries not yet delivered (lag), age of the oldest pending entry, and for partition streams the alert status (ok, warning, critical; see waypoint.queue_alert_status). Read live from Redis.';

CREATE VIEW waypoint.workers AS
  SELECT w.worker, w.role, w.pid, w.partitions, w.redis_connected, w.entries_applied, w.batches,
         w.dead_letters, w.errors, w.started_at, w.last_batch_at, w.last_applied_at,
         w.last_error_at, w.last_error, a.backend_type, a.application_name, a.state,
         a.wait_event_type, a.wait_event, a.backend_start
    FROM waypoint.worker_stats() AS w
    LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid OPERATOR(pg_catalog.=) w.pid;
COMMENT ON VIEW waypoint.workers IS
  'Apply workers and the outbox dispatcher: shared-memory counters joined with pg_stat_activity (pid is NULL while a worker is not running).';

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
         s.verify_level,
         tq.pending AS thread_roots_pending
    FROM applied AS a
    FULL JOIN waypoint.node_heads() AS h ON h.shard OPERATOR(pg_catalog.=) a.shard
    LEFT JOIN waypoint.sidecar_health() AS s ON true
    LEFT JOIN (SELECT bool_and(ws.redis_connected) AS up FROM waypoint.worker_stats() AS ws
                WHERE ws.pid IS NOT NULL) AS w ON true
    LEFT JOIN waypoint.storage_state() AS st ON true
    LEFT JOIN (SELECT pg_catalog.count(*) AS pending
                 FROM (SELECT 1 FROM waypoint.cast_thread_queue LIMIT 1000000) AS q) AS tq ON true;
COMMENT ON VIEW waypoint.sync_status IS
  'Per data shard: highest event id (and block height) applied from the live stream, the node head the sidecar last saw (height, event id, time), the lag in blocks, and the circuit breakers: node_breaker as the sidecar last reported it (closed, open, half_open; sidecar_seen_at says when), redis_breaker as the extension''s workers see Redis (open while any running worker is disconnected or refuses the server); storage_mode (live, bulk, building: docs/storage.md) and the secondary-index partitions still missing; verify_level, the sidecar''s verification of what it writes (docs/verification.md); thread_roots_pending, casts written whose thread roots are not resolved yet (counted up to a million; they wait while storage_mode is not live).';

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

CREATE VIEW waypoint.backfill_progress AS
  WITH p AS (
    SELECT fp.job_id,
           count(*) FILTER (WHERE fp.status OPERATOR(pg_catalog.=) 'ok') AS fids_done,
           count(*) FILTER (WHERE fp.status OPERATOR(pg_catalog.=) 'failed') AS fids_failed,
           sum(fp.messages) AS messages,
           max(fp.reported_at) AS last_report_at
      FROM waypoint.backfill_fid_progress AS fp GROUP BY fp.job_id
  ), t AS (
    -- The sidecar counts an all-fid job's fids and sends the total on every fid_start.
    SELECT fs.job_id, max(fs.fids_total) AS fids_total
      FROM waypoint.backfill_fid_starts AS fs GROUP BY fs.job_id
  ), r AS (
    SELECT j.*, coalesce(p.fids_done, 0) AS fids_done, coalesce(p.fids_failed, 0) AS fids_failed,
           coalesce(p.messages, 0)::bigint AS messages, p.last_report_at,
           coalesce(cardinality(j.fids)::bigint, t.fids_total) AS fids_total,
           extract(epoch FROM p.last_report_at OPERATOR(pg_catalog.-) j.dispatched_at) AS secs
      FROM waypoint.backfill_jobs AS j LEFT JOIN p ON p.job_id OPERATOR(pg_catalog.=) j.job_id
      LEFT JOIN t ON t.job_id OPERATOR(pg_catalog.=) j.job_id
  )
  SELECT r.job_id,
         CASE WHEN r.dispatched_at IS NULL THEN 'queued'
              WHEN r.fids_total IS NOT NULL
               AND r.fids_done OPERATOR(pg_catalog.+) r.fids_failed OPERATOR(pg_catalog.>=) r.fids_total THEN
                CASE WHEN r.fids_failed OPERATOR(pg_catalog.>) 0 THEN 'done_with_failures' ELSE 'done' END
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
                                        OPERATOR(pg_catalog.*) r.secs OPERATOR(pg_catalog./) (r.fids_done OPERATOR(pg_catalog.+) r.fids_failed)) END AS eta
    FROM r;
COMMENT ON VIEW waypoint.backfill_progress IS
  'Per backfill job: state (queued, running, done, done_with_failures), fids queued (for all-fid jobs: as counted by the sidecar, known from the first fid_start on)/done/failed, messages written, rates since dispatch and the estimated time left.';

-- Privileges: the verbs and Redis-backed views only for waypoint_operator (and superusers).
GRANT USAGE ON SCHEMA waypoint TO waypoint_operator, pg_monitor;
REVOKE ALL ON FUNCTION waypoint.enqueue_backfill(bigint[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.enqueue_backfill_all(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.redis_queue_depth() FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.node_heads() FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.sidecar_health() FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.enqueue_backfill_upto(bigint, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION waypoint.refresh_profiles(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION waypoint.sidecar_health() TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.enqueue_backfill_upto(bigint, text[]) TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.refresh_profiles(bigint[]) TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.enqueue_backfill(bigint[], text[]) TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.enqueue_backfill_all(text[]) TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.redis_queue_depth() TO waypoint_operator;
GRANT EXECUTE ON FUNCTION waypoint.node_heads() TO waypoint_operator;
-- The deprecated aliases: the same grants as the functions they call.
REVOKE ALL ON FUNCTION waypoint.waypoint_enqueue_backfill(bigint[], text[]), waypoint.waypoint_enqueue_backfill_all(text[]),
  waypoint.waypoint_enqueue_backfill_upto(bigint, text[]), waypoint.waypoint_refresh_profiles(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION waypoint.waypoint_enqueue_backfill(bigint[], text[]), waypoint.waypoint_enqueue_backfill_all(text[]),
  waypoint.waypoint_enqueue_backfill_upto(bigint, text[]), waypoint.waypoint_refresh_profiles(bigint[]) TO waypoint_operator;
REVOKE ALL ON waypoint.queue_depth, waypoint.sync_status FROM PUBLIC;
GRANT SELECT ON waypoint.queue_depth, waypoint.sync_status TO waypoint_operator;
REVOKE ALL ON waypoint.backfill_jobs, waypoint.backfill_fid_progress, waypoint.shard_progress,
              waypoint.dead_letters FROM PUBLIC;
GRANT SELECT ON waypoint.backfill_jobs, waypoint.backfill_fid_progress, waypoint.shard_progress,
               waypoint.dead_letters, waypoint.backfill_progress, waypoint.workers, waypoint.refused_messages
  TO waypoint_operator, pg_monitor;
REVOKE ALL ON waypoint.refused_messages FROM PUBLIC;
GRANT SELECT ON waypoint.held_messages TO waypoint_operator, pg_monitor;
GRANT SELECT ON waypoint.backfill_fid_starts TO waypoint_operator, pg_monitor;
-- sync_status reads the storage mode (storage_state() runs with the caller's rights).
GRANT SELECT ON waypoint.storage_mode, waypoint.secondary_indexes TO waypoint_operator, pg_monitor;
GRANT EXECUTE ON FUNCTION waypoint.missing_index_partitions() TO waypoint_operator, pg_monitor;
