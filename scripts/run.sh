#!/usr/bin/env bash
# The main job (`make run`): mirrors a Snapchain node into a local PostgreSQL.
# By default everything is embedded and private to this machine: a PostgreSQL 15
# cluster with the waypoint extension preloaded, a Redis server (AOF on, noeviction),
# the test Snapchain node (a real gRPC server with a generated dataset) and the sidecar.
# It enqueues a backfill of every fid from SQL, streams live events, shows progress,
# then prints a summary and example queries. State lives in --state-dir, so Ctrl-C
# stops everything and running it again resumes where it stopped.
set -euo pipefail
BUILD_DIR=$(cd "${1:-build}" && pwd); shift || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  cat <<USAGE
usage: make run ARGS="[options]"

  --node HOST:PORT     mirror a real Snapchain node instead of the embedded test node
  --tls                use TLS toward the node (with --node)
  --api-key KEY        API key header sent to the node (hosted providers); never logged
  --api-key-header H   header name for the key (default x-api-key)
  --fids N             size of the embedded test node's dataset (default 300)
  --live-rate N        live events per second from the embedded node (default 50)
  --backfill WHAT      all (default), none, or a comma-separated list of fids
  --duration SECONDS   stop by itself after SECONDS and print the summary (default: until Ctrl-C)
  --state-dir DIR      where the local cluster and Redis keep their data (default: .waypoint-run)
  --fresh              delete the state directory first
  -h, --help           this text
USAGE
}

NODE_ADDR=""; TLS=0; API_KEY=""; API_KEY_HEADER="x-api-key"; FIDS=300; LIVE_RATE=50
BACKFILL=all; DURATION=0; STATE_DIR="$ROOT/.waypoint-run"; FRESH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --node) NODE_ADDR=$2; shift 2 ;;
    --tls) TLS=1; shift ;;
    --api-key) API_KEY=$2; shift 2 ;;
    --api-key-header) API_KEY_HEADER=$2; shift 2 ;;
    --fids) FIDS=$2; shift 2 ;;
    --live-rate) LIVE_RATE=$2; shift 2 ;;
    --backfill) BACKFILL=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --state-dir) STATE_DIR=$2; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

source "$ROOT/scripts/lib/stack.sh"
[ "$FRESH" = 1 ] && rm -rf "$STATE_DIR"
mkdir -p "$STATE_DIR"; chmod 755 "$STATE_DIR"
STACK_DIR=$STATE_DIR
# Fixed ports per state dir would collide with other stacks; free ones are picked each run.
trap 'echo; echo "stopping..."; stop_stack; echo "stopped; run again to resume"' EXIT
trap 'exit 130' INT TERM

echo "starting Redis, PostgreSQL (waypoint extension preloaded)..."
start_redis
start_postgres
psql_stack -c "CREATE EXTENSION IF NOT EXISTS waypoint" >/dev/null

if [ -z "$NODE_ADDR" ]; then
  echo "starting the embedded test Snapchain node ($FIDS fids, $LIVE_RATE live events/s)..."
  start_node "$BUILD_DIR/test/node/waypoint-test-node" --seed 1 --fids "$FIDS" --shards 2 \
    --live-rate "$LIVE_RATE" --dump-state "$STATE_DIR/node.state"
  NODE_ADDR="127.0.0.1:$NODE_PORT"
fi

SIDECAR_ARGS=(--mode both --node "$NODE_ADDR" --redis-url "$REDIS_URL" --metrics-listen "127.0.0.1:$(free_port)")
[ "$TLS" = 1 ] && SIDECAR_ARGS+=(--tls)
if [ -n "$API_KEY" ]; then
  export WAYPOINT_API_KEY="$API_KEY"  # through the environment so it never shows in ps
  SIDECAR_ARGS+=(--api-key-header "$API_KEY_HEADER")
fi
echo "starting the sidecar toward $NODE_ADDR..."
start_sidecar "$BUILD_DIR/sidecar/waypoint-sidecar" "${SIDECAR_ARGS[@]}"

case "$BACKFILL" in
  none) ;;
  all) psql_stack -c "SELECT waypoint.waypoint_enqueue_backfill_all()" >/dev/null ;;
  *) psql_stack -c "SELECT waypoint.waypoint_enqueue_backfill('{$BACKFILL}'::bigint[])" >/dev/null ;;
esac
echo "backfill enqueued ($BACKFILL); Ctrl-C to stop"

progress() {
  psql_stack -At -F ' ' -c "
    SELECT format('fids %s/%s done%s | %s msgs | %s msg/s | backlog %s | dead letters %s',
      coalesce(sum(fids_done),0), coalesce(sum(fids_total),0),
      CASE WHEN coalesce(sum(fids_failed),0) > 0 THEN format(' (%s failed)', sum(fids_failed)) ELSE '' END,
      (SELECT count(*) FROM waypoint.messages),
      coalesce(round(sum(messages_per_second)),0),
      (SELECT coalesce(sum(lag),0) FROM waypoint.queue_depth),
      (SELECT count(*) FROM waypoint.dead_letters))
    FROM waypoint.backfill_progress" 2>/dev/null || echo "waiting for the database..."
}

start=$SECONDS
while :; do
  if [ -t 1 ]; then printf '\r\033[K[%4ds] %s' $((SECONDS - start)) "$(progress)"; else echo "[$((SECONDS - start))s] $(progress)"; fi
  if [ "$DURATION" -gt 0 ] && [ $((SECONDS - start)) -ge "$DURATION" ]; then break; fi
  kill -0 "$SIDECAR_PID" 2>/dev/null || { echo; echo "the sidecar exited; see $STATE_DIR/sidecar.log"; exit 1; }
  sleep 2
done
echo

echo "== summary"
psql_stack -c "SELECT * FROM waypoint.backfill_progress"
psql_stack -c "SELECT 'casts' AS what, count(*) FROM waypoint.casts_live UNION ALL
               SELECT 'reactions', count(*) FROM waypoint.reactions_live UNION ALL
               SELECT 'follows', count(*) FROM waypoint.links_live UNION ALL
               SELECT 'profiles', count(DISTINCT fid) FROM waypoint.user_data_live"
echo "== example: the newest casts"
psql_stack -c "SELECT fid, left(text, 60) AS text, timestamp FROM waypoint.casts_live ORDER BY timestamp DESC LIMIT 5"
echo "== example: most followed fids"
psql_stack -c "SELECT target_fid, count(*) AS followers FROM waypoint.links_live WHERE type = 'follow' GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
echo "== example: most liked casts"
psql_stack -c "SELECT encode(target_cast_hash, 'hex') AS cast, count(*) AS likes FROM waypoint.reactions_live WHERE reaction_type = 1 GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
echo "psql: psql -h 127.0.0.1 -p $PG_PORT -U postgres (while running)"
