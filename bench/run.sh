#!/usr/bin/env bash
# Waypoint benchmarks (issue 7), every figure measured in one run against baselines
# measured in the same run, on a private loopback stack (scripts/lib/stack.sh).
# Writes the table to docs/benchmarks.md (or --out FILE) and prints it.
#
# usage: bench/run.sh BUILD_DIR [--full] [--out FILE] [--keep]
#   quick (default): 10k fids x 10 messages, 20k live events  (a few minutes)
#   --full:          10k fids x 100 messages (~1M), 60k live events
#
# Runs, in order, all on one frozen test node (runs 1, 2, 3, 6) and one live node (run 4):
#   6/1. prefill the partition streams with the sidecar (no consumer), then CREATE
#        EXTENSION and time the workers draining them, for partitions = workers = 1, 2, 4
#        (and 4 partitions with 1 worker); after the 2/2 run the applied rows are copied
#        out and COPYed back into the same (truncated, indexed) tables: the baseline.
#   2.   cold start node -> sidecar -> Redis -> extension (defaults: 8 partitions, 2 workers,
#        verification at signature); 2b the same with --verify off, and the per-message
#        cost of each verification level on one core (bench/verify_cost).
#   3.   backfill of every fid (enqueue_backfill_all) through the sidecar.
#   4.   live latency at 1,000 submissions/s: node publication stamp (--emit-log) to the
#        commit timestamp of the message's row (track_commit_timestamp).
#   5.   footprint sampled (bench/sample.py) during 2 and 3, Redis bytes per entry at prefill.
#   7.   thread roots: run 1's drain (2/2) with every root resolved against the same with the
#        resolvers off, alternating, 5 rounds each (bench/thread_roots.sh, its own stack;
#        3 rounds of a few-second drain could not tell 0.93 from 1.0: bench/notes.md round 15).
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd); shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=quick
OUT="$ROOT/docs/benchmarks.md"
KEEP=${KEEP:-0}
while [ $# -gt 0 ]; do
  case "$1" in
    --full) MODE=full ;;
    --quick) MODE=quick ;;
    --out) OUT=$2; shift ;;
    --keep) KEEP=1 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$MODE" = full ]; then FIDS=10000; MSGS=100; LIVE_EVENTS=60000
else FIDS=10000; MSGS=10; LIVE_EVENTS=20000; fi
# BENCH_FIDS / BENCH_MSGS / BENCH_LIVE_EVENTS override the sizes (smoke runs of the script).
FIDS=${BENCH_FIDS:-$FIDS}; MSGS=${BENCH_MSGS:-$MSGS}; LIVE_EVENTS=${BENCH_LIVE_EVENTS:-$LIVE_EVENTS}
LIVE_RATE=1000

source "$ROOT/scripts/lib/stack.sh"
NODE_BIN="$BUILD_DIR/test/node/waypoint-test-node"
SIDECAR_BIN="$BUILD_DIR/sidecar/waypoint-sidecar"
for b in "$NODE_BIN" "$SIDECAR_BIN"; do [ -x "$b" ] || { echo "missing $b (build first)" >&2; exit 2; }; done
STACK_DIR=$(mktemp -d /tmp/waypoint-bench.XXXXXX)
chmod 755 "$STACK_DIR"
SAMPLER_PID=
trap '[ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null; stop_stack; if [ "$KEEP" = 1 ]; then echo "kept $STACK_DIR"; else rm -rf "$STACK_DIR"; fi' EXIT
RES="$STACK_DIR/results.env"
: >"$RES"
put() { echo "$1=$2" >>"$RES"; echo "  $1 = $2"; }
q() { psql_stack -At -c "$1"; }
now() { date +%s.%N; }
log() { echo "[bench $(date +%T)] $*"; }

