#!/usr/bin/env bash
# Runs every test suite through CTest: GoogleTest unit suites (label unit), the
# pg_regress suite (label regress) and the integration/end-to-end tests (label
# integration). Called by `make test` after the build and the extension install.
set -euo pipefail
BUILD_DIR=${1:-build}
cd "$BUILD_DIR"
# Tests start their own servers; running them one at a time keeps a 2-core machine sane.
ctest --output-on-failure --timeout 1500
