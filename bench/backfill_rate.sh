#!/usr/bin/env bash
# Backfill throughput: a frozen test node, the sidecar in backfill mode, the extension
# applying; one all-fid backfill enqueued from SQL. Prints fids/s and messages/s from the
# enqueue to the moment the last fid_done was applied (fid_done is applied after every
# page of its fid: same partition, in order), so the figures are end to end. Then checks
# that the database equals the node's state lines.
#
# usage: bench/backfill_rate.sh BUILD_DIR [FIDS [MESSAGES_PER_FID]] [-- SIDECAR_ARGS...]
#   e.g. bench/backfill_rate.sh build 200
#        bench/backfill_rate.sh build 10000 20 -- --node-rps 100000 --backfill-concurrency 16
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd); shift
FIDS=${1:-200}; [ $# -gt 0 ] && shift
MESSAGES=${1:-20}; [ $# -gt 0 ] && [ "$1" != "--" ] && shift
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib/stack.sh"
STACK_DIR=$(mktemp -d /tmp/waypoint-bfrate.XXXXXX)
chmod 755 "$STACK_DIR"
trap 'stop_stack; rm -rf "$STACK_DIR"' EXIT

start_redis
start_postgres
psql_stack -c "CREATE EXTENSION waypoint" >/dev/null
# (--no-app-keys: the history the figures in docs/benchmarks.md were measured on; it also
# leaves out channels, which a backfill cannot read)
start_node "$BUILD_DIR/test/node/waypoint-test-node" --seed 7 --fids "$FIDS" --messages "$MESSAGES" --shards 2 \
  --freeze --no-app-keys --dump-state "$STACK_DIR/node.state"
wait_for 600 "node state dump" test -s "$STACK_DIR/node.state"
start_sidecar "$BUILD_DIR/sidecar/waypoint-sidecar" --mode backfill --node "127.0.0.1:$NODE_PORT" \
  --redis-url "$REDIS_URL" --metrics-listen "127.0.0.1:$(free_port)" "${EXTRA[@]}"
sleep 1
JOB=$(psql_stack -At -c "SELECT waypoint.enqueue_backfill_all()")
T0=$(psql_stack -At -c "SELECT created_at FROM waypoint.backfill_jobs WHERE job_id = $JOB")
wait_sql 3600 "(SELECT state FROM waypoint.backfill_progress WHERE job_id = $JOB) = 'done'" >/dev/null
psql_stack -At -F ' ' -c "
  SELECT 'fids ' || count(*), 'entries ' || sum(messages),
         'seconds ' || round(extract(epoch FROM max(recorded_at) - '$T0'::timestamptz)::numeric, 2),
         'fids/s ' || round(count(*) / extract(epoch FROM max(recorded_at) - '$T0'::timestamptz)::numeric, 1),
         'messages/s ' || round(sum(messages) / extract(epoch FROM max(recorded_at) - '$T0'::timestamptz)::numeric, 0)
  FROM waypoint.backfill_fid_progress WHERE job_id = $JOB"
channel_state_form <"$STACK_DIR/node.state" | LC_ALL=C sort >"$STACK_DIR/expected"
psql_stack -At -c "SELECT * FROM waypoint.state_lines()" | channel_state_form | LC_ALL=C sort >"$STACK_DIR/actual"
if cmp -s "$STACK_DIR/expected" "$STACK_DIR/actual"; then
  echo "state: equal to the node ($(wc -l <"$STACK_DIR/expected") lines)"
else
  echo "state: DIFFERS from the node"; exit 1
fi
