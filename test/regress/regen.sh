#!/usr/bin/env bash
# Regenerates sql/apply_*.sql from test/regress/cases/*.sql: each test file is the
# generated payload variables (gen_payloads) followed by the hand-written case.
#   test/regress/regen.sh <path to waypoint_regress_gen binary>
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
gen="${1:?usage: regen.sh <waypoint_regress_gen>}"
vars="$("$gen")"
for case_file in "$root"/test/regress/cases/*.sql; do
  name="$(basename "$case_file")"
  { printf '%s\n' "$vars"; cat "$case_file"; } > "$root/sql/$name"
done
