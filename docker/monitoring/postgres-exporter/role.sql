-- The login role postgres_exporter connects as: pg_monitor for PostgreSQL's own
-- statistics, waypoint_operator for the views that read Redis (waypoint.queue_depth,
-- waypoint.sync_status). waypoint_operator may also enqueue backfills; there is no
-- narrower role that may read those views. Run it in the database that holds the
-- extension, after CREATE EXTENSION waypoint; the password comes from the environment
-- (never from the command line), and the statement is not logged unless log_statement
-- is ddl or all:
--   WAYPOINT_EXPORTER_PASSWORD=... psql -v ON_ERROR_STOP=1 -d mirror -f role.sql
-- Idempotent: a second run sets the password again.
\getenv exporter_password WAYPOINT_EXPORTER_PASSWORD
\if :{?exporter_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'set WAYPOINT_EXPORTER_PASSWORD to the password of waypoint_exporter'; END $$;
\endif
SELECT 'CREATE ROLE waypoint_exporter LOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'waypoint_exporter')
\gexec
ALTER ROLE waypoint_exporter LOGIN PASSWORD :'exporter_password';
GRANT pg_monitor, waypoint_operator TO waypoint_exporter;
