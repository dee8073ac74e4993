#!/usr/bin/env bash
# Scale benchmark (docs/benchmarks.md, "Scale"): how apply throughput, WAL and database
# size per message evolve as the mirror grows, measured through the real pipeline
# (scale-mode test node -> sidecar -> Redis -> the extension's apply workers), chunk by
# chunk, and projected to a full mainnet sync.
#
# usage: bench/scale.sh BUILD_DIR [--mode stream|backfill|both] [--messages N] [--chunks K]
#          [--fids F] [--settings small|recommended] [--seed S] [--out-dir DIR]
#          [--work-dir DIR] [--keep] [--bulk] [--thread-parents]
#
# Per chunk, with the apply workers paused (waypoint.apply_paused = on):
#   stream:   the node is told (its release file) to generate the stream up to the chunk's
#             last message; the sidecar copies it into Redis; the chunk is in once every
#             shard's durable sidecar cursor reached the last event id the node reports.
#   backfill: the chunk's fid range is enqueued (enqueue_backfill); it is in once
#             the sidecar wrote fid_done for every fid of the chunk.
# Then the workers are unpaused and timed until they applied the chunk (stream: the
# workers' entries_applied reached the node's event count; backfill: the job is done,
# i.e. every fid_done was applied), and paused again. Generating and signing happen in
# the prefill only, so the node and sidecar take no CPU from the timed drain.
# --bulk starts with waypoint.begin_bulk_sync() and ends with end_bulk_sync(), timing the
# workers' build of the secondary indexes (docs/storage.md).
# --thread-parents: replies name earlier casts of the dataset (the node's
# --scale-thread-parents), so threads form and the thread-root pass has chains to resolve.
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd); shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=both MESSAGES=30000000 CHUNKS=12 FIDS=0 SETTINGS=recommended SEED=1 OUT_DIR= WORK_DIR=${TMPDIR:-/tmp} KEEP=0 BULK=0 THREAD_PARENTS=0
MAINNET=${SCALE_MAINNET_MESSAGES:-665000000}
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) MODE=$2; shift ;;
    --messages) MESSAGES=$2; shift ;;
    --chunks) CHUNKS=$2; shift ;;
    --fids) FIDS=$2; shift ;;
    --settings) SETTINGS=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --out-dir) OUT_DIR=$2; shift ;;
    --work-dir) WORK_DIR=$2; shift ;;
    --keep) KEEP=1 ;;
    --bulk) BULK=1 ;;
    --thread-parents) THREAD_PARENTS=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
case "$MODE" in stream|backfill|both) ;; *) echo "--mode must be stream, backfill or both" >&2; exit 2 ;; esac
CONF_FILE=${SCALE_PG_CONF:-$ROOT/bench/scale-$SETTINGS.conf}
[ -f "$CONF_FILE" ] || { echo "no settings file $CONF_FILE (--settings small|recommended, or SCALE_PG_CONF)" >&2; exit 2; }
# recommended = the settings make run and the Docker image use (extension/postgresql-sync.conf),
# then the bench's own lines (a shared_buffers far below the mirror's size, the workers).
CONF_TEXT=$(cat "$CONF_FILE")
[ "$SETTINGS" = recommended ] && [ -z "${SCALE_PG_CONF:-}" ] &&
  CONF_TEXT="$(cat "$ROOT/extension/postgresql-sync.conf")
$CONF_TEXT"
NODE_BIN="$BUILD_DIR/test/node/waypoint-test-node"
SIDECAR_BIN="$BUILD_DIR/sidecar/waypoint-sidecar"
for b in "$NODE_BIN" "$SIDECAR_BIN"; do [ -x "$b" ] || { echo "missing $b (build first)" >&2; exit 2; }; done
# Outputs: docs/ by default; --out-dir (smoke runs) leaves docs/ alone.
if [ -n "$OUT_DIR" ]; then
  mkdir -p "$OUT_DIR"; OUT_DIR=$(cd "$OUT_DIR" && pwd)
  DOC="$OUT_DIR/benchmarks.md"; CSV="$OUT_DIR/bench-scale.csv"; PNG="$OUT_DIR/bench-scale.png"
else
  DOC="$ROOT/docs/benchmarks.md"; CSV="$ROOT/docs/bench-scale.csv"; PNG="$ROOT/docs/bench-scale.png"
