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

.PHONY: all deps cmake-build extension install installcheck format test unit-test regress-test integration-test run bench bench-scale clean \
        backfill backfill-all backfill-upto refresh-profiles queue-status

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

# pg_regress against a running server that preloads the extension (PGHOST, PGPORT, PGUSER).
# Formats every tracked C++ file (.clang-format); make test checks it (ctest format_check).
format:
	@scripts/format.sh

installcheck: all
	$(MAKE) -C extension BUILD_DIR=$(abspath $(BUILD_DIR)) installcheck

regress-test: all install
	@test/regress/run.sh

integration-test: all install
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

run: all install
	@scripts/run.sh $(BUILD_DIR) $(ARGS)

bench: all install
	@bench/run.sh $(BUILD_DIR) $(ARGS)

# Scale benchmark (docs/benchmarks.md, "Scale"): apply rate, WAL and size per message as a
# mirror grows to ARGS' --messages (default 30M), projected to mainnet. Long: hours at 30M.
#   make bench-scale ARGS="--messages 2000000 --mode stream --settings small"
bench-scale: all install
	@bench/scale.sh $(BUILD_DIR) $(ARGS)

# Operator shortcuts (docs/operations.md): they run psql against a stack. By default the
# one `make run` keeps in $(STATE_DIR) (socket and port read from its config), else set
# PSQL, e.g. PSQL="psql -h db.internal -U waypoint_admin -d mirror".
#   make backfill FIDS=3,194,2 [TYPES=cast,user_data]
#   make backfill-all [TYPES=...]      make backfill-upto MAX_FID=20000 [TYPES=...]
#   make refresh-profiles [FIDS=...]   make queue-status
STATE_DIR ?= .waypoint-run
RUN_PG_PORT = $(shell sed -n 's/^port = //p' $(STATE_DIR)/pg/data/waypoint.conf 2>/dev/null)
PSQL ?= psql -X -v ON_ERROR_STOP=1 $(if $(RUN_PG_PORT),-h $(abspath $(STATE_DIR))/pg -p $(RUN_PG_PORT) -U postgres -d postgres)
TYPES ?=
# Values are spliced into SQL: only digits, lowercase letters, '_' and ',' may remain.
list_chars := 0 1 2 3 4 5 6 7 8 9 a b c d e f g h i j k l m n o p q r s t u v w x y z _ ,
strip_chars = $(if $(2),$(call strip_chars,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,99,$(2))),$(1))
check_list = $(if $(strip $(call strip_chars,$(1),$(list_chars))),$(error $(2) must be a comma-separated list))

backfill:
	$(if $(FIDS),,$(error usage: make backfill FIDS=1,2,3 [TYPES=cast,user_data]))
	$(call check_list,$(FIDS),FIDS)$(call check_list,$(TYPES),TYPES)
	$(PSQL) -c "SELECT waypoint.enqueue_backfill('{$(FIDS)}'::bigint[], '{$(TYPES)}'::text[]) AS job_id"

backfill-all:
	$(call check_list,$(TYPES),TYPES)
	$(PSQL) -c "SELECT waypoint.enqueue_backfill_all('{$(TYPES)}'::text[]) AS job_id"

backfill-upto:
	$(if $(MAX_FID),,$(error usage: make backfill-upto MAX_FID=20000 [TYPES=...]))
	$(call check_list,$(MAX_FID),MAX_FID)$(call check_list,$(TYPES),TYPES)
	$(PSQL) -c "SELECT waypoint.enqueue_backfill_upto($(MAX_FID), '{$(TYPES)}'::text[]) AS job_id"

refresh-profiles:
	$(call check_list,$(FIDS),FIDS)
	$(PSQL) -c "SELECT waypoint.refresh_profiles($(if $(FIDS),'{$(FIDS)}'::bigint[])) AS job_id"

queue-status:
	$(PSQL) -c "SELECT stream, group_name, length, pending, lag, oldest_pending_age, status FROM waypoint.queue_depth" \
	        -c "SELECT * FROM waypoint.sync_status" \
	        -c "SELECT job_id, state, fids_done, fids_failed, messages, eta FROM waypoint.backfill_progress ORDER BY job_id DESC LIMIT 10"

clean:
	rm -rf $(BUILD_DIR)
	$(MAKE) -C extension clean
