#!/usr/bin/env bash
# Times waypoint.apply_payloads over ~20k generated HubEvents (timing_events.py) in batches
# of 500 on a private PostgreSQL instance (Unix socket in a temp dir), using the installed
# extension. Prints one line per run: runs on an empty mirror, then (REPLAY=1) re-applying
# the same events to the filled mirror (every row a conflict).
#   test/regress/timing.sh [RUNS]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs=${1:-5}
bindir="${PG_BIN:-$(pg_config --bindir)}"
work="$(mktemp -d /tmp/waypoint-timing.XXXXXX)"
chmod 755 "$work"
python3 "$root/test/regress/timing_events.py" | sed 's/\t/\t\\\\x/' > "$work/events.tsv"
run=()
if [ "$(id -u)" = 0 ]; then chown -R postgres: "$work"; run=(runuser -u postgres --); fi
cleanup() { "${run[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
"${run[@]}" "$bindir/initdb" -D "$work/data" -U postgres --auth=trust >/dev/null
printf "shared_preload_libraries = 'waypoint'\nlisten_addresses = ''\nunix_socket_directories = '%s'\nwaypoint.redis_url = 'redis://127.0.0.1:1'\n" "$work" >> "$work/data/postgresql.conf"
"${run[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/log" -w start >/dev/null
psql=(psql -h "$work" -U postgres -X -q -At)
"${psql[@]}" -c "CREATE EXTENSION waypoint" -c "CREATE TABLE ev (n serial, kind text, payload bytea)" \
  -c "\\copy ev (kind, payload) FROM '$work/events.tsv'"
truncate="TRUNCATE waypoint.messages, waypoint.casts, waypoint.reactions, waypoint.links, waypoint.user_data;"
[ "${REPLAY:-0}" = 1 ] && truncate=""
for _ in $(seq "$runs"); do
  "${psql[@]}" <<SQL 2>&1 | sed 's/^NOTICE:  //'
$truncate
DO \$\$
DECLARE t0 timestamptz := clock_timestamp(); b int; bad int := 0;
BEGIN
  FOR b IN 0..(SELECT max(n) / 500 FROM ev) LOOP
    bad := bad + (SELECT count(*) FROM waypoint.apply_payloads(
      (SELECT array_agg(kind ORDER BY n) FROM ev WHERE n / 500 = b),
      (SELECT array_agg(payload ORDER BY n) FROM ev WHERE n / 500 = b)) WHERE NOT applied);
  END LOOP;
  RAISE NOTICE 'applied % events in % ms (% rejected)', (SELECT count(*) FROM ev),
    round(extract(epoch FROM clock_timestamp() - t0) * 1000), bad;
END \$\$;
SQL
done