# ---- stack ----------------------------------------------------------------------------
pg_conf() {  # pg_conf PARTITIONS WORKERS
  PG_EXTRA_CONF="track_commit_timestamp = on
waypoint.partitions = $1
waypoint.workers = $2
waypoint.block_ms = 20"
}
restart_pg() {  # restart_pg PARTITIONS WORKERS (extension dropped first, so workers idle)
  if [ -n "${PG_PID:-}" ]; then
    q "DROP EXTENSION IF EXISTS waypoint CASCADE" >/dev/null
    stop_pid "$PG_PID" 60 INT
  fi
  pg_conf "$1" "$2"
  start_postgres
  wait_for 60 "postgres" psql_stack -c "SELECT 1"
  q "DROP EXTENSION IF EXISTS waypoint CASCADE" >/dev/null
}
fresh() {  # empty database tables and Redis; workers wait for CREATE EXTENSION
  q "DROP EXTENSION IF EXISTS waypoint CASCADE" >/dev/null
  redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
}
stream_len() {  # sum of XLEN over N partition streams
  local n=$1 p s=0
  for ((p = 0; p < n; p++)); do s=$((s + $(redis-cli -p "$REDIS_PORT" XLEN "waypoint:{p$p}:entries"))); done
  echo "$s"
}
redis_used() { redis-cli -p "$REDIS_PORT" INFO memory | awk -F: '/^used_memory:/ {print $2+0}'; }
metric() {  # metric PORT NAME: sum of a sidecar metric over its labels
  curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 {s += $2} END {printf "%d\n", s}'
}
start_bench_sidecar() {  # start_bench_sidecar MODE PARTITIONS [extra args]
  local mode=$1 parts=$2; shift 2
  METRICS_PORT=$(free_port)
  start_sidecar "$SIDECAR_BIN" --mode "$mode" --node "127.0.0.1:$NODE_PORT" --redis-url "$REDIS_URL" \
    --partitions "$parts" --metrics-listen "127.0.0.1:$METRICS_PORT" --log-level warn \
    --high-watermark 100000000 --low-watermark 50000000 "$@"
  wait_for 30 "sidecar metrics" curl -sf "http://127.0.0.1:$METRICS_PORT/metrics"
}
start_sampler() {  # start_sampler OUT PARTITIONS
  python3 "$ROOT/bench/sample.py" "$1" "$SIDECAR_PID" "$PG_PID" "$REDIS_PORT" "$2" &
  SAMPLER_PID=$!
}
stop_sampler() {  # stop_sampler OUT: lets it take at least one sample first
  wait_for 10 "a footprint sample" test -s "$1"
  kill "$SAMPLER_PID"; wait "$SAMPLER_PID" || true; SAMPLER_PID=
}

# wait_applied TARGET: until the workers' entries_applied reached TARGET and every thread
# root is resolved (the mirror is complete only then); prints "<start of the first batch>
# <end>" (database clock): the first batch's transaction start is min(messages.first_seen_at),
# the end max(last_batch_at), or the moment the thread-root queue was seen empty if it
# still held casts after the last batch (checked every 20 ms in the server, wait_sql).
wait_applied() {
  local target=$1 resolved_at
  wait_sql 3600 "$APPLIED_SQL >= $target" >/dev/null
  resolved_at=$(wait_threads_resolved 3600)
  q "SELECT (SELECT extract(epoch FROM min(first_seen_at)) FROM waypoint.messages),
            greatest((SELECT extract(epoch FROM max(last_batch_at)) FROM waypoint.workers WHERE role = 'apply'),
                     $resolved_at)" | tr '|' ' '
}

# ---- runs -----------------------------------------------------------------------------
# apply_run PARTITIONS WORKERS NAME: prefill with the sidecar, then time the drain.
apply_run() {
  local parts=$1 workers=$2 name=$3
  restart_pg "$parts" "$workers"
  fresh
  local mem0; mem0=$(redis_used)
  start_bench_sidecar stream "$parts"
  wait_for 1200 "prefill ($name)" sidecar_caught_up "$METRICS_PORT"
  stop_pid "$SIDECAR_PID"
  local n; n=$(stream_len "$parts")
  put "entries" "$n"
  put "redis_bytes_per_entry_$name" "$(python3 -c "print(round(($(redis_used) - $mem0) / $n, 1))")"
  q "CREATE EXTENSION waypoint" >/dev/null
  read -r t0 t1 < <(wait_applied "$n")
  put "apply_rate_$name" "$(python3 -c "print(round($n / ($t1 - $t0)))")"
  put "apply_secs_$name" "$(python3 -c "print(round($t1 - $t0, 2))")"
}

