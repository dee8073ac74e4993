#!/usr/bin/env bash
# Upgrade of a populated mirror: ALTER EXTENSION waypoint UPDATE from every earlier
# version (0.1.0 to 0.5.0) to the current one keeps every row (sql/upgrade/,
# docs/storage.md "Upgrading").
#
#   1. Mirror the test node's history (every message type, removes, prunes, revokes,
#      compactions, fnames, on-chain events) live through the whole pipeline.
#   2. For each earlier version, build a mirror of it: CREATE EXTENSION waypoint VERSION
#      '<v>' in another database (the frozen script, sql/versions/) and COPY every row of
#      every table into it. Its own state_lines() must equal the node's (without app keys
#      and thread roots before 0.5.0, without channels before 0.6.0: they were messages
#      and on-chain events only).
#   3. ALTER EXTENSION waypoint UPDATE there: the node's state lines (app keys and
#      channels included), every table's rows equal the mirror that was built by the
#      current version (app keys and channels, derived by the upgrade from the messages
#      and on-chain events, without the upgrade's own times and, for channel slots, merge
#      events: the upgrade gives them event 0), and every view and function is defined as
#      a fresh install defines it, with the same comment and grants (tables too).
#   4. The upgraded mirror keeps working: the workers switch to it, and the stream
#      (resumed from its cursor: app keys are learned from the stream only) with a
#      backfill from a node whose history went on must bring it to that node's state
#      exactly.
# usage: upgrade_scenario.sh BUILD_DIR
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/stack.sh"
NODE_BIN="$BUILD_DIR/test/node/waypoint-test-node"
SIDECAR_BIN="$BUILD_DIR/sidecar/waypoint-sidecar"
STACK_DIR=$(mktemp -d /tmp/waypoint-upgrade.XXXXXX)
chmod 755 "$STACK_DIR"
trap 'stop_stack; if [ "${KEEP:-0}" = 1 ]; then echo "kept $STACK_DIR"; else rm -rf "$STACK_DIR"; fi' EXIT
fail() { echo "FAIL upgrade: $*"; echo "--- postgres log (tail)"; tail -30 "$STACK_DIR/pg/postgres.log" || true; exit 1; }
q() { psql_stack -At -d "$1" -c "$2"; }

NODE_ARGS=(--seed "${SEED:-7}" --fids "${FIDS:-60}" --shards 2)
start_redis
start_postgres
psql_stack -c "CREATE EXTENSION waypoint"
start_node "$NODE_BIN" "${NODE_ARGS[@]}" --freeze --dump-state "$STACK_DIR/node.state"
wait_for 120 "node state dump" test -s "$STACK_DIR/node.state"
SIDECAR_ARGS=(--node "127.0.0.1:$NODE_PORT" --redis-url "$REDIS_URL" --metrics-listen "127.0.0.1:$(free_port)")
start_sidecar "$SIDECAR_BIN" --mode stream "${SIDECAR_ARGS[@]}"
LC_ALL=C sort "$STACK_DIR/node.state" >"$STACK_DIR/expected"
converge() {  # converge DB EXPECTED_FILE
  local deadline=$((SECONDS + 240))
  until q "$1" "SELECT * FROM waypoint.state_lines()" | LC_ALL=C sort | cmp -s "$2" -; do
    [ $SECONDS -lt $deadline ] || fail "database $1 differs from the node"
    sleep 1
  done
}
converge postgres "$STACK_DIR/expected"
stop_pid "$SIDECAR_PID"
echo "mirror (current version) equals the node: $(wc -l <"$STACK_DIR/expected") state lines"

# Row for row: every table of an upgraded mirror equals the one the current version built.
# (storage_mode is the one row that records when it changed; cast_thread_queue is work in
# flight, checked empty after the upgrade's resolve instead.)
# Rows an upgrade derives rather than copies (app_keys, filled from the messages by the
# 0.4.0 -> 0.5.0 step) carry the upgrade's own apply sequence and time: compared without
# confirmed_seq and updated_at; so do the channel tables (the 0.5.0 -> 0.6.0 step), whose
# slots the upgrade merges at event 0 (compared without merge_event and updated_at) and
# whose registry rows it sees for the first time (without first_seen_at).
digest() {  # digest DB: one line per table, its row count and a digest of its rows
  local t row
  for t in $(q "$1" "SELECT relname FROM pg_class WHERE relnamespace = 'waypoint'::regnamespace
                      AND relkind IN ('r', 'p') AND NOT relispartition
                      AND relname NOT IN ('storage_mode', 'cast_thread_queue') ORDER BY 1"); do
    row="x::text"
    [ "$t" = app_keys ] && row="(to_jsonb(x) - 'confirmed_seq' - 'updated_at')::text"
    case "$t" in channel_metadata|channel_members|channel_pins|channel_moderations)
      row="(to_jsonb(x) - 'merge_event' - 'updated_at')::text" ;;
    channel_registry_events) row="(to_jsonb(x) - 'first_seen_at')::text" ;;
    esac
    echo "$t $(q "$1" "SELECT count(*) || ' ' || coalesce(md5(string_agg($row, E'\n' ORDER BY $row)), '-')
                         FROM waypoint.$t x")"
  done
}
digest postgres >"$STACK_DIR/digest.current"
current=$(q postgres "SELECT extversion FROM pg_extension WHERE extname = 'waypoint'")

