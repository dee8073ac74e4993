#!/usr/bin/env bash
# The formatter of the C++ tree (.clang-format): `scripts/format.sh` rewrites every
# tracked C++ file in place (make format); `scripts/format.sh --check` changes nothing
# and fails naming the files that differ (ctest format_check, part of make test).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' | grep -v '^test/fixtures/data/')
if [ "${1:-}" = --check ]; then
  bad=()
  for f in "${files[@]}"; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if [ ${#bad[@]} -gt 0 ]; then
    printf 'not formatted (run make format): %s\n' "${bad[@]}" >&2
    exit 1
  fi
  echo "${#files[@]} files formatted"
else
  clang-format -i "${files[@]}"
fi
