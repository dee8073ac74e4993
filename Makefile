# Waypoint's entry point.
#   make            install build dependencies (Debian), build everything
#   make test       everything above, then every test suite (unit, pg_regress, integration)
#   make run        the main job on an embedded default (see README.md)
#   make bench      benchmarks (programs under bench/ that print figures)
# The sidecar, test node and tests are built by CMake into build/; the extension is
# built by PGXS (extension/Makefile) and linked against build/'s static core library.

BUILD_DIR ?= build
JOBS ?= 2
CMAKE_BUILD_TYPE ?= RelWithDebInfo

.PHONY: all deps cmake-build extension install test unit-test regress-test integration-test run bench clean

all: deps cmake-build extension

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE)

cmake-build: $(BUILD_DIR)/Makefile
	cmake --build $(BUILD_DIR) -j $(JOBS)

extension: cmake-build
	$(MAKE) -C extension BUILD_DIR=$(abspath $(BUILD_DIR))

# Installs the extension into the local PostgreSQL 15 (needs write access to its
# lib and share directories; tests run it as root on CI machines).
install: extension
	$(MAKE) -C extension BUILD_DIR=$(abspath $(BUILD_DIR)) install

test: all install
	@scripts/test-all.sh $(BUILD_DIR)

unit-test: all
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

regress-test: all install
	@test/regress/run.sh

integration-test: all install
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

run: all install
	@scripts/run.sh $(BUILD_DIR) $(ARGS)

bench: all install
	@bench/run.sh $(BUILD_DIR) $(ARGS)

clean:
	rm -rf $(BUILD_DIR)
	$(MAKE) -C extension clean
