-- The backfill outbox: validation of waypoint.enqueue_backfill(_all), the job rows it
-- writes in the caller's transaction, and the backfill_progress view.
CREATE EXTENSION IF NOT EXISTS waypoint;

-- Invalid input is refused with a clear message.
SELECT waypoint.enqueue_backfill(NULL);
SELECT waypoint.enqueue_backfill('{}');
SELECT waypoint.enqueue_backfill(ARRAY[1, NULL, 3]::bigint[]);
SELECT waypoint.enqueue_backfill(ARRAY[5, 0]::bigint[]);
SELECT waypoint.enqueue_backfill(ARRAY[-7]::bigint[]);
SELECT waypoint.enqueue_backfill('{{1,2},{3,4}}'::bigint[]);
SELECT waypoint.enqueue_backfill('{9223372036854775808}'::bigint[]);
SELECT waypoint.enqueue_backfill(ARRAY[1]::bigint[], ARRAY['casts']);
SELECT waypoint.enqueue_backfill(ARRAY[1]::bigint[], ARRAY['cast', NULL]);
SELECT waypoint.enqueue_backfill_all(ARRAY['bogus']);
SELECT count(*) AS jobs_after_errors FROM waypoint.backfill_jobs;

-- A rolled-back enqueue leaves nothing behind for the dispatcher.
BEGIN;
SELECT waypoint.enqueue_backfill(ARRAY[11, 12]::bigint[]) > 0 AS enqueued;
ROLLBACK;
SELECT count(*) AS jobs_after_rollback FROM waypoint.backfill_jobs;

-- Valid calls: fids deduplicated and sorted, types validated and sorted.
SELECT waypoint.enqueue_backfill(ARRAY[3, 1, 2, 3, 1]::bigint[], ARRAY['user_data', 'cast', 'cast']) AS job_a \gset
SELECT waypoint.enqueue_backfill_all() AS job_b \gset
SELECT waypoint.enqueue_backfill(ARRAY[9223372036854775807]::bigint[]) AS job_c \gset
SELECT job_id = :job_a AS is_a, fids, types, requested_by = session_user AS by_me, dispatched_at IS NULL AS in_outbox
  FROM waypoint.backfill_jobs ORDER BY job_id;

-- Progress: the apply workers record one row per fid_done entry; simulate them here.
UPDATE waypoint.backfill_jobs SET dispatched_at = now() - interval '10 seconds' WHERE job_id IN (:job_a, :job_b);
INSERT INTO waypoint.backfill_fid_progress (job_id, fid, status, messages, error, reported_at) VALUES
  (:job_a, 1, 'ok', 100, NULL, now()),
  (:job_a, 2, 'failed', 0, 'node unavailable', now()),
  (:job_b, 7, 'ok', 40, NULL, now());
SELECT job_id = :job_a AS is_a, state, all_fids, fids_queued, fids_done, fids_failed, messages,
       fids_per_second > 0 AS has_rate, eta IS NOT NULL AS has_eta
  FROM waypoint.backfill_progress ORDER BY job_id;
INSERT INTO waypoint.backfill_fid_progress (job_id, fid, status, messages, reported_at)
  VALUES (:job_a, 3, 'ok', 5, now());
SELECT state, fids_done, fids_failed, messages, eta FROM waypoint.backfill_progress WHERE job_id = :job_a;

-- The dispatcher's view of the outbox is the partial index on undispatched jobs.
SELECT indexdef FROM pg_indexes WHERE indexname = 'backfill_jobs_undispatched';
SELECT waypoint.backfill_type_names();

-- All-fid jobs: the sidecar sends the job's size on every fid_start, so an ETA is known
-- once the first fid started (job_b is dispatched and has one fid done above). Rolled
-- back: control_ops runs later in this database.
BEGIN;
SELECT state, fids_queued, eta FROM waypoint.backfill_progress WHERE job_id = :job_b;
INSERT INTO waypoint.backfill_fid_starts (job_id, fid, start_seq, stores, fids_total)
  VALUES (:job_b, 7, 1, '{}', 4), (:job_b, 8, 2, '{}', 4);
SELECT state, fids_queued, fids_done, eta IS NOT NULL AS has_eta FROM waypoint.backfill_progress WHERE job_id = :job_b;
INSERT INTO waypoint.backfill_fid_progress (job_id, fid, status, messages, reported_at)
  VALUES (:job_b, 8, 'ok', 1, now()), (:job_b, 9, 'ok', 1, now()), (:job_b, 10, 'failed', 0, now());
SELECT state, fids_queued, fids_done, fids_failed, channels FROM waypoint.backfill_progress WHERE job_id = :job_b;
-- job_b reads channels too (every fid, every type): done once its channel pass, the
-- fid_done of fid 0, is in; fid 0 is not a fid of the count.
INSERT INTO waypoint.backfill_fid_progress (job_id, fid, status, messages, reported_at)
  VALUES (:job_b, 0, 'ok', 9, now());
SELECT state, fids_queued, fids_done, fids_failed, messages, channels FROM waypoint.backfill_progress WHERE job_id = :job_b;
ROLLBACK;

-- A channels-only job reads no fid: done by its channel pass alone; a job of some fids
-- whose types name channel needs both, and a failed pass is a failure. Rolled back.
BEGIN;
SELECT waypoint.enqueue_backfill_channels() AS job_ch \gset
SELECT waypoint.enqueue_backfill(ARRAY[5]::bigint[], ARRAY['cast', 'channel']) AS job_mix \gset
SELECT types FROM waypoint.backfill_jobs WHERE job_id = :job_ch;
SELECT job_id = :job_ch AS channels_only, state, fids_queued, channels
  FROM waypoint.backfill_progress WHERE job_id IN (:job_ch, :job_mix) ORDER BY job_id;
UPDATE waypoint.backfill_jobs SET dispatched_at = now() WHERE job_id IN (:job_ch, :job_mix);
SELECT job_id = :job_ch AS channels_only, state, fids_queued, channels
  FROM waypoint.backfill_progress WHERE job_id IN (:job_ch, :job_mix) ORDER BY job_id;
INSERT INTO waypoint.backfill_fid_progress (job_id, fid, status, messages, reported_at)
  VALUES (:job_ch, 0, 'ok', 3, now()), (:job_mix, 5, 'ok', 2, now());
SELECT job_id = :job_ch AS channels_only, state, fids_queued, fids_done, messages, channels
  FROM waypoint.backfill_progress WHERE job_id IN (:job_ch, :job_mix) ORDER BY job_id;
INSERT INTO waypoint.backfill_fid_progress (job_id, fid, status, messages, error, reported_at)
  VALUES (:job_mix, 0, 'failed', 1, 'GetOnChainEvents: unavailable', now());
SELECT state, fids_done, fids_failed, messages, channels FROM waypoint.backfill_progress WHERE job_id = :job_mix;
-- A job that reads no channels has none.
SELECT channels FROM waypoint.backfill_progress WHERE job_id = :job_a;
ROLLBACK;
