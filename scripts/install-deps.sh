#!/usr/bin/env bash
# Installs the Debian packages Waypoint needs to build, test and run (regenerating the
# golden fixtures also needs Node.js and npm, which tests never do). Idempotent:
# packages already present are skipped, so a second run does no network work.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  postgresql-15 postgresql-server-dev-15 libpq-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libhiredis-dev redis-server
  libspdlog-dev libfmt-dev libtomlplusplus-dev nlohmann-json3-dev
  libcli11-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libssl-dev libsodium-dev
  docker-compose
  prometheus prometheus-postgres-exporter
  clang-format
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# The Debian packages start a cluster and a Redis service of their own (on systemd
# machines also Prometheus and postgres_exporter); Waypoint never uses them (tests and
# `make run` start private instances on other ports).
