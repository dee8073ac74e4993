#!/usr/bin/env bash
# Operations scenarios, end to end (test node -> sidecar -> Redis -> extension), real
# processes on loopback. Each passes when the database's state lines equal the node's.
#
# usage: ops_scenario.sh BUILD_DIR SCENARIO
#   redis-eviction    Redis set to allkeys-lru: the sidecar refuses to start (exit 2) and the
#                     workers refuse to apply (logged, in waypoint.workers); after CONFIG SET
#                     maxmemory-policy noeviction both proceed and a backfill converges
#   stream-delete     every partition stream (and the job stream) deleted mid-backfill, then
#                     every apply group destroyed: groups are recreated from 0 (logged), rows
#                     already applied stay, and a repair backfill converges
#   refresh-profiles  backfill everything but user data, then refresh_profiles():
#                     only user data is written (no other row changes), and the state converges
#   alerts            low alert thresholds; entries pile up while the extension is not yet
#                     created in the applying database: waypoint.queue_depth.status and the
#                     sidecar's alert metric/log flip to warning/critical at the thresholds,
#                     and back to ok once the workers drain the streams
#   node-outage       live stream; the node goes away (UNAVAILABLE): the sidecar's node breaker
#                     opens (metrics and waypoint.sync_status); the node comes back on the same
#                     port: the breaker closes and the mirror converges
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd)
SCENARIO=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/stack.sh"

NODE_BIN="$BUILD_DIR/test/node/waypoint-test-node"
SIDECAR_BIN="$BUILD_DIR/sidecar/waypoint-sidecar"
STACK_DIR=$(mktemp -d /tmp/waypoint-ops.XXXXXX)
chmod 755 "$STACK_DIR"
trap 'stop_stack; if [ "${KEEP:-0}" = 1 ]; then echo "kept $STACK_DIR"; else rm -rf "$STACK_DIR"; fi' EXIT

fail() {
  echo "FAIL $SCENARIO: $*"
  echo "--- sidecar log (tail)"; tail -20 "$STACK_DIR/sidecar.log" 2>/dev/null || true
  echo "--- postgres log (tail)"; tail -20 "$STACK_DIR/pg/postgres.log" 2>/dev/null || true
  exit 1
}
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
q() { psql_stack -At -c "$1"; }
qtest() { [ "$(q "$1")" "$2" "$3" ]; }  # qtest SQL OP VALUE, evaluated on each call (for wait_for)
# converge SECONDS: wait until the database's state lines equal the node's (channels in
# the state form: these mirrors are filled by backfill, docs/state-lines.md).
converge() {
  local deadline=$((SECONDS + $1))
  channel_state_form <"$STACK_DIR/node.state" | LC_ALL=C sort >"$STACK_DIR/expected"
  while :; do
    q "SELECT * FROM waypoint.state_lines()" | channel_state_form | LC_ALL=C sort >"$STACK_DIR/actual" || true
    cmp -s "$STACK_DIR/expected" "$STACK_DIR/actual" && return 0
    if [ $SECONDS -ge $deadline ]; then
      diff "$STACK_DIR/expected" "$STACK_DIR/actual" | head -20
      fail "database differs from the node ($(wc -l <"$STACK_DIR/expected") expected, $(wc -l <"$STACK_DIR/actual") got)"
    fi
    sleep 1
  done
}
job_done() {  # job_done JOB_ID: true when the job has a fid_done for every fid (or, all-fid jobs, the sidecar acked it)
  local j=$1
  [ "$(q "SELECT state FROM waypoint.backfill_progress WHERE job_id = $j")" = done ] && return 0
  # All-fid jobs have no known size: done when the job stream has nothing pending.
  [ "$(q "SELECT dispatched_at IS NOT NULL AND fids IS NULL FROM waypoint.backfill_jobs WHERE job_id = $j")" = t ] &&
    [ "$(rcli XPENDING waypoint:backfill:jobs backfill | head -1)" = 0 ]
}

