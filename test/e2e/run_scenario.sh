#!/usr/bin/env bash
# End-to-end scenario: the test Snapchain node -> the sidecar -> Redis -> the extension,
# all real processes on loopback. Passes when the database's state lines equal the
# node's own (docs/state-lines.md), after whatever fault the scenario injects.
#
# usage: run_scenario.sh BUILD_DIR SCENARIO
#   normal          plain live stream of the node's history
#   sidecar-kill    SIGKILL the sidecar mid-stream, restart it
#   drops           the node drops the stream every N events
#   duplicates      the node sends some events twice
#   stall           the node stops sending without closing (watchdog must reconnect)
#   gaps            the node withholds events on the stream (gap detection + GetEvents repair)
#   garbled         the node sends undecodable events (repair from GetEvent(s))
#   backfill        no stream: a backfill of every fid enqueued from SQL
#   backfill-kill   the same, with the sidecar SIGKILLed mid-backfill and restarted
#   backfill-race   live stream and backfill of the same fids at once
#   chaos           drops, duplicates, withheld and garbled events together, and a SIGKILL
#                   of the sidecar (run over several seeds by ctest)
#   forged          the node's stream also carries messages no node would merge (bad hash,
#                   bad signature, garbage data, another network), with duplicates and a
#                   SIGKILL of the sidecar: each must be a refused dead letter, never a row
#   forged-backfill the same forgeries served in the backfill pages
#   forged-full     forged, at verification level full, with casts signed by keys never
#                   added for their fid too: those must be held, never rows
#   forged-full-backfill  the same in backfill pages, where every message is read before
#                   its fid's keys (held, then applied when the key's add is)
#   stale           backfill a node's history, then backfill (no stream) a node whose
#                   history went on (--extra-history): rows it no longer holds must be
#                   reconciled away (docs/apply-semantics.md)
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd)
SCENARIO=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/stack.sh"

NODE_BIN="$BUILD_DIR/test/node/waypoint-test-node"
SIDECAR_BIN="$BUILD_DIR/sidecar/waypoint-sidecar"
STACK_DIR=$(mktemp -d /tmp/waypoint-e2e.XXXXXX)
chmod 755 "$STACK_DIR"
trap 'stop_stack; if [ "${KEEP:-0}" = 1 ]; then echo "kept $STACK_DIR"; else rm -rf "$STACK_DIR"; fi' EXIT

FIDS=${FIDS:-60}
NODE_ARGS=(--seed "${SEED:-7}" --fids "$FIDS" --shards 2 --dump-state "$STACK_DIR/node.state")
SIDECAR_MODE=stream
VERIFY=signature
ALL_FORGERIES=hash,signature,data,network,signer
case "$SCENARIO" in
  normal|sidecar-kill) ;;
  drops) NODE_ARGS+=(--drop-every 150) ;;
  duplicates) NODE_ARGS+=(--duplicate-rate 0.05) ;;
  stall) NODE_ARGS+=(--stall-after 300) ;;
  gaps) NODE_ARGS+=(--withhold 0.03) ;;
  garbled) NODE_ARGS+=(--garble-rate 0.02) ;;
  chaos) NODE_ARGS+=(--drop-every 200 --duplicate-rate 0.03 --withhold 0.02 --garble-rate 0.01) ;;
  # A backfill reads app keys as the node's key state (GetSignersByFid) and channels from
  # the node's channel state reads, compared in the state form below.
  backfill|backfill-kill|stale) SIDECAR_MODE=backfill ;;
  forged) NODE_ARGS+=(--forge-rate 0.03 --forge-log "$STACK_DIR/forged" --duplicate-rate 0.02) ;;
  forged-backfill) SIDECAR_MODE=backfill; NODE_ARGS+=(--forge-rate 0.03 --forge-log "$STACK_DIR/forged") ;;
  forged-full) VERIFY=full
    NODE_ARGS+=(--forge-rate 0.03 --forge-kinds "$ALL_FORGERIES" --forge-log "$STACK_DIR/forged" --duplicate-rate 0.02) ;;
  # (Without app keys: a message signed by an app key the node has removed since stays on
  # the node, but the key's state is gone, so a backfill at level full holds it for good;
  # docs/verification.md.)
  forged-full-backfill) VERIFY=full; SIDECAR_MODE=backfill
    NODE_ARGS+=(--no-app-keys --forge-rate 0.03 --forge-kinds "$ALL_FORGERIES" --forge-log "$STACK_DIR/forged") ;;
  backfill-race) SIDECAR_MODE=both ;;
  *) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac

start_redis
start_postgres
psql_stack -c "CREATE EXTENSION waypoint"
start_node "$NODE_BIN" "${NODE_ARGS[@]}"
wait_for 120 "node state dump" test -s "$STACK_DIR/node.state"

METRICS_PORT=$(free_port)
SIDECAR_ARGS=(--mode "$SIDECAR_MODE" --node "127.0.0.1:$NODE_PORT" --redis-url "$REDIS_URL"
              --metrics-listen "127.0.0.1:$METRICS_PORT" --watchdog-ms 3000 --verify "$VERIFY")

# metric NAME [FILTER]: sum of a sidecar metric's samples whose labels match FILTER (regex).
metric() {
  python3 - "$METRICS_PORT" "$1" "${2:-}" <<'PY'
import re, sys, urllib.request
port, name, flt = sys.argv[1], sys.argv[2], sys.argv[3]
text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
total = 0.0
for line in text.splitlines():
    m = re.match(r"^([a-z_]+)(\{[^}]*\})?\s+(\S+)$", line)
    if m and m.group(1) == name and re.search(flt, m.group(2) or ""):
        total += float(m.group(3))
print(int(total))
PY
}

# The fault must have happened, or the scenario proves nothing.
expect_evidence() {
  local what n
  case "$SCENARIO" in
    drops) what="subscriptions ended by the node"; n=$(metric waypoint_sidecar_subscription_ends_total 'reason="(error|stream_end)"') ;;
    stall) what="watchdog reconnects"; n=$(metric waypoint_sidecar_subscription_ends_total 'reason="watchdog"') ;;
    gaps) what="repaired events"; n=$(metric waypoint_sidecar_repaired_events_total) ;;
    garbled) what="undecodable events seen"; n=$(metric waypoint_sidecar_undecodable_total) ;;
    duplicates) what="duplicates dropped"; n=$(metric waypoint_sidecar_duplicates_dropped_total) ;;
    # Two sidecar processes ran (one was killed): count the repairs both logged.
    chaos) what="repairs logged"; n=$(grep -c "repaired [0-9]* missing event" "$STACK_DIR/sidecar.log" || true) ;;
    *) return 0 ;;
  esac
  echo "evidence: $n $what"
  [ "${n:-0}" -gt 0 ] || { echo "FAIL $SCENARIO: the fault never happened ($what = 0)"; exit 1; }
}
start_sidecar "$SIDECAR_BIN" "${SIDECAR_ARGS[@]}"

case "$SCENARIO" in
  backfill|backfill-kill|backfill-race|stale|forged-backfill|forged-full-backfill)
    psql_stack -c "SELECT waypoint.enqueue_backfill_all()" ;;
esac

if [ "$SCENARIO" = sidecar-kill ] || [ "$SCENARIO" = backfill-kill ] || [ "$SCENARIO" = chaos ] ||
   [ "$SCENARIO" = forged ] || [ "$SCENARIO" = forged-full ]; then
  sleep 2
  kill -KILL "$SIDECAR_PID"
  wait "$SIDECAR_PID" 2>/dev/null || true
  echo "killed the sidecar (pid $SIDECAR_PID); restarting"
  start_sidecar "$SIDECAR_BIN" "${SIDECAR_ARGS[@]}"