copy_baseline() {  # the rows just applied, COPYed back into the same emptied tables
  local tables="messages casts reactions links link_compact_states verifications user_data username_proof_messages lend_storage username_proofs onchain_events"
  local dir="$STACK_DIR/copy" t rows=0
  mkdir -p "$dir"; chown postgres: "$dir" 2>/dev/null || true
  for t in $tables; do rows=$((rows + $(q "SELECT count(*) FROM waypoint.$t"))); done
  put "copy_rows" "$rows"
  local fmt best=
  for fmt in text binary; do
    # (COPY (SELECT ...): a partitioned table cannot be the source of COPY TO.)
    for t in $tables; do q "COPY (SELECT * FROM waypoint.$t) TO '$dir/$t.$fmt' (FORMAT $fmt)" >/dev/null; done
    q "TRUNCATE $(echo $tables | sed 's/\([a-z_]*\)/waypoint.\1/g; s/ /, /g')" >/dev/null
    q "CHECKPOINT" >/dev/null
    local sql="BEGIN;"
    for t in $tables; do sql="$sql COPY waypoint.$t FROM '$dir/$t.$fmt' (FORMAT $fmt);"; done
    local t0 t1; t0=$(now)
    psql_stack -c "$sql COMMIT;" >/dev/null
    t1=$(now)
    put "copy_secs_$fmt" "$(python3 -c "print(round($t1 - $t0, 2))")"
  done
  # Baseline: the faster format, expressed per stream entry (the rows of all entries).
  best=$(python3 -c "print(min($(grep '^copy_secs_text=' "$RES" | cut -d= -f2), $(grep '^copy_secs_binary=' "$RES" | cut -d= -f2)))")
  put "copy_secs" "$best"
}

log "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB; mode $MODE"
start_redis
wait_for 60 "redis loaded" sh -c "[ \"\$(redis-cli -p $REDIS_PORT ping)\" = PONG ]"
pg_conf 2 2
start_postgres
log "starting the frozen node: $FIDS fids x $MSGS messages"
start_node "$NODE_BIN" --seed 11 --fids "$FIDS" --messages "$MSGS" --shards 2 --freeze
put "fids" "$FIDS"
put "node_messages" "$(grep -o 'history of [0-9]* messages' "$STACK_DIR/node.log" | awk '{print $3}')"

log "run 1/6: apply from prefilled streams"
apply_run 2 2 p2w2
copy_baseline
apply_run 1 1 p1w1
apply_run 4 4 p4w4
apply_run 4 1 p4w1

log "run 2: end to end from a cold start (8 partitions, 2 workers)"
restart_pg 8 2
fresh
q "CREATE EXTENSION waypoint" >/dev/null
N=$(grep '^entries=' "$RES" | tail -1 | cut -d= -f2)
t0=$(q "SELECT extract(epoch FROM clock_timestamp())")
start_bench_sidecar stream 8
start_sampler "$STACK_DIR/sample_e2e.env" 8
read -r _ t1 < <(wait_applied "$N")
stop_sampler "$STACK_DIR/sample_e2e.env"
stop_pid "$SIDECAR_PID"
put "e2e_rate" "$(python3 -c "print(round($N / ($t1 - $t0)))")"
put "e2e_secs" "$(python3 -c "print(round($t1 - $t0, 2))")"
sed 's/^/e2e_/' "$STACK_DIR/sample_e2e.env" >>"$RES"; cat "$STACK_DIR/sample_e2e.env"

log "run 2b: the same with verification off (run 2 verifies at the default level, signature)"
restart_pg 8 2
fresh
q "CREATE EXTENSION waypoint" >/dev/null
t0=$(q "SELECT extract(epoch FROM clock_timestamp())")
start_bench_sidecar stream 8 --verify off
read -r _ t1 < <(wait_applied "$N")
stop_pid "$SIDECAR_PID"
put "e2e_off_rate" "$(python3 -c "print(round($N / ($t1 - $t0)))")"
put "e2e_off_secs" "$(python3 -c "print(round($t1 - $t0, 2))")"
# Per-message cost of each level on one core (bench/verify_cost.cpp).
"$BUILD_DIR/bench/verify_cost" 20000 | tee "$STACK_DIR/verify_cost.txt"
for l in off hash signature; do
  put "verify_us_$l" "$(awk -v l="$l" '$1 == l {print $2}' "$STACK_DIR/verify_cost.txt")"
done

log "run 3: backfill of every fid"
fresh
q "CREATE EXTENSION waypoint" >/dev/null
start_bench_sidecar backfill 8 --node-rps 1000000 --backfill-concurrency 8
start_sampler "$STACK_DIR/sample_bf.env" 8
job=$(q "SELECT waypoint.enqueue_backfill_all()")
wait_sql 1800 "(SELECT fids_done + fids_failed FROM waypoint.backfill_progress WHERE job_id = $job) >= $FIDS" >/dev/null
stop_sampler "$STACK_DIR/sample_bf.env"
stop_pid "$SIDECAR_PID"
IFS='|' read -r fids_done fids_failed bmsgs bsecs < <(q "SELECT fids_done, fids_failed, messages, extract(epoch FROM last_report_at - dispatched_at) FROM waypoint.backfill_progress WHERE job_id = $job")
put "bf_fids" "$fids_done"; put "bf_failed" "$fids_failed"; put "bf_messages" "$bmsgs"; put "bf_secs" "$(python3 -c "print(round($bsecs, 2))")"
put "bf_fid_rate" "$(python3 -c "print(round(($fids_done + $fids_failed) / $bsecs))")"
put "bf_msg_rate" "$(python3 -c "print(round($bmsgs / $bsecs))")"
sed 's/^/bf_/' "$STACK_DIR/sample_bf.env" >>"$RES"; cat "$STACK_DIR/sample_bf.env"

