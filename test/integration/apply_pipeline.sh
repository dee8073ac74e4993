#!/usr/bin/env bash
# Integration test of the extension's workers: a real redis-server and a real
# PostgreSQL cluster (loopback, free ports, stopped by pid), the extension preloaded,
# real stream entries written by waypoint-apply-feed. Checks, by comparing
# waypoint.state_lines() with the lines the feeder printed (docs/state-lines.md):
#   1. a plain run converges;
#   2. apply workers killed mid-batch with pg_terminate_backend lose and double nothing;
#   3. an apply worker SIGKILLed mid-batch (the postmaster restarts everything) likewise;
#   4. Redis stopped for a while: one log line per worker, no crash loop, then it
#      converges after Redis returns;
#   5. poison entries (undecodable, rejected, failing in the database) land in
#      waypoint.dead_letters and the dead-letter stream while the rest of their batch lands;
#   6. the outbox: a rolled-back enqueue sends nothing, a committed one reaches the job
#      stream; fid_done entries show in waypoint.backfill_progress;
#   7. SIGTERM is honoured promptly even while Redis is unreachable;
#   8. the RSS of an apply worker over a long run (printed as a figure).
#
# usage: apply_pipeline.sh BUILD_DIR        (KEEP=1 keeps the scratch directory)
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/stack.sh"
FEED="$BUILD_DIR/test/integration/waypoint-apply-feed"
PARTS=4
LONG_RUN=${LONG_RUN:-40000}

STACK_DIR=$(mktemp -d /tmp/waypoint-apply.XXXXXX)
chmod 755 "$STACK_DIR"
trap 'stop_stack; if [ "${KEEP:-0}" = 1 ]; then echo "kept $STACK_DIR"; else rm -rf "$STACK_DIR"; fi' EXIT

fail() {
  echo "FAIL: $*"
  echo "--- postgres log (tail)"; tail -40 "$STACK_DIR/pg/postgres.log" || true
  exit 1
}
q() { psql_stack -At -c "$1"; }
feed() { "$FEED" --port "$REDIS_PORT" --partitions "$PARTS" "$@"; }
apply_pids() { q "SELECT pid FROM waypoint.workers WHERE role = 'apply' AND pid IS NOT NULL ORDER BY worker"; }

# converge SECONDS: wait until the database's state lines equal expected.
converge() {
  local secs=$1 deadline=$((SECONDS + $1))
  LC_ALL=C sort "$STACK_DIR/expected" >"$STACK_DIR/expected.sorted"
  while :; do
    { q "SELECT * FROM waypoint.state_lines()" 2>/dev/null || true; } | LC_ALL=C sort >"$STACK_DIR/actual"
    if cmp -s "$STACK_DIR/expected.sorted" "$STACK_DIR/actual"; then return 0; fi
    if [ $SECONDS -ge $deadline ]; then
      diff "$STACK_DIR/expected.sorted" "$STACK_DIR/actual" | head -20
      fail "state lines differ after ${secs}s ($(wc -l <"$STACK_DIR/expected.sorted") expected, $(wc -l <"$STACK_DIR/actual") found)"
    fi
    sleep 0.5
  done
}

# eventually SECONDS DESCRIPTION 'shell condition': re-evaluates the condition each time
# (wait_for would evaluate a $(...) argument only once).
eventually() {
  local deadline=$((SECONDS + $1)) what=$2 cond=$3
  until eval "$cond"; do
    [ $SECONDS -lt $deadline ] || fail "timed out after $1 s waiting for $what"
    sleep 0.2
  done
}

wait_pg() { wait_for 60 "postgres accepting queries" psql_stack -c "SELECT 1"; }

PG_EXTRA_CONF="waypoint.partitions = $PARTS
waypoint.workers = 2
waypoint.batch_size = 200
waypoint.block_ms = 50
waypoint.claim_idle_ms = 2000
waypoint.redis_timeout_ms = 2000
restart_after_crash = on"
start_redis
eventually 60 "redis loaded" '[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]'
start_postgres
psql_stack -c "CREATE EXTENSION waypoint"
# The poison entry of step 5 fails inside the database through this trigger.
psql_stack <<'SQL'
CREATE FUNCTION public.poison_guard() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN IF NEW.text = 'POISON' THEN RAISE EXCEPTION 'poison cast refused'; END IF; RETURN NEW; END$$;
CREATE TRIGGER poison_guard BEFORE INSERT OR UPDATE ON waypoint.casts
  FOR EACH ROW EXECUTE FUNCTION public.poison_guard();
