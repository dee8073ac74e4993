
-- ---- waypoint 0.1.0 -> current version, last part: copy the rows of every 0.1.0 table ----
-- Same-named tables take the columns both versions have. The secondary indexes are
-- dropped during the copy and built once afterwards (as after a bulk sync).
SELECT waypoint.begin_bulk_sync();
DO $do$
DECLARE
  t record;
  cols text;
  copied bigint;
  old_rows bigint;
  s record;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_catalog.pg_class AS c
     WHERE c.relnamespace = 'waypoint_upgrade_old'::regnamespace AND c.relkind = 'r' ORDER BY 1
  LOOP
    IF to_regclass('waypoint.' || quote_ident(t.relname)) IS NULL THEN
      RAISE EXCEPTION 'waypoint upgrade: table %, not in this version, would be lost', t.relname;
    END IF;
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_catalog.pg_attribute AS a
     WHERE a.attrelid = ('waypoint_upgrade_old.' || quote_ident(t.relname))::regclass
       AND a.attnum > 0 AND NOT a.attisdropped
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS b
                    WHERE b.attrelid = ('waypoint.' || quote_ident(t.relname))::regclass
                      AND b.attname = a.attname AND NOT b.attisdropped);
    EXECUTE format('SELECT count(*) FROM waypoint_upgrade_old.%I', t.relname) INTO old_rows;
    EXECUTE format('INSERT INTO waypoint.%I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM waypoint_upgrade_old.%I',
                   t.relname, cols, cols, t.relname);
    GET DIAGNOSTICS copied = ROW_COUNT;
    IF copied <> old_rows THEN
      RAISE EXCEPTION 'waypoint upgrade: copied % of % rows of %', copied, old_rows, t.relname;
    END IF;
    RAISE NOTICE 'waypoint upgrade: % rows of % copied', copied, t.relname;
  END LOOP;
  -- Sequences continue where they were (the apply sequence orders batches; job ids).
  FOR s IN
    SELECT c.relname FROM pg_catalog.pg_class AS c
     WHERE c.relnamespace = 'waypoint_upgrade_old'::regnamespace AND c.relkind = 'S'
  LOOP
    IF to_regclass('waypoint.' || quote_ident(s.relname)) IS NOT NULL THEN
      EXECUTE format('SELECT pg_catalog.setval(%L, last_value, is_called) FROM waypoint_upgrade_old.%I',
                     'waypoint.' || quote_ident(s.relname), s.relname);
    END IF;
  END LOOP;
END
$do$;
-- App keys were kept in waypoint.messages only before 0.5.0.
SELECT waypoint.fill_app_keys();
-- Channels were kept as raw messages and on-chain events only before 0.6.0.
SELECT waypoint.fill_channels();
DROP SCHEMA waypoint_upgrade_old CASCADE;
-- 0.1.0 kept no thread roots: every cast is queued, the workers resolve them (0.5.0).
INSERT INTO waypoint.cast_thread_queue (fid, hash) SELECT fid, hash FROM waypoint.casts;
SELECT waypoint.create_secondary_indexes();
UPDATE waypoint.storage_mode SET mode = 'live', bulk_job_id = NULL, changed_at = now();
ANALYZE waypoint.messages;