FIDS=${FIDS:-40}
start_redis
# The mirror is filled by backfill only, which cannot read KEY_ADD messages: no app keys.
NODE_EXTRA=(--freeze --no-app-keys)
[ "$SCENARIO" = node-outage ] && NODE_EXTRA=(--block-ms 300 --no-app-keys)
start_node "$NODE_BIN" --seed 11 --fids "$FIDS" --shards 2 "${NODE_EXTRA[@]}" --dump-state "$STACK_DIR/node.state"
wait_for 120 "node state dump" test -s "$STACK_DIR/node.state"
SIDECAR_ARGS=(--mode backfill --node "127.0.0.1:$NODE_PORT" --redis-url "$REDIS_URL"
              --metrics-listen "127.0.0.1:$(free_port)" --consumer ops-e2e)

case "$SCENARIO" in
redis-eviction)
  rcli CONFIG SET maxmemory 512mb >/dev/null
  rcli CONFIG SET maxmemory-policy allkeys-lru >/dev/null
  start_postgres
  psql_stack -c "CREATE EXTENSION waypoint"
  # The sidecar refuses, with the reason.
  set +e
  "$SIDECAR_BIN" "${SIDECAR_ARGS[@]}" 2>"$STACK_DIR/sidecar.log"
  rc=$?
  set -e
  [ $rc = 2 ] || fail "sidecar exit status $rc, expected 2"
  grep -q "refusing to start.*maxmemory-policy allkeys-lru" "$STACK_DIR/sidecar.log" || fail "no refusal in the sidecar log"
  # The workers refuse too: logged once, visible in waypoint.workers, never connected.
  wait_for 60 "worker refusal in waypoint.workers" \
    qtest "SELECT count(*) FROM waypoint.workers WHERE last_error LIKE '%maxmemory-policy allkeys-lru%'" -ge 1
  [ "$(q "SELECT bool_or(redis_connected) FROM waypoint.workers")" = f ] || fail "a worker applies from an evicting Redis"
  grep -q "refusing to apply: Redis .* maxmemory-policy allkeys-lru" "$STACK_DIR/pg/postgres.log" || fail "no refusal in the postgres log"
  job=$(q "SELECT waypoint.enqueue_backfill_all()")
  sleep 2
  [ "$(q "SELECT dispatched_at IS NULL FROM waypoint.backfill_jobs WHERE job_id = $job")" = t ] ||
    fail "the dispatcher wrote to a refused Redis"
  # The operator fixes the policy: both halves proceed on their own (the sidecar is started again).
  rcli CONFIG SET maxmemory-policy noeviction >/dev/null
  wait_for 60 "workers accepting Redis" qtest "SELECT bool_and(redis_connected) FROM waypoint.workers WHERE pid IS NOT NULL" = t
  start_sidecar "$SIDECAR_BIN" "${SIDECAR_ARGS[@]}"
  converge 240
  ;;
stream-delete)
  start_postgres
  psql_stack -c "CREATE EXTENSION waypoint"
  start_sidecar "$SIDECAR_BIN" "${SIDECAR_ARGS[@]}"
  q "SELECT waypoint.enqueue_backfill_all()" >/dev/null
  wait_for 120 "first rows applied" qtest "SELECT count(*) FROM waypoint.messages" -gt 200
  before=$(q "SELECT count(*) FROM waypoint.messages")
  keys=$(rcli --scan --pattern 'waypoint:{p*}:entries' | tr '\n' ' ')
  # shellcheck disable=SC2086
  rcli DEL $keys waypoint:backfill:jobs >/dev/null
  echo "deleted $(echo $keys | wc -w) partition streams and the job stream with $before messages applied"
  after=$(q "SELECT count(*) FROM waypoint.messages")
  [ "$after" -ge "$before" ] || fail "applied rows were lost ($before -> $after)"
  # The workers notice (NOGROUP), log it and recreate their groups.
  wait_for 60 "recreation logged" grep -q "or its group was deleted (NOGROUP); recreating group" "$STACK_DIR/pg/postgres.log"
  wait_for 60 "apply groups recreated" sh -c "redis-cli -p $REDIS_PORT XINFO GROUPS 'waypoint:{p0}:entries' | grep -q apply"
  # Entries deleted before they were applied are gone: a repair backfill brings them back.
  job=$(q "SELECT waypoint.enqueue_backfill_all()")
  wait_for 60 "job stream group recreated" grep -q "recreated group 'backfill'" "$STACK_DIR/sidecar.log"
  # Then the groups alone are destroyed (streams kept): recreated from 0, redelivery is idempotent.
  sleep 3
  for k in $keys; do rcli XGROUP DESTROY "$k" apply >/dev/null; done
  converge 240
  [ "$(q "SELECT count(*) FROM waypoint.messages")" -ge "$before" ] || fail "applied rows were lost"
  dup=$(rcli XINFO GROUPS 'waypoint:{p0}:entries' | grep -c '^apply$' || true)
  [ "$dup" = 1 ] || fail "expected one apply group on partition 0, found $dup"
  ;;