SQL
eventually 30 "apply workers" '[ "$(apply_pids | wc -l)" -eq 2 ]' 

echo "== 1. plain run"
: >"$STACK_DIR/expected"
feed --from 0 --count 2000 >>"$STACK_DIR/expected"
converge 60
echo "ok: $(wc -l <"$STACK_DIR/expected") lines"

echo "== 2. pg_terminate_backend mid-batch"
feed --from 2000 --count 8000 >>"$STACK_DIR/expected" &
feeder=$!
for round in 1 2 3; do
  eventually 30 "apply workers back" '[ "$(apply_pids | wc -l)" -eq 2 ]'
  sleep 0.2
  for pid in $(apply_pids); do q "SELECT pg_terminate_backend($pid)" >/dev/null; done
done
wait "$feeder"
converge 120
echo "ok: $(wc -l <"$STACK_DIR/expected") lines after 3 rounds of terminations"

echo "== 2b. the launcher dies: workers keep running, no duplicates, restarts resume"
eventually 30 "apply workers back" '[ "$(apply_pids | wc -l)" -eq 2 ]'
launcher=$(pgrep -f "waypoint launcher" -P "$(head -1 "$PG_DATA/postmaster.pid")" || true)
[ -n "$launcher" ] || fail "no launcher process"
before_pids=$(apply_pids | tr '\n' ' ')
kill -TERM "$launcher"
eventually 30 "a new launcher" '[ -n "$(pgrep -f "waypoint launcher" -P "$(head -1 "$PG_DATA/postmaster.pid")" || true)" ] && [ "$(pgrep -f "waypoint launcher" -P "$(head -1 "$PG_DATA/postmaster.pid")")" != "$launcher" ]'
sleep 3
[ "$(apply_pids | tr '\n' ' ')" = "$before_pids" ] || fail "apply workers changed when only the launcher restarted"
[ "$(pgrep -f "waypoint apply worker" -P "$(head -1 "$PG_DATA/postmaster.pid")" | wc -l)" -eq 2 ] || fail "duplicate apply workers"
q "SELECT pg_terminate_backend($(apply_pids | head -1))" >/dev/null
eventually 30 "the new launcher restarts a worker" '[ "$(apply_pids | wc -l)" -eq 2 ]'
echo "ok: launcher $launcher restarted; workers untouched; a stopped worker restarted by the new launcher"

echo "== 3. SIGKILL mid-batch (crash restart)"
eventually 30 "apply workers back" '[ "$(apply_pids | wc -l)" -eq 2 ]'
feed --from 10000 --count 8000 >>"$STACK_DIR/expected" &
feeder=$!
sleep 0.5
victim=$(apply_pids | head -1)
kill -KILL "$victim"
wait "$feeder"
sleep 2
wait_pg
converge 180
grep -q "terminated by signal 9" "$STACK_DIR/pg/postgres.log" || fail "no crash restart seen"
echo "ok: converged after SIGKILL of pid $victim"

echo "== 4. Redis down and back"
before=$(grep -c "Redis unavailable" "$STACK_DIR/pg/postgres.log" || true)
stop_pid "$REDIS_PID"
sleep 6
down_lines=$(( $(grep -c "Redis unavailable" "$STACK_DIR/pg/postgres.log" || true) - before ))
[ "$down_lines" -le 3 ] || fail "expected one 'Redis unavailable' line per worker, got $down_lines"
[ "$down_lines" -ge 1 ] || fail "no 'Redis unavailable' line logged"
[ "$(q "SELECT count(*) FROM waypoint.workers WHERE redis_connected")" = 0 ] || fail "workers still claim Redis is up"
q "SELECT count(*) FROM waypoint.workers WHERE pid IS NOT NULL" | grep -qx 3 || fail "workers died while Redis was down"
# 7. SIGTERM while Redis is unreachable: the worker must leave within a second or two.
victim=$(apply_pids | head -1)
t0=$(date +%s%N)
q "SELECT pg_terminate_backend($victim)" >/dev/null
while kill -0 "$victim" 2>/dev/null; do
  [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3000 ] || fail "worker $victim ignored SIGTERM for 3 s"
  sleep 0.05