fi

# state_form: a mirror filled by backfill alone is compared in the channel state form
# (channel_state_form, scripts/lib/stack.sh), both sides alike; every other run line for line.
state_form() {
  if [ "$SIDECAR_MODE" != backfill ]; then cat; else channel_state_form; fi
}

# converge STATE_FILE: wait until the database's state lines equal the node's (exit 1 on timeout).
converge() {
  state_form <"$1" | LC_ALL=C sort >"$STACK_DIR/expected"
  local deadline=$((SECONDS + ${TIMEOUT:-240}))
  while :; do
    psql_stack -At -c "SELECT * FROM waypoint.state_lines()" | state_form | LC_ALL=C sort >"$STACK_DIR/actual" || true
    cmp -s "$STACK_DIR/expected" "$STACK_DIR/actual" && return 0
    if [ $SECONDS -ge $deadline ]; then
      echo "FAIL $SCENARIO: database differs from the node (expected $(wc -l <"$STACK_DIR/expected") lines, got $(wc -l <"$STACK_DIR/actual"))"
      diff "$STACK_DIR/expected" "$STACK_DIR/actual" | head -40
      echo "--- sidecar log (tail)"; tail -30 "$STACK_DIR/sidecar.log" || true
      echo "--- postgres log (tail)"; tail -30 "$STACK_DIR/pg/postgres.log" || true
      exit 1
    fi
    sleep 1
  done
}

if [ "$SCENARIO" = stale ]; then
  converge "$STACK_DIR/node.state"
  echo "mirror equals the first node ($(wc -l <"$STACK_DIR/expected") lines); switching to a node whose history went on"
  stop_pid "$SIDECAR_PID"
  stop_pid "$NODE_PID"
  LC_ALL=C sort "$STACK_DIR/node.state" >"$STACK_DIR/first.state"
  rm -f "$STACK_DIR/node.state"
  start_node "$NODE_BIN" "${NODE_ARGS[@]}" --extra-history "${EXTRA_HISTORY:-10}"
  wait_for 120 "node state dump" test -s "$STACK_DIR/node.state"
  LC_ALL=C sort "$STACK_DIR/node.state" >"$STACK_DIR/second.state"
  # Lines the second node no longer holds: without reconciliation they would stay.
  gone=$(LC_ALL=C comm -23 "$STACK_DIR/first.state" "$STACK_DIR/second.state" | wc -l)
  echo "the second node no longer holds $gone of the first node's lines"
  [ "$gone" -gt 0 ] || { echo "FAIL $SCENARIO: the histories do not diverge"; exit 1; }
  SIDECAR_ARGS=(--mode backfill --node "127.0.0.1:$NODE_PORT" --redis-url "$REDIS_URL"
                --metrics-listen "127.0.0.1:$METRICS_PORT" --watchdog-ms 3000)
  start_sidecar "$SIDECAR_BIN" "${SIDECAR_ARGS[@]}"
  psql_stack -c "SELECT waypoint.enqueue_backfill_all()"
fi

