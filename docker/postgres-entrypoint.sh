#!/usr/bin/env bash
# Initialises the cluster on first start (extension preloaded and created), then runs
# the postmaster in the foreground. Configuration comes from the environment:
#   POSTGRES_PASSWORD (required), WAYPOINT_REDIS_URL, WAYPOINT_DATABASE (default postgres),
#   WAYPOINT_PARTITIONS (default 8), WAYPOINT_WORKERS (default 2),
#   WAYPOINT_EXPORTER_PASSWORD (optional: creates the login role of postgres_exporter)
set -euo pipefail
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
if [ ! -f "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp); printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
fi
cat >"$PGDATA/waypoint.conf" <<CONF
listen_addresses = '*'
shared_preload_libraries = 'waypoint'
waypoint.redis_url = '${WAYPOINT_REDIS_URL:-redis://redis:6379}'
waypoint.database = '${WAYPOINT_DATABASE:-postgres}'
waypoint.partitions = ${WAYPOINT_PARTITIONS:-8}
waypoint.workers = ${WAYPOINT_WORKERS:-2}
CONF
# The settings a big sync needs (docs/storage.md); edit or override in waypoint.conf.
cp /usr/local/share/waypoint/postgresql-sync.conf "$PGDATA/postgresql-sync.conf"
grep -q "include 'postgresql-sync.conf'" "$PGDATA/postgresql.conf" || echo "include 'postgresql-sync.conf'" >>"$PGDATA/postgresql.conf"
grep -q "include 'waypoint.conf'" "$PGDATA/postgresql.conf" || echo "include 'waypoint.conf'" >>"$PGDATA/postgresql.conf"
# Create the extension once the server accepts connections (idempotent).
( until pg_isready -q -h /var/run/postgresql; do sleep 1; done
  psql -q -h /var/run/postgresql -U postgres -d "${WAYPOINT_DATABASE:-postgres}" -c "CREATE EXTENSION IF NOT EXISTS waypoint"
  # The login role of postgres_exporter (compose profile monitoring, docs/monitoring.md);
  # role.sql reads the password from the environment.
  if [ -n "${WAYPOINT_EXPORTER_PASSWORD:-}" ]; then
    psql -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -U postgres -d "${WAYPOINT_DATABASE:-postgres}" \
      -f /usr/local/share/waypoint/exporter-role.sql
  fi ) &
exec postgres -D "$PGDATA" -k /var/run/postgresql
