#!/usr/bin/env bash
# What resolving thread roots costs the apply (docs/benchmarks.md, bench/notes.md): the
# same prefilled streams applied several times in one run, alternating variants, on one
# private loopback stack (scripts/lib/stack.sh), as `make bench` run 1 does (2 partitions,
# 2 workers, the frozen node of `make bench`: --seed 11, 10k fids x 10 messages).
#
# usage: bench/thread_roots.sh BUILD_DIR [--rounds N] [--variants LIST]
#   variants (comma-separated, default live,unresolved,min100000):
#     live        the extension as installed: done when every entry is applied and the
#                 thread-root queue is empty (the mirror is complete only then)
#     unresolved  the same with both resolvers replaced by no-ops after CREATE EXTENSION:
#                 the batches still write each cast's root guess and queue it, nothing
#                 confirms it; done when every entry is applied. The baseline without the
#                 resolution step (its mirror is not exact: replies that came before their
#                 parents keep open roots)
#     minN        live with waypoint.thread_roots_rebuild_min = N (the default is 10000)
# Prints per run: entries/s, the apply workers' CPU seconds, and at the end each
# variant's median and its ratio to unresolved.
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd); shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=3 VARIANTS=live,unresolved,min100000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --variants) VARIANTS=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
FIDS=${BENCH_FIDS:-10000} MSGS=${BENCH_MSGS:-10}
source "$ROOT/scripts/lib/stack.sh"
NODE_BIN="$BUILD_DIR/test/node/waypoint-test-node"
SIDECAR_BIN="$BUILD_DIR/sidecar/waypoint-sidecar"
for b in "$NODE_BIN" "$SIDECAR_BIN"; do [ -x "$b" ] || { echo "missing $b (build first)" >&2; exit 2; }; done
STACK_DIR=$(mktemp -d /tmp/waypoint-bench-roots.XXXXXX)
chmod 755 "$STACK_DIR"
trap 'stop_stack; rm -rf "$STACK_DIR"' EXIT
q() { psql_stack -At -c "$1"; }
log() { echo "[roots $(date +%T)] $*"; }
worker_cpu() {  # CPU seconds of the running apply workers
  local pids t=0 p s
  pids=$(q "SELECT pid FROM waypoint.workers WHERE role = 'apply' AND pid IS NOT NULL" 2>/dev/null || true)
  for p in $pids; do
    s=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null || echo "0 0")
    t=$((t + ${s% *} + ${s#* }))
  done
  python3 -c "print($t / $(getconf CLK_TCK))"
}

PG_EXTRA_CONF="waypoint.partitions = 2
waypoint.workers = 2
waypoint.block_ms = 20
waypoint.apply_paused = on"
start_redis
start_postgres
wait_for 60 "postgres" psql_stack -c "SELECT 1"
log "prefill: the frozen node ($FIDS fids x $MSGS messages) through the sidecar into 2 partition streams"
start_node "$NODE_BIN" --seed 11 --fids "$FIDS" --messages "$MSGS" --shards 2 --freeze
METRICS_PORT=$(free_port)
start_sidecar "$SIDECAR_BIN" --mode stream --node "127.0.0.1:$NODE_PORT" --redis-url "$REDIS_URL" --partitions 2 \
  --metrics-listen "127.0.0.1:$METRICS_PORT" --log-level warn --high-watermark 100000000 --low-watermark 50000000
wait_for 1200 "prefill" sidecar_caught_up "$METRICS_PORT"
stop_pid "$SIDECAR_PID"
stop_pid "$NODE_PID"
N=0
for p in 0 1; do N=$((N + $(redis-cli -p "$REDIS_PORT" XLEN "waypoint:{p$p}:entries"))); done
log "$N entries in the streams"

# One run: an empty mirror, the streams read again from their start, the workers paused
# until the variant is set up, then timed from the unpause.
run() {
  local variant=$1
  q "SET client_min_messages = warning; DROP EXTENSION IF EXISTS waypoint CASCADE" >/dev/null
  for p in 0 1; do redis-cli -p "$REDIS_PORT" XGROUP DESTROY "waypoint:{p$p}:entries" apply >/dev/null; done
  q "ALTER SYSTEM SET waypoint.apply_paused = on" >/dev/null
  case "$variant" in
    min[0-9]*) q "ALTER SYSTEM SET waypoint.thread_roots_rebuild_min = ${variant#min}" >/dev/null ;;
    *) q "ALTER SYSTEM RESET waypoint.thread_roots_rebuild_min" >/dev/null ;;
  esac
  q "SELECT pg_reload_conf()" >/dev/null
  sleep 0.5
  q "CREATE EXTENSION waypoint" >/dev/null
  if [ "$variant" = unresolved ]; then
    q "CREATE OR REPLACE FUNCTION waypoint.resolve_thread_roots(max_entries int DEFAULT 10000) RETURNS bigint
         LANGUAGE sql AS 'SELECT 0::bigint';
       CREATE OR REPLACE FUNCTION waypoint.rebuild_thread_roots_if_due() RETURNS bigint
         LANGUAGE sql AS 'SELECT 0::bigint'" >/dev/null
  fi
  local cpu0 t0 t1 applied0
  # (The workers' counters live in shared memory and count every run.)
  applied0=$(applied)
  cpu0=$(worker_cpu)
  t0=$(q "SELECT extract(epoch FROM clock_timestamp())")
  q "ALTER SYSTEM SET waypoint.apply_paused = off" >/dev/null
  q "SELECT pg_reload_conf()" >/dev/null
  t1=$(wait_sql 3600 "$APPLIED_SQL >= $((applied0 + N))")
  if [ "$variant" != unresolved ]; then
    t1=$(wait_sql 3600 "NOT EXISTS (SELECT 1 FROM waypoint.cast_thread_queue)")
  fi
  local cpu1 casts queued
  cpu1=$(worker_cpu)
  casts=$(q "SELECT count(*) FROM waypoint.casts")
  queued=$(q "SELECT count(*) FROM waypoint.cast_thread_queue")
  python3 -c "print('$variant', round($N / ($t1 - $t0)), round($cpu1 - $cpu0, 2), $casts, $queued)"
}

printf '%-12s %10s %12s %8s %8s\n' variant entries/s worker_cpu_s casts queued
IFS=, read -r -a vs <<<"$VARIANTS"
: >"$STACK_DIR/runs"
for ((i = 1; i <= ROUNDS; i++)); do
  for v in "${vs[@]}"; do
    run "$v" | tee -a "$STACK_DIR/runs" | awk '{printf "%-12s %10s %12s %8s %8s\n", $1, $2, $3, $4, $5}'
  done
done
python3 - "$STACK_DIR/runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    v, rate, cpu, *_ = line.split()
    runs.setdefault(v, []).append((int(rate), float(cpu)))
base = statistics.median(r for r, _ in runs["unresolved"]) if "unresolved" in runs else None
print("median per variant (ratio of entries/s to unresolved):")
for v, rs in runs.items():
    rate = statistics.median(r for r, _ in rs)
    cpu = statistics.median(c for _, c in rs)
    ratio = f"{rate / base:.2f}" if base else "-"
    print(f"  {v:<12} {rate:>8} entries/s  {cpu:>7.2f} worker CPU s  ratio {ratio}")
PY