# Converge: the database must reach exactly the node's state lines.
converge "$STACK_DIR/node.state"
expect_evidence
# The README's example queries answer on this mirror (casts, threads, keys, channels).
if [ "$SCENARIO" = normal ]; then python3 "$ROOT/test/e2e/readme_examples.py" "$PG_PORT" "$ROOT/README.md"; fi
# App keys took part (held KEY_ADDs, removes, messages signed by app keys), unless off.
# A mirror filled by backfill alone knows them from the node's key state (no hash) and
# never sees a removed key, except one a reconciliation removed (stale).
case " ${NODE_ARGS[*]} " in *" --no-app-keys "*) ;; *)
  keys=$(grep -c $'^app_key\t' "$STACK_DIR/expected" || true)
  read -r removed signed stated <<<"$(psql_stack -At -F' ' -c "SELECT (SELECT count(*) FROM waypoint.app_keys WHERE removed),
    (SELECT count(*) FROM waypoint.messages m JOIN waypoint.app_keys a ON a.fid = m.fid AND a.key = m.signer
      WHERE m.type NOT IN (16, 17)),
    (SELECT count(*) FROM waypoint.app_keys WHERE message_hash IS NULL)")"
  echo "evidence: $keys app keys held, $removed removed, $stated from the node's key state, $signed messages signed by app keys"
  [ "$keys" -gt 0 ] && [ "$signed" -gt 0 ] || { echo "FAIL $SCENARIO: no app keys in the history"; exit 1; }
  if [ "$SIDECAR_MODE" = backfill ]; then
    [ "$stated" -gt 0 ] || { echo "FAIL $SCENARIO: no app keys from the backfill"; exit 1; }
    if [ "$SCENARIO" = stale ]; then
      [ "$(psql_stack -At -c "SELECT count(*) FROM waypoint.app_keys WHERE dropped_reason = 'reconciled'")" -gt 0 ] ||
        { echo "FAIL $SCENARIO: no app key reconciled away"; exit 1; }
    fi
  else
    [ "$removed" -gt 0 ] || { echo "FAIL $SCENARIO: no removed app keys"; exit 1; }
  fi
  ;;
esac
# Channels took part (docs/test-node.md): registered channels with members of several
# states, metadata, pins and moderations, all compared above; unless off.
case " ${NODE_ARGS[*]} " in *" --no-channels "*) ;; *)
  channels=$(grep -c $'^channel\t' "$STACK_DIR/expected" || true)
  states=$(grep $'^channel_member\t' "$STACK_DIR/expected" | cut -f4 | LC_ALL=C sort -u | paste -sd, -)
  slots=$(grep -c -e $'^channel_meta\t' -e $'^channel_pin\t' -e $'^channel_moderation\t' "$STACK_DIR/expected" || true)
  copies=$(psql_stack -At -c "SELECT count(*) FROM waypoint.channel_members")
  echo "evidence: $channels channels, member states $states, $slots metadata/pin/moderation slots, $copies member rows"
  [ "$channels" -gt 0 ] && [ "$slots" -gt 0 ] && [[ "$states" == *member* ]] && [[ "$states" == *removed* ]] ||
    { echo "FAIL $SCENARIO: no channels in the history"; exit 1; }
  ;;
