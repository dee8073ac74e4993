#!/usr/bin/env bash
# monitoring_e2e: the real postgres_exporter and the real Prometheus watching a running
# stack on loopback (PostgreSQL with the extension, Redis, the test node with live blocks,
# the sidecar in both modes), with the files of docker/monitoring/ as they are (only the
# scrape targets, the intervals and the rules path of prometheus.yml are replaced).
#   1. the exporter logs in as waypoint_exporter, created by role.sql (not a superuser);
#   2. a dead letter is injected and a backfill of FIDS fids enqueued;
#   3. while it runs, and again when it is done, every series of docs/monitoring.md must
#      exist with its labels and sane values (monitoring_check.py series);
#   4. every rule evaluates; WaypointDeadLettersIncreasing fires and no other alert;
#   5. every dashboard query names only series Prometheus holds and returns data, and a
#      dashboard with a misspelled series fails that check.
# usage: monitoring_scenario.sh BUILD_DIR     (KEEP=1 keeps the scratch directory;
#        SERIES_OUT=FILE also writes the series seen, name -> labels, to FILE)
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/stack.sh"
CHECK="$ROOT/test/monitoring/monitoring_check.py"
MON="$ROOT/docker/monitoring"
EXPORTER_BIN=${EXPORTER_BIN:-prometheus-postgres-exporter}
PROMETHEUS_BIN=${PROMETHEUS_BIN:-prometheus}
FIDS=${FIDS:-250}

fail() {
  echo "FAIL monitoring_e2e: $*"
  for f in sidecar.log pg/postgres.log exporter.log prometheus.log; do
    echo "--- $f (tail)"; tail -15 "$STACK_DIR/$f" 2>/dev/null || true
  done
  exit 1
}
for b in "$EXPORTER_BIN" "$PROMETHEUS_BIN" promtool; do
  command -v "$b" >/dev/null || { echo "FAIL monitoring_e2e: $b not found (scripts/install-deps.sh)"; exit 1; }
done

STACK_DIR=$(mktemp -d /tmp/waypoint-monitoring.XXXXXX)
chmod 755 "$STACK_DIR"
trap 'stop_stack; if [ "${KEEP:-0}" = 1 ]; then echo "kept $STACK_DIR"; else rm -rf "$STACK_DIR"; fi' EXIT
q() { psql_stack -At -c "$1"; }

start_redis
start_postgres
psql_stack -c "CREATE EXTENSION waypoint"
# The exporter's role, as an operator creates it; its password must appear in no log.
EXPORTER_PASSWORD="mon-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
WAYPOINT_EXPORTER_PASSWORD="$EXPORTER_PASSWORD" psql_stack -f "$MON/postgres-exporter/role.sql" 2>"$STACK_DIR/role.log" ||
  fail "role.sql: $(cat "$STACK_DIR/role.log")"
[ "$(q "SELECT rolsuper FROM pg_roles WHERE rolname = 'waypoint_exporter'")" = f ] || fail "role.sql did not create a plain role"

start_node "$BUILD_DIR/test/node/waypoint-test-node" --seed 5 --fids "$FIDS" --shards 2 --live-rate 4 --block-ms 500
METRICS_PORT=$(free_port)
start_sidecar "$BUILD_DIR/sidecar/waypoint-sidecar" --mode both --node "127.0.0.1:$NODE_PORT" --redis-url "$REDIS_URL" \
  --metrics-listen "127.0.0.1:$METRICS_PORT" --consumer monitoring-e2e

EXPORTER_PORT=$(free_port)
DATA_SOURCE_NAME="postgresql://waypoint_exporter:$EXPORTER_PASSWORD@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
  "$EXPORTER_BIN" --web.listen-address="127.0.0.1:$EXPORTER_PORT" \
  --extend.query-path="$MON/postgres-exporter/queries.yaml" >"$STACK_DIR/exporter.log" 2>&1 &
STACK_PIDS+=("$!")

# prometheus.yml as shipped, pointed at this stack and scraping every 2 s.
PROM_PORT=$(free_port)
mkdir -p "$STACK_DIR/prom"
python3 - "$MON/prometheus/prometheus.yml" "$STACK_DIR/prom/prometheus.yml" "$MON/prometheus/rules.yml" \
  "127.0.0.1:$METRICS_PORT" "127.0.0.1:$EXPORTER_PORT" <<'PY'
import sys, yaml
src, dst, rules, sidecar, exporter = sys.argv[1:]
c = yaml.safe_load(open(src))
c["global"].update(scrape_interval="2s", scrape_timeout="2s", evaluation_interval="2s")
c["rule_files"] = [rules]
targets = {"sidecar:9100": sidecar, "postgres-exporter:9187": exporter}
for job in c["scrape_configs"]:
    for sc in job["static_configs"]:
        sc["targets"] = [targets[t] for t in sc["targets"]]   # a KeyError: prometheus.yml changed
