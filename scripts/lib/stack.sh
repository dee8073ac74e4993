# Shared shell helpers that start and stop a private Waypoint stack on loopback:
# a PostgreSQL 15 cluster with the extension preloaded, a Redis server, the test
# Snapchain node and the sidecar. Used by `make run` (scripts/run.sh) and by the
# end-to-end tests. Every server listens on 127.0.0.1, on a free port, and is stopped
# by the pid recorded when it was started (never by name).
#
# Source it, set STACK_DIR to a scratch directory, then call the start_* functions.
# stop_stack stops whatever was started, in reverse order.

PG_BIN="${PG_BIN:-$(pg_config --bindir)}"
STACK_PIDS=()

# channel_state_form: state lines (stdin) with the channel lines as the node's state reads
# show them (docs/state-lines.md, "Channels filled by backfill"): no message hash, no
# metadata line that says only the defaults, no unpinned pin. Comparisons of a mirror a
# backfill filled apply it to both sides alike.
channel_state_form() {
  awk -F'\t' 'BEGIN { OFS = "\t" }
    $1 == "channel_meta" && $3 == "members_only" && $4 == "approval" && $5 $6 $7 $8 $9 == "-----" { next }
    $1 == "channel_pin" && $3 == "" { next }
    $1 ~ /^channel_(meta|member|pin|moderation)$/ { NF = NF - 1 }
    { print }'
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# as_pg_user runs a command as the unprivileged user that owns the cluster:
# PostgreSQL refuses to run as root.
as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timed out after ${secs}s waiting for $what" >&2
      return 1
    fi
    sleep 0.2
  done
}

sidecar_caught_up() {  # sidecar_caught_up METRICS_PORT: every shard's durable cursor at the head it has seen
  curl -s "http://127.0.0.1:$1/metrics" | python3 -c '
import sys, re
cur, head = {}, {}
for line in sys.stdin:
    m = re.match(r"waypoint_sidecar_(cursor|node_head)_event_id\{[^}]*shard=\"(\d+)\"[^}]*\} (\d+)", line)
    if m: (cur if m.group(1) == "cursor" else head)[m.group(2)] = int(m.group(3))
sys.exit(0 if head and all(cur.get(s, -1) >= h > 0 for s, h in head.items()) else 1)'
}

start_redis() {  # sets REDIS_PORT, REDIS_PID, REDIS_URL
  REDIS_PORT=${REDIS_PORT:-$(free_port)}
  mkdir -p "$STACK_DIR/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$STACK_DIR/redis" \
    --appendonly yes --appendfsync everysec --save '' --maxmemory-policy noeviction \
    --daemonize no --logfile "$STACK_DIR/redis/redis.log" &
  REDIS_PID=$!
  STACK_PIDS+=("$REDIS_PID")
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  wait_for 20 "redis on port $REDIS_PORT" redis-cli -p "$REDIS_PORT" ping
}

start_postgres() {  # sets PG_PORT, PG_PID, PG_DATA; needs REDIS_URL; extra GUC lines in PG_EXTRA_CONF
  PG_PORT=${PG_PORT:-$(free_port)}
  PG_DATA="$STACK_DIR/pg/data"
  mkdir -p "$STACK_DIR/pg"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$STACK_DIR/pg"; fi
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    as_pg_user "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C >"$STACK_DIR/pg/initdb.log" 2>&1
  fi
  cat >"$PG_DATA/waypoint.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$STACK_DIR/pg'
shared_preload_libraries = 'waypoint'
max_worker_processes = 32
waypoint.redis_url = '$REDIS_URL'
waypoint.database = 'postgres'
${PG_EXTRA_CONF:-}
CONF
  grep -q "include 'waypoint.conf'" "$PG_DATA/postgresql.conf" || echo "include 'waypoint.conf'" >>"$PG_DATA/postgresql.conf"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$STACK_DIR/pg"; fi
  as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$STACK_DIR/pg/postgres.log" -w -t 60 start >/dev/null
  PG_PID=$(head -1 "$PG_DATA/postmaster.pid")
  STACK_PIDS+=("$PG_PID")
}

psql_stack() {  # psql against the stack's cluster
  # The binary itself, not Debian's wrapper: the wrapper is a Perl program that costs
  # ~45 ms of CPU per call, which polling loops took from the processes they measure.
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"
}

# wait_sql SECONDS CONDITION: returns once the SQL boolean CONDITION holds and prints the
# database clock (epoch seconds) of that moment; fails after SECONDS. One server-side loop
# checks it every 20 ms and commits between checks (so it holds back no vacuum horizon): a
# psql per check would take from the processes a benchmark measures far more CPU than the
# check itself.
wait_sql() {
  psql_stack -At -c "DO \$\$ DECLARE deadline timestamptz := clock_timestamp() + interval '$1 s'; BEGIN
      LOOP
        EXIT WHEN coalesce(($2), false);
        IF clock_timestamp() > deadline THEN
          RAISE EXCEPTION 'timed out after $1 s waiting for %', \$c\$$2\$c\$;
        END IF;
        COMMIT;
        PERFORM pg_sleep(0.02);
      END LOOP; END \$\$" -c "SELECT extract(epoch FROM clock_timestamp())"
}

# Entries the apply workers applied (shared-memory counters: they count since the server started).
APPLIED_SQL="(SELECT coalesce(sum(entries_applied), 0) FROM waypoint.workers WHERE role = 'apply')"
applied() { psql_stack -At -c "SELECT $APPLIED_SQL"; }

# wait_threads_resolved SECONDS: waits until no cast waits for its thread root; prints 0 if
# none was waiting, else the database clock when the queue was seen empty.
wait_threads_resolved() {
  if [ "$(psql_stack -At -c "SELECT EXISTS (SELECT 1 FROM waypoint.cast_thread_queue)")" = t ]; then
    wait_sql "$1" "NOT EXISTS (SELECT 1 FROM waypoint.cast_thread_queue)"
  else
    echo 0
  fi
}

start_node() {  # sets NODE_PORT, NODE_PID; args are passed to the test node
  local bin=$1; shift
  rm -f "$STACK_DIR/node.port"
  "$bin" --port 0 --port-file "$STACK_DIR/node.port" "$@" 2>"$STACK_DIR/node.log" &
  NODE_PID=$!
  STACK_PIDS+=("$NODE_PID")
  wait_for 60 "test node" test -s "$STACK_DIR/node.port"
  NODE_PORT=$(cat "$STACK_DIR/node.port")
}

start_sidecar() {  # sets SIDECAR_PID; args are passed to the sidecar
  local bin=$1; shift
  "$bin" "$@" 2>>"$STACK_DIR/sidecar.log" &
  SIDECAR_PID=$!
  STACK_PIDS+=("$SIDECAR_PID")
}

stop_pid() {  # stop_pid PID [SECONDS] [SIGNAL]: signal (TERM), wait, then SIGKILL
  local pid=$1 secs=${2:-30} sig=${3:-TERM}
  kill -0 "$pid" 2>/dev/null || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + secs))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.1
  done
}

stop_stack() {
  local i
  for ((i = ${#STACK_PIDS[@]} - 1; i >= 0; i--)); do
    # SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) would wait for clients.
    if [ "${STACK_PIDS[$i]}" = "${PG_PID:-}" ]; then
      stop_pid "${STACK_PIDS[$i]}" 60 INT
    else
      stop_pid "${STACK_PIDS[$i]}"
    fi
  done
  STACK_PIDS=()
}
