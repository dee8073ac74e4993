#!/usr/bin/env bash
# Lays out the pg_regress inputs in OUT_DIR (OUT_DIR/sql, OUT_DIR/expected, the schedule):
# the tests of test/regress/sql, each apply_* test preceded, not echoed (the expected
# outputs show the tests only), by the shared setup.sql and the payloads that waypoint_regress_gen
# (test/regress/gen_payloads.cpp) prints. Used by run.sh and by
# `make installcheck` (extension/Makefile).
#   test/regress/prepare.sh GENERATOR OUT_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
gen="${1:?usage: prepare.sh GENERATOR OUT_DIR}"
out="${2:?usage: prepare.sh GENERATOR OUT_DIR}"
[ -x "$gen" ] || { echo "prepare.sh: $gen not built (make all)" >&2; exit 2; }
mkdir -p "$out/sql" "$out/expected"
payloads="$("$gen")"
for f in "$here"/sql/*.sql; do
  name="$(basename "$f")"
  case "$name" in
    apply_*) { printf '\\set ECHO none\n\\set QUIET on\n'; cat "$here/setup.sql"; printf '%s\n\\set ECHO all\n' "$payloads"; cat "$f"; } > "$out/sql/$name" ;;
    *) cp "$f" "$out/sql/$name" ;;
  esac
done
cp "$here"/expected/*.out "$out/expected/"
cp "$here/schedule" "$out/schedule"