done
echo "ok: SIGTERM honoured in $(( ($(date +%s%N) - t0) / 1000000 )) ms with Redis down; $down_lines outage lines"
REDIS_PORT_SAVED=$REDIS_PORT
start_redis  # same port (REDIS_PORT is set) and same AOF directory: the streams come back
[ "$REDIS_PORT" = "$REDIS_PORT_SAVED" ] || fail "redis came back on another port"
# PING answers "LOADING" while the AOF is replayed; wait for the real PONG.
eventually 60 "redis loaded" '[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]' 
feed --from 18000 --count 2000 >>"$STACK_DIR/expected"
converge 120
echo "ok: converged after Redis came back"

eventually 30 "apply workers back" '[ "$(apply_pids | wc -l)" -eq 2 ]'
echo "== 5. poison"
feed --from 20000 --count 40 --poison >>"$STACK_DIR/expected"
converge 60
eventually 30 "4 dead letters" '[ "$(q "SELECT count(*) FROM waypoint.dead_letters")" -eq 4 ]' 
q "SELECT reason FROM waypoint.dead_letters ORDER BY reason" >"$STACK_DIR/reasons"
grep -q "^apply: poison cast refused" "$STACK_DIR/reasons" || fail "database-failing entry not dead-lettered"
grep -q "^decode: stream entry version 9" "$STACK_DIR/reasons" || fail "undecodable entry not dead-lettered"
grep -q "^decode: payload is not a valid Message" "$STACK_DIR/reasons" || fail "rejected entry not dead-lettered"
grep -q "^fid_done: " "$STACK_DIR/reasons" || fail "bad fid_done not dead-lettered"
[ "$(redis-cli -p "$REDIS_PORT" XLEN waypoint:dead)" -ge 4 ] || fail "dead-letter stream is short"
pending=$(q "SELECT coalesce(sum(pending), 0) FROM waypoint.queue_depth WHERE group_name = 'apply'")
[ "$pending" = 0 ] || fail "$pending entries still pending after poison"
echo "ok: 4 poison entries dead-lettered, their batches landed, nothing pending"

echo "== 6. outbox and backfill progress"
jobs_before=$(redis-cli -p "$REDIS_PORT" XLEN waypoint:backfill:jobs)
psql_stack -c "BEGIN; SELECT waypoint.enqueue_backfill(ARRAY[1,2,3]::bigint[]); ROLLBACK;" >/dev/null
job=$(q "SELECT waypoint.enqueue_backfill(ARRAY(SELECT generate_series(1, 20))::bigint[], ARRAY['cast'])")
eventually 30 "job $job dispatched" '[ -n "$(q "SELECT 1 FROM waypoint.backfill_jobs WHERE job_id = $job AND dispatched_at IS NOT NULL")" ]' 
sleep 1
jobs_after=$(redis-cli -p "$REDIS_PORT" XLEN waypoint:backfill:jobs)
[ $((jobs_after - jobs_before)) -eq 1 ] || fail "expected exactly one job entry, got $((jobs_after - jobs_before))"
redis-cli -p "$REDIS_PORT" XRANGE waypoint:backfill:jobs - + | tr '\n' ' ' | grep -q "job $job fids 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20 types cast" ||
  fail "job entry has unexpected fields: $(redis-cli -p "$REDIS_PORT" XRANGE waypoint:backfill:jobs - + | tr '\n' ' ')"
feed --from 0 --count 0 --fids 20 --fid-done "$job" >/dev/null
eventually 30 "backfill progress" '[ "$(q "SELECT state FROM waypoint.backfill_progress WHERE job_id = $job")" = done_with_failures ]' 
row=$(q "SELECT fids_queued, fids_done, fids_failed, messages FROM waypoint.backfill_progress WHERE job_id = $job")
[ "$row" = "20|16|4|1600" ] || fail "backfill_progress row is $row, expected 20|16|4|1600"
echo "ok: rolled-back enqueue sent nothing; job $job dispatched; progress $row"

echo "== 6a. outbox: a failed mark means a resend, never a loss"
psql_stack <<'SQL'
CREATE FUNCTION public.refuse_mark() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN RAISE EXCEPTION 'mark refused for the test'; END$$;
CREATE TRIGGER refuse_mark BEFORE UPDATE ON waypoint.backfill_jobs
  FOR EACH ROW EXECUTE FUNCTION public.refuse_mark();
