#!/usr/bin/env bash
# Runs the pg_regress tests (test/regress/schedule) on a temporary PostgreSQL instance with
# shared_preload_libraries = 'waypoint' (the extension must be installed: make install).
# PostgreSQL refuses to run as root, so as root the run happens as the `postgres` user
# in a temp dir it owns. The instance listens on a Unix socket in that dir only.
#   test/regress/run.sh [test ...]      (default: the schedule)
# The inputs are laid out by prepare.sh with the payload generator
# WAYPOINT_REGRESS_GEN (default: build/test/unit/waypoint_regress_gen).
# Exits non-zero and prints the diffs when a test fails. KEEP=1 keeps the temp dir.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# The PostgreSQL installation: PG_CONFIG, else the pg_config beside PG_BIN (as
# scripts/lib/stack.sh takes it), else the one on PATH.
pg_config="${PG_CONFIG:-${PG_BIN:+$PG_BIN/pg_config}}"
pg_config="${pg_config:-pg_config}"
bindir="$("$pg_config" --bindir)"
pg_regress="$("$pg_config" --pkglibdir)/pgxs/src/test/regress/pg_regress"

gen="${WAYPOINT_REGRESS_GEN:-$root/build/test/unit/waypoint_regress_gen}"

work="$(mktemp -d /tmp/waypoint-regress.XXXXXX)"
cleanup() { if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
"$root/test/regress/prepare.sh" "$gen" "$work"
mkdir -p "$work/out"
if [ "$#" -gt 0 ]; then
  select=("$@")
else
  select=(--schedule="$work/schedule")
fi
printf "shared_preload_libraries = 'waypoint'\n" > "$work/extra.conf"

run=()
if [ "$(id -u)" = 0 ]; then
  chown -R postgres: "$work"
  run=(runuser -u postgres --)
fi

status=0
(cd "$work" && "${run[@]}" "$pg_regress" \
    --temp-instance="$work/instance" --temp-config="$work/extra.conf" \
    --inputdir="$work" --outputdir="$work/out" --bindir="$bindir" \
    --load-extension=waypoint --dbname=waypoint_regress "${select[@]}") || status=$?

if [ "$status" != 0 ]; then
  [ -f "$work/out/regression.diffs" ] && cat "$work/out/regression.diffs"
  # Results of tests that have no expected file yet, to review and commit.
  if [ -n "${RESULTS_DIR:-}" ]; then mkdir -p "$RESULTS_DIR" && cp "$work"/out/results/*.out "$RESULTS_DIR"/; fi
  echo "pg_regress failed (status $status)" >&2
fi
exit "$status"