# 2.-3. For each earlier version: the same mirror as a database of that version (COPY of
# every row), then the upgrade in place.
upgrade_from() {  # upgrade_from VERSION DB
  local from=$1 db=$2 t cols version
  psql_stack -c "CREATE DATABASE $db"
  psql_stack -d "$db" -c "CREATE EXTENSION waypoint VERSION '$from'"
  [ "$(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'waypoint'")" = "$from" ] || fail "not at $from"
  for t in $(q "$db" "SELECT relname FROM pg_class WHERE relnamespace = 'waypoint'::regnamespace AND relkind = 'r' ORDER BY 1"); do
    cols=$(q "$db" "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                    WHERE attrelid = 'waypoint.$t'::regclass AND attnum > 0 AND NOT attisdropped")
    # (Tables the install fills, such as the index registry, are replaced whole.)
    psql_stack -d postgres -c "COPY (SELECT $cols FROM waypoint.$t) TO STDOUT (FORMAT binary)" |
      psql_stack -d "$db" -c "TRUNCATE waypoint.$t" -c "COPY waypoint.$t ($cols) FROM STDIN (FORMAT binary)"
  done
  q "$db" "SELECT setval('waypoint.apply_seq', $(q postgres "SELECT last_value FROM waypoint.apply_seq"))" >/dev/null
  # Lines an earlier version cannot show: thread roots and app keys (KEY_ADD kept as messages
  # only) are new in 0.5.0, channels (messages and on-chain events only) in 0.6.0, and so are
  # the app_key lines by key (0.5.0 showed app keys as msg app_key lines, by hash).
  local newer=(-e '^channel' -e $'^app_key\t' -e $'^msg\tapp_key\t')
  [ "$from" = 0.5.0 ] || newer+=(-e '^thread')
  q "$db" "SELECT * FROM waypoint.state_lines()" | grep -v "${newer[@]}" | LC_ALL=C sort >"$STACK_DIR/before.$db"
  grep -v "${newer[@]}" "$STACK_DIR/expected" | cmp -s - "$STACK_DIR/before.$db" ||
    fail "the $from mirror's state lines differ from the node's"
  echo "$from mirror built: $(q "$db" "SELECT count(*) FROM waypoint.messages") messages, state lines equal to the node's"

  psql_stack -d "$db" -c "ALTER EXTENSION waypoint UPDATE" 2>"$STACK_DIR/update.log" || { cat "$STACK_DIR/update.log"; fail "ALTER EXTENSION from $from failed"; }
  version=$(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'waypoint'")
  [ "$version" = "$current" ] || fail "$from upgraded to $version, not $current"
  q "$db" "SELECT * FROM waypoint.state_lines()" | grep -v "${newer[@]}" | LC_ALL=C sort >"$STACK_DIR/after.$db"
  cmp -s "$STACK_DIR/before.$db" "$STACK_DIR/after.$db" || { diff "$STACK_DIR/before.$db" "$STACK_DIR/after.$db" | head; fail "state lines changed from $from"; }
  # The upgrade queued the casts for their thread roots; resolve them as the workers do
  # (this database has none). Then every line, with the thread roots and the app keys the
  # upgrade derived, must be the node's.
  local queued
  queued=$(q "$db" "SELECT count(*) FROM waypoint.cast_thread_queue")
  # (From 0.5.0 the roots are kept already: nothing to queue.)
  [ "$queued" -gt 0 ] || [ "$from" = 0.5.0 ] || fail "the upgrade from $from queued no casts for their thread roots"
  while [ "$(q "$db" "SELECT waypoint.resolve_thread_roots(1000)")" != 0 ]; do :; done
  [ "$(q "$db" "SELECT count(*) FROM waypoint.cast_thread_queue")" = 0 ] || fail "thread roots left queued after $from"
  q "$db" "SELECT * FROM waypoint.state_lines()" | LC_ALL=C sort >"$STACK_DIR/after.$db"
  cmp -s "$STACK_DIR/expected" "$STACK_DIR/after.$db" || { diff "$STACK_DIR/expected" "$STACK_DIR/after.$db" | head; fail "state lines after the upgrade from $from differ from the node's"; }
  echo "upgraded $from: $queued casts queued and resolved; thread, app-key and channel lines equal to the node's"
  [ -z "$(q "$db" "SELECT nspname FROM pg_namespace WHERE nspname = 'waypoint_upgrade_old'")" ] || fail "scratch schema left"
  digest "$db" >"$STACK_DIR/digest.$db"
  # The derived rows exist: the history has app keys, removed ones among them.
  [ "$(q "$db" "SELECT count(*) > 0 AND bool_or(removed) FROM waypoint.app_keys")" = t ] || fail "no app keys from $from"
  # The channels too: registry events, and members of several states (merged at event 0).
  [ "$(q "$db" "SELECT (SELECT count(*) FROM waypoint.channels) > 0 AND count(DISTINCT state) > 1
                         AND bool_and(merge_event = 0) FROM waypoint.channel_members")" = t ] || fail "no channels from $from"
  diff "$STACK_DIR/digest.current" "$STACK_DIR/digest.$db" || fail "tables upgraded from $from differ from the current version's"
  # Every object of the current version exists after the upgrade, with the same definition.
  objects "$db" >"$STACK_DIR/objects.$db"
  diff "$STACK_DIR/objects.current" "$STACK_DIR/objects.$db" || fail "objects upgraded from $from differ from a fresh install"
  [ "$(q "$db" "SELECT storage_mode || ' ' || indexes_missing FROM waypoint.storage_state()")" = "live 0" ] || fail "indexes missing"
  echo "upgraded $from to $version: state lines equal to the node's, $(wc -l <"$STACK_DIR/digest.current") tables row for row equal"
}
objects() {  # objects DB: every view's and function's definition, comment and grants, and
             # every table's comment and grants, one per line (sorted)
  q "$1" "SELECT 'view ' || c.relname || ' ' || md5(pg_get_viewdef(c.oid)) || ' comment '
                 || md5(coalesce(obj_description(c.oid, 'pg_class'), '-')) || ' acl ' || coalesce(c.relacl::text, '-')
            FROM pg_class c
           WHERE c.relnamespace = 'waypoint'::regnamespace AND c.relkind = 'v'
          UNION ALL
          SELECT 'table ' || c.relname || ' comment ' || md5(coalesce(obj_description(c.oid, 'pg_class'), '-'))
                 || ' acl ' || coalesce(c.relacl::text, '-')
            FROM pg_class c
           WHERE c.relnamespace = 'waypoint'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          UNION ALL
          SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid)) || ' comment '
                 || md5(coalesce(obj_description(p.oid, 'pg_proc'), '-')) || ' acl ' || coalesce(p.proacl::text, '-')
            FROM pg_proc p
           WHERE p.pronamespace = 'waypoint'::regnamespace AND p.prokind IN ('f', 'p')
          ORDER BY 1"
}
objects postgres >"$STACK_DIR/objects.current"
upgrade_from 0.1.0 old
upgrade_from 0.2.0 old020
upgrade_from 0.3.0 old030
upgrade_from 0.4.0 old040
upgrade_from 0.5.0 old050

