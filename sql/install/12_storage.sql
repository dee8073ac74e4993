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
-- so exactness does not depend on the mode. The incremental thread-root resolver does read
-- them (casts_parent_hash_idx, casts_root_open_idx): it waits for 'live', and the casts it
-- has to resolve wait in waypoint.cast_thread_queue meanwhile. The queue a bulk sync
-- leaves is resolved set-based first thing in 'building', before the casts indexes exist
-- (storage_step).

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
-- ends a bulk sync whose job is complete; while building, first resolves the thread roots
-- the bulk sync queued, set-based (waypoint.rebuild_thread_roots, when
-- thread_roots_rebuild_due()), while casts has no secondary index to maintain: one worker
-- does it, the others build the indexes of the other tables meanwhile; then builds one
-- missing index of a table partition this worker owns (remainder % workers = worker) and
-- returns its name; makes the mode live when nothing is missing. Returns NULL when there
-- was nothing to do.
CREATE FUNCTION waypoint.storage_step(worker int, workers int) RETURNS text
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
REVOKE ALL ON FUNCTION waypoint.storage_step(int, int) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.storage_step(int, int) IS
  'Internal (the apply workers call it between batches): ends a bulk sync whose job is complete, resolves the thread roots it queued (set-based, before the casts indexes), builds one missing secondary-index partition of the given worker, or makes the storage mode live.';

-- What waypoint.sync_status shows of the storage mode.
CREATE FUNCTION waypoint.storage_state(OUT storage_mode text, OUT indexes_missing bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT s.mode, (SELECT count(*) FROM waypoint.missing_index_partitions()) FROM waypoint.storage_mode AS s
$$;
COMMENT ON FUNCTION waypoint.storage_state() IS
  'The storage mode (live, bulk, building: docs/storage.md) and how many secondary-index partitions are still missing, as waypoint.sync_status shows them.';