refresh-profiles)
  start_postgres
  psql_stack -c "CREATE EXTENSION waypoint"
  start_sidecar "$SIDECAR_BIN" "${SIDECAR_ARGS[@]}"
  all_but_user_data="ARRAY(SELECT t FROM unnest(waypoint.backfill_type_names()) AS t WHERE t <> 'user_data')"
  job=$(q "SELECT waypoint.enqueue_backfill(ARRAY(SELECT generate_series(1, $FIDS))::bigint[], $all_but_user_data)")
  wait_for 240 "backfill without user data" job_done "$job"
  [ "$(q "SELECT count(*) FROM waypoint.user_data")" = 0 ] || fail "user data arrived without being asked for"
  [ "$(q "SELECT count(*) FROM waypoint.messages WHERE type = 11")" = 0 ] || fail "user-data messages arrived without being asked for"
  others=$(q "SELECT count(*) FROM waypoint.casts")
  [ "$others" -gt 0 ] || fail "no casts after the first backfill"
  xid=$(q "SELECT txid_current()")
  job=$(q "SELECT waypoint.refresh_profiles()")
  converge 240
  wait_for 60 "profile refresh job done" job_done "$job"
  # Only user data was written: no row of any other table changed after the refresh began.
  for t in casts reactions links link_compact_states verifications username_proof_messages lend_storage \
           username_proofs onchain_events; do
    n=$(q "SELECT count(*) FROM waypoint.$t WHERE xmin::text::bigint >= $xid")
    [ "$n" = 0 ] || fail "the profile refresh wrote $n row(s) of waypoint.$t"
  done
  n=$(q "SELECT count(*) FROM waypoint.messages WHERE xmin::text::bigint >= $xid AND type <> 11")
  [ "$n" = 0 ] || fail "the profile refresh wrote $n non-user-data message row(s)"
  ud=$(q "SELECT count(*) FROM waypoint.user_data")
  [ "$ud" -gt 0 ] || fail "no user data after the refresh"
  echo "profile refresh wrote $ud user_data rows and nothing else"
  ;;
