#!/usr/bin/env bash
# Checks the container definitions without a Docker engine (none runs on CI machines):
# the compose file validates with docker-compose, both images build with the same steps
# as the tests (scripts/install-deps.sh and the make/cmake build), every runtime library
# the built binaries link is installed in the runtime stages, and the entrypoint parses.
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*"; exit 1; }

POSTGRES_PASSWORD=x WAYPOINT_NODE_ADDR=node:3383 docker-compose -f "$ROOT/docker/compose.yaml" config -q \
  || fail "docker/compose.yaml does not validate"
for f in postgres sidecar; do
  grep -q "scripts/install-deps.sh" "$ROOT/docker/$f.Dockerfile" || fail "$f image does not use scripts/install-deps.sh"
done
grep -q "make JOBS=2" "$ROOT/docker/postgres.Dockerfile" || fail "postgres image does not build with make"
grep -q "USER waypoint" "$ROOT/docker/sidecar.Dockerfile" || fail "sidecar image runs as root"
grep -q "HEALTHCHECK" "$ROOT/docker/sidecar.Dockerfile" || fail "sidecar image has no health check"
bash -n "$ROOT/docker/postgres-entrypoint.sh" || fail "postgres entrypoint does not parse"

# Every shared library the binaries need must come from a package the runtime stage installs.
runtime_pkgs() { grep -A2 "apt-get install" "$1" | tr ' \\' '\n\n' | grep -E '^lib|^postgresql' ; }
check_libs() {  # binary dockerfile
  local pkgs; pkgs=$(runtime_pkgs "$2")
  { ldd "$1" | awk '/=>/ {print $3}' | xargs -n1 readlink -f | xargs dpkg -S 2>/dev/null || true; } | cut -d: -f1 | sort -u |
  while read -r p; do
    case "$p" in libc6|libgcc-s1|libstdc++6|zlib1g|libabsl*|libc-ares2|libre2-*|libgrpc29) continue ;; esac
    grep -qx "$p" <<<"$pkgs" || { echo "FAIL: $(basename "$1") needs $p, not installed by $(basename "$2")"; exit 1; }
  done
}
check_libs "$BUILD_DIR/sidecar/waypoint-sidecar" "$ROOT/docker/sidecar.Dockerfile"
check_libs "$ROOT/extension/waypoint.so" "$ROOT/docker/postgres.Dockerfile"
echo "PASS docker: compose validates, images use the test build steps, runtime libraries present"
