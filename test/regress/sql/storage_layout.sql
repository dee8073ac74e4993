-- Storage layout (docs/storage.md): per-fid tables hash-partitioned by fid so that
-- partition p holds the fids of stream partition p, keys that start with the fid, and
-- the bulk-sync cycle of the secondary indexes.
DROP EXTENSION IF EXISTS waypoint CASCADE;
CREATE EXTENSION waypoint;

-- Partition of fid f is f % modulus (8 here: waypoint.partitions' default), as the streams.
INSERT INTO waypoint.messages (fid, hash, type, "timestamp", network, signer, raw)
SELECT f, decode(lpad(to_hex(f), 40, '0'), 'hex'), 1, now(), 1, '\x00', '\x00'
  FROM unnest(ARRAY[0, 1, 2, 7, 8, 9, 15, 16, 1000003, 4294967296, 9223372036854775807]::bigint[]) AS f;
SELECT fid, tableoid::regclass AS partition, tableoid::regclass::text = 'waypoint.messages_p' || (fid % 8) AS aligned
  FROM waypoint.messages ORDER BY fid;
-- A lookup by fid touches one partition (bigint or integer literal).
EXPLAIN (COSTS OFF) SELECT * FROM waypoint.messages WHERE fid = 9 AND hash = '\x00';
EXPLAIN (COSTS OFF) SELECT * FROM waypoint.casts WHERE fid = 4294967296::bigint;
DELETE FROM waypoint.messages;

-- Every partitioned table: 8 partitions, and every unique key includes the fid (what a
-- distributed PostgreSQL needs to colocate them by fid).
SELECT c.relname, count(i.inhrelid) AS partitions,
       bool_and(pg_get_partkeydef(c.oid) = 'HASH (fid waypoint.fid_partition_ops)') AS by_fid
  FROM pg_class c JOIN pg_inherits i ON i.inhparent = c.oid
 WHERE c.relnamespace = 'waypoint'::regnamespace AND c.relkind = 'p'
 GROUP BY c.relname ORDER BY 1;
SELECT x.indexrelid::regclass AS unique_index_without_fid
  FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
 WHERE c.relnamespace = 'waypoint'::regnamespace AND c.relkind = 'p' AND x.indisunique
   AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'fid'
                    AND a.attnum = ANY (x.indkey));
-- Primary keys of the per-fid tables start with the fid.
SELECT c.relname, pg_get_indexdef(x.indexrelid) LIKE '%(fid, %' AS fid_first
  FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
 WHERE c.relnamespace = 'waypoint'::regnamespace AND c.relkind = 'p' AND x.indisprimary ORDER BY 1;

-- Bulk sync: the secondary indexes go, the mode shows it, the apply goes on.
SELECT storage_mode, indexes_missing FROM waypoint.storage_state();
SELECT waypoint.begin_bulk_sync();
SELECT count(*) AS secondary_indexes_left FROM waypoint.secondary_indexes
 WHERE to_regclass('waypoint.' || name) IS NOT NULL;
SELECT storage_mode, indexes_missing FROM waypoint.storage_state();
-- Nothing to build while bulk, and no job to wait for.
SELECT waypoint.storage_step(0, 2) AS step;
SELECT waypoint.end_bulk_sync();
-- Worker 0 of 2 builds the even partitions, one index per step.
SELECT waypoint.storage_step(0, 2) AS step;
SELECT storage_mode, indexes_missing FROM waypoint.storage_state();
DO $$
BEGIN
  WHILE waypoint.storage_step(0, 2) IS NOT NULL LOOP END LOOP;
END $$;
-- Half built: worker 1 still has the odd partitions; the mode stays 'building'.
SELECT storage_mode, indexes_missing FROM waypoint.storage_state();
SELECT DISTINCT remainder % 2 AS odd FROM waypoint.missing_index_partitions();
DO $$
BEGIN
  WHILE waypoint.storage_step(1, 2) IS DISTINCT FROM 'live' LOOP END LOOP;
END $$;
SELECT storage_mode, indexes_missing FROM waypoint.storage_state();
-- Every parent index is valid again, with one attached index per partition.
SELECT si.name, x.indisvalid, (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = x.indexrelid) AS partitions
  FROM waypoint.secondary_indexes si JOIN pg_index x ON x.indexrelid = ('waypoint.' || si.name)::regclass
 ORDER BY 1;

-- A bulk sync tied to a backfill job ends when the job is complete.
SELECT waypoint.enqueue_backfill(ARRAY[3]) AS job \gset
SELECT waypoint.begin_bulk_sync(:job);
SELECT waypoint.storage_step(0, 1) AS step;
UPDATE waypoint.backfill_jobs SET dispatched_at = now() WHERE job_id = :job;
INSERT INTO waypoint.backfill_fid_progress (job_id, fid, status, messages, reported_at)
VALUES (:job, 3, 'ok', 0, now());
SELECT waypoint.storage_step(0, 1) AS step;
DO $$
BEGIN
  WHILE waypoint.storage_step(0, 1) IS DISTINCT FROM 'live' LOOP END LOOP;
END $$;
SELECT storage_mode, indexes_missing FROM waypoint.storage_state();
