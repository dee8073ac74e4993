-- Shared by the apply_* tests: test/regress/prepare.sh puts it, with the payloads,
-- before each of them (not echoed into the expected outputs).
SET client_min_messages = warning;
-- A fresh extension: every test starts from an empty mirror.
CREATE FUNCTION pg_temp.fresh() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DROP EXTENSION IF EXISTS waypoint CASCADE;
  CREATE EXTENSION waypoint;
END $$;
-- Applies payloads of one kind; one line per payload. Then resolves thread roots, as the
-- apply workers do after each batch.
CREATE FUNCTION pg_temp.apply(kind text, VARIADIC p bytea[]) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT CASE WHEN applied THEN 'ok' ELSE 'rejected: ' || reason END
    FROM waypoint.apply_payloads(array_fill(kind, ARRAY[cardinality(p)]), p) ORDER BY ord;
  PERFORM waypoint.resolve_thread_roots();
END $$;
