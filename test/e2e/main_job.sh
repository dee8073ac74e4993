#!/usr/bin/env bash
# Runs the main job (`make run`'s script) non-interactively for a bounded time, twice on
# the same state directory: the first run must end with a populated database equal to the
# embedded node's state and a clean summary; the second must resume (no new backfill job)
# and still be equal.
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=$(mktemp -d /tmp/waypoint-mainjob.XXXXXX)
chmod 755 "$STATE"
trap 'rm -rf "$STATE"' EXIT

run() { "$ROOT/scripts/run.sh" "$BUILD_DIR" --fids 40 --live-rate 0 --state-dir "$STATE" "$@" </dev/null; }

out1=$(run --duration 45 2>&1) || { echo "$out1"; echo "FAIL: first run exited non-zero"; exit 1; }
echo "$out1" | tail -60
for want in "backfill enqueued (all)" "== summary" "== example 1" "== example 2" "== example 3" \
            "== mirror check: the database equals the node's state"; do
  grep -qF "$want" <<<"$out1" || { echo "FAIL: first run output lacks '$want'"; exit 1; }
done
casts=$(awk '$1=="casts"{print $3}' <<<"$out1" | head -1)
[ "${casts:-0}" -gt 0 ] || { echo "FAIL: no casts mirrored"; exit 1; }

out2=$(run --duration 15 2>&1) || { echo "$out2"; echo "FAIL: second run exited non-zero"; exit 1; }
grep -qF "backfill enqueued (resume)" <<<"$out2" || { echo "$out2"; echo "FAIL: second run did not resume"; exit 1; }
grep -qF "== mirror check: the database equals the node's state" <<<"$out2" || { echo "$out2"; echo "FAIL: second run not equal"; exit 1; }
echo "PASS main job: populated ($casts casts), equal to the node, resumed on the second run"
