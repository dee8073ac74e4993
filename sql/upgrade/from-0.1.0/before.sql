-- waypoint 0.1.0 -> current version (ALTER EXTENSION waypoint UPDATE), first part.
-- 0.2.0 changed the storage layout (fid-first keys, tables partitioned by fid:
-- docs/storage.md), so the upgrade moves every 0.1.0 object into a scratch schema, runs
-- the current install script (the middle part, concatenated from sql/install/ by
-- extension/Makefile), copies every row across (after.sql) and drops the old objects.
-- Nothing is resynced from the node; the whole upgrade is one transaction.
CREATE SCHEMA waypoint_upgrade_old;
DO $do$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT d.classid, d.objid, c.relkind
      FROM pg_catalog.pg_depend AS d
      LEFT JOIN pg_catalog.pg_class AS c ON d.classid = 'pg_catalog.pg_class'::regclass AND c.oid = d.objid
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
       AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'waypoint')
       AND d.deptype = 'e'
  LOOP
    IF r.classid = 'pg_catalog.pg_proc'::regclass THEN
      EXECUTE format('ALTER ROUTINE %s SET SCHEMA waypoint_upgrade_old', r.objid::regprocedure);
    ELSIF r.relkind = 'r' THEN
      -- Moves its indexes and owned (serial) sequences with it.
      EXECUTE format('ALTER TABLE %s SET SCHEMA waypoint_upgrade_old', r.objid::regclass);
    ELSIF r.relkind = 'v' THEN
      EXECUTE format('ALTER VIEW %s SET SCHEMA waypoint_upgrade_old', r.objid::regclass);
    ELSIF r.relkind = 'S' AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS o
         WHERE o.classid = 'pg_catalog.pg_class'::regclass AND o.objid = r.objid AND o.deptype IN ('a', 'i')) THEN
      EXECUTE format('ALTER SEQUENCE %s SET SCHEMA waypoint_upgrade_old', r.objid::regclass);
    END IF;
  END LOOP;
END
$do$;

-- ---- the current install script follows ----