# 4. The upgraded mirror goes on: workers apply into it, a backfill from a node whose
# history went on reconciles it to that node.
stop_pid "$NODE_PID"
PG_EXTRA_CONF="waypoint.database = 'old'"
stop_pid "$PG_PID" 60 INT
start_postgres
rm -f "$STACK_DIR/node.state"
start_node "$NODE_BIN" "${NODE_ARGS[@]}" --freeze --extra-history 10 --dump-state "$STACK_DIR/node.state"
wait_for 120 "node state dump" test -s "$STACK_DIR/node.state"
LC_ALL=C sort "$STACK_DIR/node.state" >"$STACK_DIR/expected2"
cmp -s "$STACK_DIR/expected" "$STACK_DIR/expected2" && fail "the second node's history did not move on"
SIDECAR_ARGS=(--node "127.0.0.1:$NODE_PORT" --redis-url "$REDIS_URL" --metrics-listen "127.0.0.1:$(free_port)")
start_sidecar "$SIDECAR_BIN" --mode both "${SIDECAR_ARGS[@]}"
q old "SELECT waypoint.enqueue_backfill_all()" >/dev/null
converge old "$STACK_DIR/expected2"
echo "PASS upgrade: the upgraded mirror converged to the second node ($(wc -l <"$STACK_DIR/expected2") state lines)"