alerts)
  PG_EXTRA_CONF=$'waypoint.alert_backlog_warning = 40\nwaypoint.alert_backlog_critical = 235'
  start_postgres
  # The views live in a second database; the workers wait for the extension in "postgres".
  psql_stack -c "CREATE DATABASE ops"
  psql_stack -d ops -c "CREATE EXTENSION waypoint"
  qo() { psql_stack -d ops -At -c "$1"; }
  [ "$(qo "SELECT string_agg(DISTINCT status, ',') FROM waypoint.queue_depth WHERE partition IS NOT NULL")" = ok ] ||
    fail "status not ok before any entry"
  METRICS_PORT=$(free_port)
  start_sidecar "$SIDECAR_BIN" --mode both --node "127.0.0.1:$NODE_PORT" --redis-url "$REDIS_URL" \
    --metrics-listen "127.0.0.1:$METRICS_PORT" --alert-backlog-warning 40 --alert-backlog-critical 235 --consumer ops-e2e
  rcli XADD waypoint:backfill:jobs '*' v 1 job 1 fids all types '' >/dev/null
  backlog_settled() {
    local a b
    a=$(qo "SELECT sum(coalesce(pending + lag, length)) FROM waypoint.queue_depth WHERE partition IS NOT NULL")
    sleep 2
    b=$(qo "SELECT sum(coalesce(pending + lag, length)) FROM waypoint.queue_depth WHERE partition IS NOT NULL")
    [ "$a" = "$b" ] && [ "$b" -gt 0 ]
  }
  wait_for 120 "backlog settled" backlog_settled
  qo "SELECT partition, coalesce(pending + lag, length) AS backlog, status FROM waypoint.queue_depth WHERE partition IS NOT NULL ORDER BY partition"
  # Every partition's status is exactly what its backlog says.
  wrong=$(qo "SELECT count(*) FROM waypoint.queue_depth WHERE partition IS NOT NULL AND status IS DISTINCT FROM
                CASE WHEN coalesce(pending + lag, length) >= 235 THEN 'critical'
                     WHEN coalesce(pending + lag, length) >= 40 THEN 'warning' ELSE 'ok' END")
  [ "$wrong" = 0 ] || fail "$wrong partition(s) with a status that does not match the thresholds"
  [ "$(qo "SELECT count(*) FROM waypoint.queue_depth WHERE status = 'critical'")" -ge 1 ] || fail "no critical partition"
  [ "$(qo "SELECT count(*) FROM waypoint.queue_depth WHERE status = 'warning'")" -ge 1 ] || fail "no warning partition"
  wait_for 30 "sidecar alert metric critical" sh -c "curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep -q '^waypoint_sidecar_queue_alert_level 2'"
  grep -q "queue alert ok -> critical\|queue alert warning -> critical" "$STACK_DIR/sidecar.log" || fail "no alert crossing in the sidecar log"
  # The workers start applying: back to ok, and the way back is logged once per partition.
  psql_stack -c "CREATE EXTENSION waypoint"
  all_ok() { [ "$(qo "SELECT string_agg(DISTINCT status, ',') FROM waypoint.queue_depth WHERE partition IS NOT NULL")" = ok ]; }
  wait_for 120 "every partition ok" all_ok
  wait_for 30 "sidecar alert metric ok" sh -c "curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep -q '^waypoint_sidecar_queue_alert_level 0'"
  crossings=$(grep -c "queue alert .* -> ok on" "$STACK_DIR/sidecar.log" || true)
  [ "$crossings" -ge 1 ] && [ "$crossings" -le 8 ] || fail "expected one return-to-ok line per alerting partition, got $crossings"
  converge 120
  ;;
node-outage)
  start_postgres
  psql_stack -c "CREATE EXTENSION waypoint"
  METRICS_PORT=$(free_port)
  start_sidecar "$SIDECAR_BIN" --mode stream --node "127.0.0.1:$NODE_PORT" --redis-url "$REDIS_URL" \
    --metrics-listen "127.0.0.1:$METRICS_PORT" --watchdog-ms 3000 --breaker-failures 3 --breaker-open-ms 2000 \
    --backoff-max-ms 500
  metric() { curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | sed -n "s/^$1 //p" | head -1; }
  breaker_is() { [ "$(q "SELECT DISTINCT node_breaker FROM waypoint.sync_status")" = "$1" ]; }
  wait_for 60 "breaker closed and shown in sync_status" breaker_is closed
  converge 120
  # The node goes away: Subscribe answers UNAVAILABLE, the breaker opens.
  stop_pid "$NODE_PID"
  wait_for 60 "breaker open in the metrics" sh -c "curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep -q '^waypoint_sidecar_breaker_state{dependency=\"node\"} 2'"
  wait_for 30 "breaker open in waypoint.sync_status" breaker_is open
  echo "node down: breaker open (opened $(metric 'waypoint_sidecar_breaker_opened_total{dependency="node"}') time(s))"
  # Back on the same port, same history: the next trial closes the breaker.
  "$NODE_BIN" --port "$NODE_PORT" --seed 11 --fids "$FIDS" --shards 2 --block-ms 300 2>>"$STACK_DIR/node.log" &
  NODE_PID=$!
  STACK_PIDS+=("$NODE_PID")
  wait_for 60 "breaker closed again" sh -c "curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep -q '^waypoint_sidecar_breaker_state{dependency=\"node\"} 0'"
  wait_for 30 "breaker closed in waypoint.sync_status" breaker_is closed
  converge 120
  ;;
*) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
echo "PASS $SCENARIO: $(wc -l <"$STACK_DIR/expected") state lines equal to the node's"
