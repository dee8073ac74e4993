#!/usr/bin/env bash
# PostgreSQL settings for a big sync, measured one at a time (docs/storage.md): the same
# stream catch-up of bench/scale.sh, first with PostgreSQL's defaults (shared_buffers
# 256MB), then adding the lines of extension/postgresql-sync.conf one step at a time.
# Prints, per step: entries/s over all chunks' drains, last chunk / first chunk, WAL and
# database bytes per message. Each step is a fresh stack; ratios between steps of one run
# are the figures to read (the machine is shared).
#
# usage: bench/settings.sh BUILD_DIR [--messages N] [--chunks K] [--mode stream|backfill]
set -euo pipefail
BUILD_DIR=$1; shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MESSAGES=2000000 CHUNKS=4 MODE=stream
while [ $# -gt 0 ]; do
  case "$1" in
    --messages) MESSAGES=$2; shift ;;
    --chunks) CHUNKS=$2; shift ;;
    --mode) MODE=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
WORK=$(mktemp -d /tmp/waypoint-settings.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Cumulative steps: name|lines added (\n-separated).
STEPS=(
  "defaults (shared_buffers 256MB)|shared_buffers = 256MB"
  "+ max_wal_size 16GB, checkpoint_timeout 30min|max_wal_size = 16GB\ncheckpoint_timeout = 30min"
  "+ wal_compression lz4|wal_compression = lz4"
  "+ wal_buffers 64MB|wal_buffers = 64MB"
  "+ shared_buffers 2GB (the file's value)|shared_buffers = 2GB"
  "+ waypoint.batch_size 5000 (not in the file)|waypoint.batch_size = 5000"
)
conf="waypoint.partitions = 8
waypoint.workers = 2"
printf '| step | entries/s | last / first chunk | WAL B/msg | DB B/msg |\n|---|---:|---:|---:|---:|\n' >"$WORK/table"
for step in "${STEPS[@]}"; do
  name=${step%%|*}
  conf="$conf
$(printf '%b' "${step#*|}")"
  printf '%s\n' "$conf" >"$WORK/step.conf"
  echo "[settings $(date +%T)] $name" >&2
  SCALE_PG_CONF="$WORK/step.conf" "$ROOT/bench/scale.sh" "$BUILD_DIR" --mode "$MODE" --messages "$MESSAGES" \
    --chunks "$CHUNKS" --settings custom --out-dir "$WORK/out" >"$WORK/log" 2>&1 ||
    { cat "$WORK/log" >&2; exit 1; }
  python3 - "$WORK/out/bench-scale.csv" "$name" >>"$WORK/table" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
entries = sum(int(r["entries"]) for r in rows)
drain = sum(float(r["drain_s"]) for r in rows)
msgs = sum(int(r["chunk_messages"]) for r in rows)
first = int(rows[0]["entries"]) / float(rows[0]["drain_s"])
last = int(rows[-1]["entries"]) / float(rows[-1]["drain_s"])
wal = sum(int(r["wal_bytes"]) for r in rows) / msgs
db = int(rows[-1]["db_bytes_total"]) / msgs
print(f"| {sys.argv[2]} | {entries / drain:,.0f} | {last / first:.2f} | {wal:,.0f} | {db:,.0f} |")
PY
  tail -1 "$WORK/table" >&2
done
echo
echo "bench/settings.sh $BUILD_DIR --messages $MESSAGES --chunks $CHUNKS --mode $MODE ($(nproc) cores, $(date -u +%F)):"
cat "$WORK/table"
