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
# The settings a big sync needs (docs/storage.md), as for a real mirror.
PG_EXTRA_CONF="$(cat "$ROOT/extension/postgresql-sync.conf")"
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

# Enqueue once: a resumed run finds its job in the outbox and carries on.
if [ "$(psql_stack -At -c "SELECT count(*) FROM waypoint.backfill_jobs")" != 0 ]; then BACKFILL=resume; fi
case "$BACKFILL" in
  none|resume) ;;
  all) psql_stack -c "SELECT waypoint.enqueue_backfill_all()" >/dev/null ;;
  *) psql_stack -c "SELECT waypoint.enqueue_backfill('{$BACKFILL}'::bigint[])" >/dev/null ;;
esac
echo "backfill enqueued ($BACKFILL); Ctrl-C to stop"

# One line of progress, read from the extension's views (the same ones users watch).
progress_fields() {
  psql_stack -At -F '|' -c "
    SELECT (SELECT coalesce(sum(fids_done),0) FROM waypoint.backfill_progress),
           (SELECT coalesce(sum(fids_failed),0) FROM waypoint.backfill_progress),
           (SELECT coalesce(sum(fids_queued)::text,'?') FROM waypoint.backfill_progress),
           (SELECT coalesce(sum(entries_applied),0) FROM waypoint.workers),
           (SELECT coalesce(sum(lag + pending),0) FROM waypoint.queue_depth WHERE stream LIKE '%entries'),
           (SELECT count(*) FROM waypoint.dead_letters)" 2>/dev/null
}

start=$SECONDS; last_applied=0; last_t=$SECONDS
while :; do
  IFS='|' read -r done failed queued applied backlog dead <<<"$(progress_fields || true)"
  if [ -n "${applied:-}" ]; then
    now=$SECONDS; rate=0
    [ $now -gt $last_t ] && rate=$(( (applied - last_applied) / (now - last_t) ))
    last_applied=$applied; last_t=$now
    [ "$queued" = "" ] && queued="?"
    line=$(printf 'fids %s/%s done%s | %s entries applied (%s/s) | backlog %s | dead letters %s' \
      "$done" "$queued" "$([ "$failed" != 0 ] && echo " ($failed failed)")" "$applied" "$rate" "$backlog" "$dead")
  else
    line="waiting for the database..."
  fi
  if [ -t 1 ]; then printf '\r\033[K[%4ds] %s' $((SECONDS - start)) "$line"; else echo "[$((SECONDS - start))s] $line"; fi
  if [ "$DURATION" -gt 0 ] && [ $((SECONDS - start)) -ge "$DURATION" ]; then break; fi
  kill -0 "$SIDECAR_PID" 2>/dev/null || { echo; echo "the sidecar exited; see $STATE_DIR/sidecar.log"; exit 1; }
  sleep 2
done
echo

echo "== summary"
psql_stack -c "SELECT job_id, state, fids_done, fids_failed, messages, messages_per_second FROM waypoint.backfill_progress ORDER BY job_id"
psql_stack -c "SELECT 'casts' AS what, count(*) FROM waypoint.casts_live UNION ALL
               SELECT 'reactions', count(*) FROM waypoint.reactions_live UNION ALL
               SELECT 'follows', count(*) FROM waypoint.links_live UNION ALL
               SELECT 'profiles', count(*) FROM waypoint.profiles UNION ALL
               SELECT 'verifications', count(*) FROM waypoint.verifications_live UNION ALL
               SELECT 'on-chain events', count(*) FROM waypoint.onchain_events"
echo "== example 1: the newest casts"
psql_stack -c "SELECT c.fid, p.username, left(c.text, 50) AS text, c.timestamp
               FROM waypoint.casts_live c LEFT JOIN waypoint.profiles p USING (fid)
               ORDER BY c.timestamp DESC LIMIT 5"
echo "== example 2: most followed fids"
psql_stack -c "SELECT target_fid AS fid, count(*) AS followers FROM waypoint.links_live
               WHERE link_type = 'follow' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5"
echo "== example 3: most liked casts"
psql_stack -c "SELECT target_cast_fid AS author, encode(target_cast_hash, 'hex') AS cast_hash, count(*) AS likes
               FROM waypoint.reactions_live WHERE reaction_type = 1 AND target_cast_hash IS NOT NULL
               GROUP BY 1, 2 ORDER BY 3 DESC, 2 LIMIT 5"
if [ -n "${NODE_PID:-}" ]; then
  # The embedded node can say what it holds: compare the mirror with it, line by line.
  kill -USR1 "$NODE_PID" 2>/dev/null && sleep 1
  psql_stack -At -c "SELECT * FROM waypoint.state_lines()" | LC_ALL=C sort >"$STATE_DIR/db.state"
  LC_ALL=C sort "$STATE_DIR/node.state" >"$STATE_DIR/node.sorted"
  n=$(wc -l <"$STATE_DIR/node.sorted")
  if cmp -s "$STATE_DIR/node.sorted" "$STATE_DIR/db.state"; then
    echo "== mirror check: the database equals the node's state ($n state lines)"
  else
    why="still catching up?"
    [ "$LIVE_RATE" != 0 ] && why="the node keeps producing live events: the newest are still in flight"
    echo "== mirror check: the database differs from the node in $(comm -3 "$STATE_DIR/node.sorted" "$STATE_DIR/db.state" | wc -l) of $n state lines ($why)"
  fi
fi
