#!/usr/bin/env bash
# The randomized property test of the apply against the SQL that ships
# (apply_property.cpp): a temporary PostgreSQL instance (Unix socket in a temp dir, the
# installed extension preloaded), the generated script applied through
# waypoint.apply_payloads, then no key may differ from the simulated node.
#   apply_property.sh BUILD_DIR [--seed S] [--rounds R]
# PROPERTY_PROGRAM names the generator (default waypoint-apply-property; the app-key store
# has its own, waypoint-app-keys-property, and so do channels, waypoint-channels-property);
# PG_CONFIG the PostgreSQL installation (else the pg_config beside PG_BIN, else PATH's).
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd); shift
pg_config="${PG_CONFIG:-${PG_BIN:+$PG_BIN/pg_config}}"
bindir="$("${pg_config:-pg_config}" --bindir)"
program="${PROPERTY_PROGRAM:-waypoint-apply-property}"
work="$(mktemp -d /tmp/waypoint-property.XXXXXX)"
chmod 755 "$work"
run=()
if [ "$(id -u)" = 0 ]; then chown -R postgres: "$work"; run=(runuser -u postgres --); fi
cleanup() {
  "${run[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
"$BUILD_DIR/test/integration/$program" "$@" > "$work/property.sql"
chmod 644 "$work/property.sql"
"${run[@]}" "$bindir/initdb" -D "$work/data" -U postgres --auth=trust >/dev/null
printf "shared_preload_libraries = 'waypoint'\nlisten_addresses = ''\nunix_socket_directories = '%s'\nwaypoint.redis_url = 'redis://127.0.0.1:1'\n" \
  "$work" >> "$work/data/postgresql.conf"
"${run[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/log" -w start >/dev/null
"${run[@]}" "$bindir/psql" -X -q -h "$work" -U postgres -d postgres -c "CREATE EXTENSION waypoint" >/dev/null
"${run[@]}" "$bindir/psql" -X -q -h "$work" -U postgres -d postgres -f "$work/property.sql" > "$work/out.txt"
if grep -q "^mismatch\|^rejected" "$work/out.txt"; then
  grep "^mismatch\|^rejected" "$work/out.txt" | head -20
  echo "FAIL: the database differs from the simulated node ($(grep -c '^mismatch' "$work/out.txt") keys)" >&2
  exit 1
fi
grep -q "^checked [1-9]" "$work/out.txt" || { echo "FAIL: nothing was checked" >&2; cat "$work/out.txt" >&2; exit 1; }
grep "^checked" "$work/out.txt"