SQL
job2=$(q "SELECT waypoint.enqueue_backfill(ARRAY[77]::bigint[])")
sent() { redis-cli -p "$REDIS_PORT" XRANGE waypoint:backfill:jobs - + | grep -cx "$job2" || true; }
eventually 30 "job $job2 sent twice while its mark fails" '[ "$(sent)" -ge 2 ]'
[ -z "$(q "SELECT dispatched_at FROM waypoint.backfill_jobs WHERE job_id = $job2")" ] || fail "job marked despite the trigger"
q "DROP TRIGGER refuse_mark ON waypoint.backfill_jobs" >/dev/null
eventually 30 "job $job2 marked" '[ -n "$(q "SELECT dispatched_at FROM waypoint.backfill_jobs WHERE job_id = $job2")" ]'
echo "ok: job $job2 resent $(sent) times until its mark succeeded"

echo "== 6b. sync_status and queue_depth"
redis-cli -p "$REDIS_PORT" HSET waypoint:node:shard:1:head block 5000 event_id $((5000 << 14)) ts 1700000000000 >/dev/null
row=$(q "SELECT applied_height, node_height, lag_blocks, node_head_at = to_timestamp(1700000000) FROM waypoint.sync_status WHERE shard = 1")
applied=$(q "SELECT max(applied_event_id) >> 14 FROM waypoint.shard_progress WHERE shard = 1")
[ "$row" = "$applied|5000|$((5000 - applied))|t" ] || fail "sync_status row for shard 1 is '$row' (applied height $applied)"
[ "$(q "SELECT count(*) FROM waypoint.queue_depth WHERE group_name = 'apply' AND length > 0")" = "$PARTS" ] ||
  fail "queue_depth does not show $PARTS partition streams"
[ "$(q "SELECT length FROM waypoint.queue_depth WHERE stream = 'waypoint:dead'")" -ge 4 ] || fail "queue_depth misses dead letters"
echo "ok: sync_status $row; queue_depth lists every stream"

echo "== 8. apply worker RSS over a long run ($LONG_RUN entries)"
pid=$(apply_pids | head -1)
# VmRSS also counts the shared buffers a worker has touched, which grows until it has
# seen all of shared_buffers; RssAnon is the worker's private memory, where a leak shows.
mem() { awk '/^(VmRSS|RssAnon|RssShmem):/ {printf "%s %s kB  ", $1, $2}' "/proc/$pid/status"; }
anon() { awk '/^RssAnon:/ {print $2}' "/proc/$pid/status"; }
echo "start:                 $(mem)"
feed --from 30000 --count "$LONG_RUN" >>"$STACK_DIR/expected"
converge 600
anon1=$(anon)
echo "after $LONG_RUN entries:  $(mem)"
feed --from $((30000 + LONG_RUN)) --count "$LONG_RUN" >>"$STACK_DIR/expected"
converge 600
anon2=$(anon)
echo "after $((2 * LONG_RUN)) entries: $(mem)"
# Private memory must not keep growing between two equal halves (a per-batch leak would).
[ $((anon2 - anon1)) -lt 4096 ] || fail "apply worker private memory grew by $((anon2 - anon1)) kB over the second half"
q "SELECT worker, entries_applied, batches, dead_letters, errors FROM waypoint.workers"

echo "== 9. SIGHUP: waypoint.redis_url changed at runtime"
old_port=$REDIS_PORT
unset REDIS_PORT
start_redis
[ "$REDIS_PORT" != "$old_port" ] || fail "second redis on the same port"
eventually 60 "redis loaded" '[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]' 
q "ALTER SYSTEM SET waypoint.redis_url = '$REDIS_URL'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
eventually 30 "every worker on the new Redis" '[ "$(grep -c "connected to redis://127.0.0.1:$REDIS_PORT" "$STACK_DIR/pg/postgres.log" || true)" -ge 3 ]'
feed --from 200000 --count 500 >>"$STACK_DIR/expected"
converge 60
echo "ok: workers moved to $REDIS_URL on reload and applied its entries"

echo "PASS apply_pipeline: $(wc -l <"$STACK_DIR/expected") state lines equal"