log "run 4: live latency at $LIVE_RATE submissions/s"
stop_pid "$NODE_PID"
fresh
# Runs 1-3 left hundreds of MB of WAL: checkpoint now, so this run does not measure a
# checkpoint (and its full-page writes) that the earlier runs caused.
q "CHECKPOINT" >/dev/null
q "CREATE EXTENSION waypoint" >/dev/null
start_node "$NODE_BIN" --seed 12 --fids 2000 --messages 5 --shards 2 --live-rate "$LIVE_RATE" \
  --live-events "$LIVE_EVENTS" --emit-log "$STACK_DIR/emit.log"
node_up=$(now)
start_bench_sidecar stream 8
wait_for 600 "live events" grep -q "live events complete" "$STACK_DIR/node.log"
sleep 3  # let the last blocks land
stop_pid "$SIDECAR_PID"
# Rows never rewritten after their insert (a later prune/revoke/drop moves xmin).
# first_seen_at is the applying transaction's start: it splits the latency into waiting
# (node -> sidecar -> Redis -> the worker's read) and applying (transaction start -> commit).
q "SELECT encode(hash, 'hex'), (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000)::bigint,
          (extract(epoch FROM first_seen_at) * 1000)::bigint
     FROM waypoint.messages WHERE pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL" >"$STACK_DIR/commits"
python3 - "$STACK_DIR/emit.log" "$STACK_DIR/commits" "$node_up" >>"$RES" <<'PY'
import sys
emit = {}
for line in open(sys.argv[1]):
    h, ms = line.split()
    emit.setdefault(h, int(ms))
warm = float(sys.argv[3]) * 1000 + 3000  # the first 3 s: the sidecar still subscribing/replaying
lat, wait, apply = [], [], []
for line in open(sys.argv[2]):
    h, ms, start = line.strip().split("|")
    if h in emit and emit[h] >= warm:
        lat.append(int(ms) - emit[h])
        wait.append(int(start) - emit[h])
        apply.append(int(ms) - int(start))
if not lat:
    sys.exit('no latency samples (too few live events after the warm-up)')
def pick(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]
print(f"lat_n={len(lat)}\nlat_emitted={sum(1 for v in emit.values() if v >= warm)}")
print(f"lat_p50={pick(lat, 0.5)}\nlat_p99={pick(lat, 0.99)}\nlat_max={max(lat)}")
print(f"lat_wait_p50={pick(wait, 0.5)}\nlat_wait_p99={pick(wait, 0.99)}")
print(f"lat_apply_p50={pick(apply, 0.5)}\nlat_apply_p99={pick(apply, 0.99)}")
PY
grep '^lat_' "$RES"

log "run 7: what resolving thread roots costs the apply (bench/thread_roots.sh, its own stack)"
ROOTS_ROUNDS=5
echo "roots_rounds=$ROOTS_ROUNDS" >>"$RES"
"$ROOT/bench/thread_roots.sh" "$BUILD_DIR" --rounds "$ROOTS_ROUNDS" --variants live,unresolved | tee "$STACK_DIR/roots.txt"
awk '$1 == "live" && $3 == "entries/s" {print "roots_live_rate=" $2 "\nroots_live_cpu=" $4}
     $1 == "unresolved" && $3 == "entries/s" {print "roots_unresolved_rate=" $2 "\nroots_unresolved_cpu=" $4}' \
  "$STACK_DIR/roots.txt" >>"$RES"
grep '^roots_' "$RES"

log "report"
# The scale benchmark's section (bench/scale.sh) is kept: read before the file is rewritten.
SCALE_SECTION=$(sed -n '/^<!-- bench-scale:begin -->$/,/^<!-- bench-scale:end -->$/p' "$OUT" 2>/dev/null || true)
# The command as run from the repository root (no machine paths in the written report).
python3 "$ROOT/bench/report.py" "$RES" "$MODE" "bench/run.sh ${BUILD_DIR#"$ROOT"/} $([ "$MODE" = full ] && echo --full)" >"$OUT"
if [ -n "$SCALE_SECTION" ]; then printf '\n%s\n' "$SCALE_SECTION" >>"$OUT"; fi
cat "$OUT"