yaml.safe_dump(c, open(dst, "w"))
PY
"$PROMETHEUS_BIN" --config.file="$STACK_DIR/prom/prometheus.yml" --storage.tsdb.path="$STACK_DIR/prom/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$STACK_DIR/prometheus.log" 2>&1 &
STACK_PIDS+=("$!")
PROM="http://127.0.0.1:$PROM_PORT"
pq() {  # pq PROMQL: number of series of an instant query
  curl -sf --get "$PROM/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))'
}
pq_has() { [ "$(pq "$1")" -ge "${2:-1}" ]; }
wait_for 60 "Prometheus ready" curl -sf "$PROM/-/ready" || fail "Prometheus did not start"
wait_for 90 "both targets scraped" pq_has 'up{job=~"waypoint-sidecar|waypoint-postgres"} == 1' 2 || fail "targets not up"
wait_for 60 "an exporter scrape without query errors" pq_has 'pg_exporter_last_scrape_error == 0' ||
  fail "the exporter's queries fail"
wait_for 60 "live events applied on both shards" pq_has 'waypoint_shard_applied_height > 0' 2 || fail "no live apply"

# A dead letter: an entry without the fields of an entry.
redis-cli -p "$REDIS_PORT" XADD 'waypoint:{p0}:entries' '*' garbage 1 >/dev/null
JOB=$(q "SELECT waypoint.enqueue_backfill(ARRAY(SELECT generate_series(1, $FIDS))::bigint[])")
echo "backfill job $JOB of $FIDS fids enqueued"

# 3. Mid-backfill: Prometheus must see the job running, neither empty nor done.
wait_for 120 "Prometheus sees the backfill under way" \
  pq_has "waypoint_backfill_running{job_id=\"$JOB\"} == 1 and waypoint_backfill_fids_done{job_id=\"$JOB\"} > 0" ||
  fail "the running backfill never showed"
wait_for 30 "the lag estimate" pq_has 'waypoint:shard_lag_seconds:estimate' 2 || fail "no lag estimate"
# The two targets are scraped at different moments of the interval: the database can show
# finished fids before Prometheus has a sidecar sample taken after the sidecar counted them.
wait_for 30 "the sidecar's backfill counters scraped" \
  pq_has 'waypoint_sidecar_backfill_fids_total{status="ok"} > 0' || fail "no sidecar backfill counters"
python3 "$CHECK" series "$ROOT" "$PROM" running fids="$FIDS" job="$JOB" || fail "series while the backfill runs"

job_done() { [ "$(q "SELECT state FROM waypoint.backfill_progress WHERE job_id = $JOB")" = done ]; }
wait_for 300 "backfill job $JOB done" job_done || fail "the backfill did not finish"
wait_for 60 "Prometheus sees the job done" pq_has "waypoint_backfill_running{job_id=\"$JOB\"} == 0" || fail "done not seen"
sleep 5  # a few more scrapes after the end, so rates and the last report settle
python3 "$CHECK" series "$ROOT" "$PROM" done fids="$FIDS" job="$JOB" || fail "series after the backfill"

# 4. Rules and alerts.
wait_for 60 "the dead-letter alert firing" \
  pq_has 'ALERTS{alertname="WaypointDeadLettersIncreasing",alertstate="firing",reason="decode"}' ||
  fail "WaypointDeadLettersIncreasing never fired"
python3 "$CHECK" alerts "$ROOT" "$PROM" || fail "rules or alerts"

# 5. The dashboard against the series seen.
SEEN="$STACK_DIR/series-seen.json"
python3 "$CHECK" collect "$PROM" "$SEEN"
if [ -n "${SERIES_OUT:-}" ]; then cp "$SEEN" "$SERIES_OUT"; fi
python3 "$CHECK" dashboard "$PROM" "$MON/grafana/dashboards/waypoint.json" "$SEEN" || fail "dashboard"
# The check must be able to fail: one series misspelled.
python3 - "$MON/grafana/dashboards/waypoint.json" "$STACK_DIR/broken.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = next(p for p in d["panels"] if p.get("targets"))
p["targets"][0]["expr"] = p["targets"][0]["expr"].replace("waypoint_", "waypoint_misspelled_", 1)
json.dump(d, open(sys.argv[2], "w"))
PY
if python3 "$CHECK" dashboard "$PROM" "$STACK_DIR/broken.json" "$SEEN" >"$STACK_DIR/broken.out"; then
  fail "the dashboard check passes a dashboard with a misspelled series"
fi
grep -q "waypoint_misspelled_" "$STACK_DIR/broken.out" || fail "the broken dashboard failed for another reason"
echo "ok a dashboard with a misspelled series fails the check"

# No secret in any log.
if grep -rlF "$EXPORTER_PASSWORD" "$STACK_DIR"/*.log "$STACK_DIR/pg/postgres.log" 2>/dev/null; then
  fail "the exporter's password appears in a log"
fi
echo "PASS monitoring_e2e: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$SEEN") series seen; documented series, alerts and dashboard checked"