fi
# The sidecar must use the cluster's partition count.
PARTITIONS=$(sed -n 's/^[[:space:]]*waypoint\.partitions[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$CONF_FILE" | tail -1)
PARTITIONS=${PARTITIONS:-8}

source "$ROOT/scripts/lib/stack.sh"
log() { echo "[scale $(date +%T)] $*" >&2; }
q() { psql_stack -At -c "$1"; }
# The picture needs gnuplot (Debian's gnuplot-nox): installed once if missing, before
# anything is measured.
if ! command -v gnuplot >/dev/null && [ "$(id -u)" -eq 0 ]; then
  apt-get install -y -q gnuplot-nox >/dev/null 2>&1 || log "could not install gnuplot-nox: no picture"
fi
now() { date +%s.%N; }
metric() {  # metric NAME [LABEL_SUBSTRING]: sum of a sidecar metric over its labels
  curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
    awk -v n="$1" -v l="${2:-}" '($1 == n || index($1, n "{") == 1) && index($1, l) {s += $2} END {printf "%.0f\n", s}'
}
status() {  # status KEY [SHARD]: a value of the node's status file
  if [ $# -eq 1 ]; then awk -v k="$1" '$1 == k {print $2}' "$STACK_DIR/node.status" 2>/dev/null
  else awk -v s="$2" '$1 == "last_id" && $2 == s {print $3}' "$STACK_DIR/node.status" 2>/dev/null; fi
}
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
set_paused() {  # ALTER SYSTEM beats the conf file; a reload reaches the workers within a round
  q "ALTER SYSTEM SET waypoint.apply_paused = $1" >/dev/null
  q "SELECT pg_reload_conf()" >/dev/null
}

# stream_in TARGET: the node generated up to TARGET messages and the sidecar's durable
# cursor of every shard reached the node's last event id (all of it flushed to Redis).
stream_in() {
  [ "$(status release)" = "$1" ] || return 1
  local s id
  for ((s = 1; s <= SHARDS; s++)); do
    id=$(status last_id "$s")
    [ "$(metric waypoint_sidecar_cursor_event_id "shard=\"$s\"")" -ge "$id" ] || return 1
  done
}

backfill_in() {  # backfill_in FIDS: the sidecar finished (wrote fid_done of) FIDS fids
  [ "$(metric waypoint_sidecar_backfill_fids_total)" -ge "$1" ]
}
# threads_resolved: wait_threads_resolved (the workers resolve thread roots between
# batches; in bulk mode only once the indexes are back).
threads_resolved() { wait_threads_resolved 36000; }

run_mode() {  # run_mode stream|backfill: one fresh stack, all chunks, appends to $RESULTS
  local mode=$1
  STACK_DIR=$(mktemp -d "$WORK_DIR/waypoint-scale.XXXXXX")
  chmod 755 "$STACK_DIR"
  PG_PORT= REDIS_PORT=
  log "$mode: stack in $STACK_DIR, settings $SETTINGS ($CONF_FILE)"
  start_redis
  # Workers start paused: nothing is applied before the first chunk is in Redis.
  PG_EXTRA_CONF="$CONF_TEXT
waypoint.apply_paused = on"
  start_postgres
  wait_for 60 "postgres" psql_stack -c "SELECT 1"
  q "SHOW waypoint.apply_paused" >/dev/null 2>&1 ||
    { echo "this build of the extension has no waypoint.apply_paused" >&2; exit 1; }
  q "CREATE EXTENSION waypoint" >/dev/null
  # --bulk: the initial-sync mode (docs/storage.md): no secondary indexes until the end.
  [ "$BULK" = 1 ] && q "SELECT waypoint.begin_bulk_sync()" >/dev/null
  echo 0 >"$STACK_DIR/release"
  local fid_args=(); [ "$FIDS" -gt 0 ] && fid_args=(--scale-fids "$FIDS")
  [ "$THREAD_PARENTS" = 1 ] && fid_args+=(--scale-thread-parents)
  start_node "$NODE_BIN" --seed "$SEED" --shards "$SHARDS" --scale-messages "$MESSAGES" "${fid_args[@]}" \
    --scale-release "$STACK_DIR/release" --scale-status "$STACK_DIR/node.status" --scale-plan "$STACK_DIR/plan"
  wait_for 600 "node plan" test -s "$STACK_DIR/plan"
  grep -h 'scale dataset' "$STACK_DIR/node.log" >&2
  DATASET=$(sed -n 's/.*scale dataset of \([0-9]* messages over [0-9]* fids ([^)]*)\).*/\1/p' "$STACK_DIR/node.log")
  METRICS_PORT=$(free_port)
  # The watermarks are out of reach: the workers are paused on purpose while Redis fills.
  # No watchdog reconnects while the node is quiet between chunks.
  local extra=(--watchdog-ms 3600000 --high-watermark 1000000000000 --low-watermark 500000000000)
  [ "$mode" = backfill ] && extra+=(--node-rps 1000000 --backfill-concurrency 8)
  start_sidecar "$SIDECAR_BIN" --mode "$mode" --node "127.0.0.1:$NODE_PORT" --redis-url "$REDIS_URL" \
    --partitions "$PARTITIONS" --metrics-listen "127.0.0.1:$METRICS_PORT" --log-level warn "${extra[@]}"
  wait_for 30 "sidecar metrics" curl -sf "http://127.0.0.1:$METRICS_PORT/metrics"

  local total held_total
  total=$(awk '!/^#/ {s += $3} END {print s}' "$STACK_DIR/plan")
  held_total=$(awk '!/^#/ {s += $4} END {print s}' "$STACK_DIR/plan")
  # Backfill chunks: consecutive fid ranges of about total/CHUNKS messages each.
  awk -v k="$CHUNKS" -v t="$total" '!/^#/ {c += $3; h += $4; if (c >= t * (n + 1) / k || c == t) {print ++n, lo + 1, $1, c, h; lo = $1}}' \
    "$STACK_DIR/plan" >"$STACK_DIR/fid_chunks"
  local nchunks; nchunks=$([ "$mode" = backfill ] && wc -l <"$STACK_DIR/fid_chunks" || echo "$CHUNKS")

  local i rows_prev=0 events_prev=0 size0
  size0=$(q "SELECT pg_database_size(current_database())")
  for ((i = 1; i <= nchunks; i++)); do
    local lsn0 dbs0 t_pre0 t_pre1 rows applied0 job= lo hi target
    lsn0=$(q "SELECT pg_current_wal_lsn()")
    dbs0=$(q "SELECT pg_database_size(current_database())")
    applied0=$(applied)
    t_pre0=$(now)
    if [ "$mode" = stream ]; then
      # The last chunk releases everything (the plan's total is only about --messages).
      target=$((MESSAGES * i / CHUNKS)); [ "$i" -eq "$CHUNKS" ] && target=$((total * 2))
      echo "$target" >"$STACK_DIR/release.tmp" && mv "$STACK_DIR/release.tmp" "$STACK_DIR/release"
      wait_for 36000 "chunk $i in Redis" stream_in "$target"
      rows=$(status messages)
    else
      read -r _ lo hi _ rows < <(sed -n "${i}p" "$STACK_DIR/fid_chunks")
      job=$(q "SELECT waypoint.enqueue_backfill(ARRAY(SELECT generate_series($lo, $hi))::bigint[])")
      wait_for 36000 "chunk $i (fids $lo..$hi) in Redis" backfill_in "$hi"
    fi
    t_pre1=$(now)
    # Timed: from the unpause (database clock) to the end of the last batch that applied the chunk.
    local t0 t1 entries
    t0=$(q "SELECT extract(epoch FROM clock_timestamp())")
    set_paused off
    if [ "$mode" = stream ]; then
      # One Redis entry per event the node generated (BLOCK_CONFIRMED excepted).
      entries=$(($(status events) - events_prev))
      events_prev=$(status events)
      wait_sql 36000 "$APPLIED_SQL >= $((applied0 + entries))" >/dev/null
    else
      # fid_done is applied after every entry of its fid (same partition, in order).
      wait_sql 36000 "(SELECT state FROM waypoint.backfill_progress WHERE job_id = $job) = 'done'" >/dev/null
      entries=$(($(applied) - applied0))
    fi
    t1=$(q "SELECT extract(epoch FROM max(last_batch_at)) FROM waypoint.workers WHERE role = 'apply'")
    # In live storage mode the chunk is done when its casts' thread roots are resolved too.
    if [ "$(q "SELECT storage_mode FROM waypoint.storage_state()")" = live ]; then
      t1=$(python3 -c "print(max($t1, $(threads_resolved)))")
    fi
    set_paused on
    sleep 1  # the workers take the reload within a round; nothing new is in Redis meanwhile
    local wal dbs1 prefill drain redis_peak
    wal=$(q "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')")
    dbs1=$(q "SELECT pg_database_size(current_database())")
    prefill=$(python3 -c "print(round($t_pre1 - $t_pre0, 1))")
    drain=$(python3 -c "print(round(max($t1 - $t0, 0.001), 2))")
    redis_peak=$(redis-cli -p "$REDIS_PORT" INFO memory | awk -F: '/^used_memory_peak:/ {print $2 + 0}')
    # One CSV record per chunk, fields as bench/scale_report.py's FIELDS.
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,"%s"\n' "$mode" "$SETTINGS" "$i" "$rows" \
      "$((rows - rows_prev))" "$entries" "$prefill" "$drain" "$wal" "$((dbs1 - dbs0))" "$((dbs1 - size0))" \
      "$dbs1" "$(hwm_kb "$NODE_PID")" "$(hwm_kb "$SIDECAR_PID")" "$redis_peak" "$DATASET" >>"$RESULTS"
    python3 "$ROOT/bench/scale_report.py" row "$(tail -1 "$RESULTS")" >&2
    rows_prev=$rows
  done
  if [ "$BULK" = 1 ]; then
    # The workers build the secondary indexes of their partitions, then storage is live.
    # The thread roots of the casts queued meanwhile: since round 8 one set-based pass
    # (waypoint.rebuild_thread_roots) first thing in 'building', before the casts indexes,
    # whose log line says how long it took; before, the incremental resolver once live.
    local b0 b1 b2 queued pass
    queued=$(q "SELECT count(*) FROM waypoint.cast_thread_queue")
    b0=$(now)
    q "SELECT waypoint.end_bulk_sync()" >/dev/null
    set_paused off
    wait_sql 36000 "(SELECT storage_mode FROM waypoint.storage_state()) = 'live'" >/dev/null
    b1=$(now)
    threads_resolved >/dev/null
    b2=$(now)
    set_paused on
    pass=$(sed -n 's/.*thread roots rebuilt: .* in \([0-9.]*\) s.*/\1/p' "$STACK_DIR/pg/postgres.log" 2>/dev/null | tail -1)
    pass=${pass:-0}
    log "$mode: bulk sync ended: storage live (secondary indexes built) after $(python3 -c "print(round($b1 - $b0, 1))") s for $(q "SELECT count(*) FROM waypoint.messages") messages"
    log "$mode: thread roots of the $queued casts queued during the bulk sync resolved in $(python3 -c "print(round($pass + $b2 - $b1, 1))") s (set-based pass $pass s, then $(python3 -c "print(round($b2 - $b1, 1))") s once live)"
    log "$mode: indexes and thread roots done $(python3 -c "print(round($b2 - $b0, 1))") s after the end of the bulk sync"
  fi
  log "$mode: exact row count check: $(q "SELECT count(*) FROM waypoint.messages") rows in waypoint.messages, $([ "$mode" = stream ] && echo "$total" || echo "$held_total") expected"
  stop_stack
  if [ "$KEEP" = 1 ]; then log "kept $STACK_DIR"; else rm -rf "$STACK_DIR"; fi
}

SHARDS=2
RESULTS=$(mktemp /tmp/waypoint-scale-results.XXXXXX)
trap 'stop_stack; [ "$KEEP" = 1 ] || rm -rf "${STACK_DIR:-/nonexistent}"; rm -f "$RESULTS"' EXIT
log "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB; $MESSAGES messages in $CHUNKS chunks, mode $MODE, settings $SETTINGS"
python3 "$ROOT/bench/scale_report.py" header >&2
[ "$MODE" != backfill ] && run_mode stream
[ "$MODE" != stream ] && run_mode backfill
# The command as run from the repository root (no machine paths in the written report).
CMD="bench/scale.sh ${BUILD_DIR#"$ROOT"/} --mode $MODE --messages $MESSAGES --chunks $CHUNKS"
[ "$FIDS" -gt 0 ] && CMD="$CMD --fids $FIDS"
CMD="$CMD --settings $SETTINGS --seed $SEED"
[ "$BULK" = 1 ] && CMD="$CMD --bulk"
[ "$THREAD_PARENTS" = 1 ] && CMD="$CMD --thread-parents"
python3 "$ROOT/bench/scale_report.py" report "$RESULTS" "$CSV" "$DOC" "$PNG" "$CMD" "$MAINNET" \
  "$(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB" "$MESSAGES"