esac
# Backfill jobs end done, their channel pass included (the fid_done of fid 0); a
# channels-only job has no fids and ends done by its pass alone, the mirror unchanged.
case "$SCENARIO" in backfill|backfill-kill|stale)
  jobs_not_done() { psql_stack -At -c "SELECT count(*) FROM waypoint.backfill_progress
                                        WHERE state <> 'done' OR channels IS DISTINCT FROM 'ok'"; }
  all_jobs_done() { [ "$(jobs_not_done)" = 0 ]; }
  wait_for 60 "every backfill job done with its channel pass" all_jobs_done ||
    { echo "FAIL $SCENARIO: backfill jobs not done"; psql_stack -c "SELECT * FROM waypoint.backfill_progress"; exit 1; }
  job=$(psql_stack -At -c "SELECT waypoint.enqueue_backfill_channels()")
  wait_for 60 "channels-only job $job done" all_jobs_done ||
    { echo "FAIL $SCENARIO: channels-only job not done"; psql_stack -c "SELECT * FROM waypoint.backfill_progress"; exit 1; }
  row=$(psql_stack -At -c "SELECT fids_queued, fids_done, messages > 0 FROM waypoint.backfill_progress WHERE job_id = $job")
  [ "$row" = "0|0|t" ] || { echo "FAIL $SCENARIO: channels-only job's progress is $row, expected 0|0|t"; exit 1; }
  echo "backfill jobs done, channel passes included; channels-only job $job done"
  converge "$STACK_DIR/node.state"
  ;;
esac
case "$SCENARIO" in forged*)
  # Every forgery is refused with its own check (as often as it was read), nothing else
  # is, and none of them is a row. At level full, casts signed by a key never added for
  # their fid are held instead (and nothing else stays held).
  awk -F'\t' 'BEGIN { c["hash"] = "hash_mismatch"; c["signature"] = "bad_signature"; c["data"] = "bad_data";
                       c["network"] = "wrong_network" }
              $3 != "signer" { print $1 " " ($3 in c ? c[$3] : "?") }' "$STACK_DIR/forged" |
    LC_ALL=C sort -u >"$STACK_DIR/forged.want"
  awk -F'\t' '$3 == "signer" { print $1 }' "$STACK_DIR/forged" | LC_ALL=C sort -u >"$STACK_DIR/held.want"
  n=$(wc -l <"$STACK_DIR/forged.want")
  [ "$n" -ge 8 ] || { echo "FAIL $SCENARIO: only $n forgeries"; exit 1; }
  deadline=$((SECONDS + 60))
  until psql_stack -At -c "SELECT DISTINCT encode(message_hash, 'hex') || ' ' || check_failed
                             FROM waypoint.refused_messages" | LC_ALL=C sort >"$STACK_DIR/forged.got" &&
        cmp -s "$STACK_DIR/forged.want" "$STACK_DIR/forged.got"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "FAIL $SCENARIO: refused messages differ from the forgeries (< forged, > refused)"
      diff "$STACK_DIR/forged.want" "$STACK_DIR/forged.got" | head -20
      exit 1
    fi
    sleep 1
  done
  if [ "$VERIFY" = full ]; then
    [ -s "$STACK_DIR/held.want" ] || { echo "FAIL $SCENARIO: no forgery by an unknown key"; exit 1; }
    until psql_stack -At -c "SELECT DISTINCT encode(hash, 'hex') FROM waypoint.held_messages" |
            LC_ALL=C sort >"$STACK_DIR/held.got" && cmp -s "$STACK_DIR/held.want" "$STACK_DIR/held.got"; do
      if [ $SECONDS -ge $deadline ]; then
        echo "FAIL $SCENARIO: held messages differ from the forgeries by unknown keys (< forged, > held)"
        diff "$STACK_DIR/held.want" "$STACK_DIR/held.got" | head -20
        exit 1
      fi
      sleep 1
    done
    echo "evidence: $(wc -l <"$STACK_DIR/held.want") casts by unknown keys held, nothing else"
  fi
  hashes=$(cat "$STACK_DIR/forged.want" "$STACK_DIR/held.want" | cut -d' ' -f1 | sed "s/.*/'\\\\x&'/" | paste -sd,)
  rows=$(psql_stack -At -c "SELECT count(*) FROM waypoint.messages WHERE hash IN ($hashes)")
  [ "$rows" = 0 ] || { echo "FAIL $SCENARIO: $rows forged messages became rows"; exit 1; }
  echo "evidence: $n forgeries ($(cut -d' ' -f2 "$STACK_DIR/forged.want" | sort | uniq -c | paste -sd' ')), each refused, none a row;" \
       "$(psql_stack -At -c "SELECT count(*) FROM waypoint.refused_messages") refused dead letters," \
       "$(metric waypoint_sidecar_refused_total) counted by the sidecar"
  ;;
esac
if [ "$SCENARIO" = stale ]; then
  n=$(psql_stack -At -c "SELECT coalesce(sum(reconciled_rows), 0) FROM waypoint.backfill_fid_starts")
  echo "evidence: $n rows reconciled (marked gone) by the second backfill"
  [ "$n" -gt 0 ] || { echo "FAIL $SCENARIO: nothing was reconciled"; exit 1; }
fi
echo "PASS $SCENARIO: $(wc -l <"$STACK_DIR/expected") state lines equal to the node's"
exit 0
