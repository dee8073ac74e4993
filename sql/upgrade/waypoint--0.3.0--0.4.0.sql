-- waypoint 0.3.0 -> 0.4.0 (ALTER EXTENSION waypoint UPDATE).
-- 0.4.0 names the functions as a user types them: waypoint.enqueue_backfill,
-- enqueue_backfill_all, enqueue_backfill_upto and refresh_profiles (the same signatures
-- and grants). The old names (waypoint.waypoint_enqueue_backfill ...) stay as deprecated
-- aliases calling the new functions. The internal helpers are marked as such in their
-- comments and are no longer executable by PUBLIC. No table changes.

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

-- The old names become deprecated aliases that call the new functions. CREATE OR REPLACE
-- keeps each old function itself, with its grants (also any granted since), and SECURITY
-- DEFINER keeps its rights: a role that could call the old name still can.
CREATE OR REPLACE FUNCTION waypoint.waypoint_enqueue_backfill(fids bigint[], types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.enqueue_backfill(fids, types);
COMMENT ON FUNCTION waypoint.waypoint_enqueue_backfill(bigint[], text[]) IS
  'Deprecated since 0.4.0: use waypoint.enqueue_backfill(fids, types), which this calls.';

CREATE OR REPLACE FUNCTION waypoint.waypoint_enqueue_backfill_all(types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.enqueue_backfill_all(types);
COMMENT ON FUNCTION waypoint.waypoint_enqueue_backfill_all(text[]) IS
  'Deprecated since 0.4.0: use waypoint.enqueue_backfill_all(types), which this calls.';

CREATE OR REPLACE FUNCTION waypoint.waypoint_enqueue_backfill_upto(max_fid bigint, types text[] DEFAULT '{}')
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.enqueue_backfill_upto(max_fid, types);
COMMENT ON FUNCTION waypoint.waypoint_enqueue_backfill_upto(bigint, text[]) IS
  'Deprecated since 0.4.0: use waypoint.enqueue_backfill_upto(max_fid, types), which this calls.';

CREATE OR REPLACE FUNCTION waypoint.waypoint_refresh_profiles(fids bigint[] DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN waypoint.refresh_profiles(fids);
COMMENT ON FUNCTION waypoint.waypoint_refresh_profiles(bigint[]) IS
  'Deprecated since 0.4.0: use waypoint.refresh_profiles(fids), which this calls.';

-- Comments that named the old functions.
COMMENT ON TABLE waypoint.backfill_jobs IS
  'Backfill outbox: one row per enqueue_backfill, enqueue_backfill_all, enqueue_backfill_upto or refresh_profiles call, written in the caller''s transaction; the dispatcher worker copies committed rows to the Redis job stream and sets dispatched_at.';
COMMENT ON FUNCTION waypoint.backfill_type_names() IS
  'The names accepted in the types argument of waypoint.enqueue_backfill, enqueue_backfill_all and enqueue_backfill_upto.';

-- Internal helpers: a comment saying so, and no EXECUTE for PUBLIC.
REVOKE ALL ON FUNCTION waypoint.fid_partition_hash(bigint, bigint) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.fid_partition_hash(bigint, bigint) IS
  'Internal: hash support function of waypoint.fid_partition_ops: makes hash partition = fid mod modulus (docs/storage.md).';
REVOKE ALL ON FUNCTION waypoint.fid_partition_hash(integer, bigint) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.fid_partition_hash(integer, bigint) IS
  'Internal: the same as waypoint.fid_partition_hash(bigint, bigint) for an integer fid (WHERE fid = 3 prunes to one partition).';
COMMENT ON FUNCTION waypoint.create_fid_partitions(text) IS
  'Internal (the install and upgrade scripts call it): creates the hash partitions <table>_p0 .. _p(n-1) of a fid-partitioned table.';
COMMENT ON FUNCTION waypoint.create_secondary_indexes() IS
  'Internal (the install and the upgrade from 0.1.0 call it): creates every secondary index listed in waypoint.secondary_indexes, with all its partitions.';
REVOKE ALL ON FUNCTION waypoint.missing_index_partitions() FROM PUBLIC;
COMMENT ON FUNCTION waypoint.missing_index_partitions() IS
  'Internal (storage_step and storage_state read it): the secondary-index partitions still to build, one row per index and table partition without it.';
COMMENT ON FUNCTION waypoint.storage_step(int, int) IS
  'Internal (the apply workers call it between batches): ends a bulk sync whose job is complete, builds one missing secondary-index partition of the given worker, or makes the storage mode live.';
REVOKE ALL ON FUNCTION waypoint.check_backfill_types(text[]) FROM PUBLIC;
COMMENT ON FUNCTION waypoint.check_backfill_types(text[]) IS
  'Internal (called by the enqueue functions): validates a backfill types argument and returns it sorted and deduplicated (empty = every type).';
-- storage_state() had no comment.
COMMENT ON FUNCTION waypoint.storage_state() IS
  'The storage mode (live, bulk, building: docs/storage.md) and how many secondary-index partitions are still missing, as waypoint.sync_status shows them.';

-- Privileges of the new functions: those of the old names.
REVOKE ALL ON FUNCTION waypoint.enqueue_backfill(bigint[], text[]), waypoint.enqueue_backfill_all(text[]),
  waypoint.enqueue_backfill_upto(bigint, text[]), waypoint.refresh_profiles(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION waypoint.enqueue_backfill(bigint[], text[]), waypoint.enqueue_backfill_all(text[]),
  waypoint.enqueue_backfill_upto(bigint, text[]), waypoint.refresh_profiles(bigint[]) TO waypoint_operator;
-- sync_status reads storage_state(), which reads missing_index_partitions().
GRANT EXECUTE ON FUNCTION waypoint.missing_index_partitions() TO waypoint_operator, pg_monitor;
