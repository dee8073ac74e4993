#!/usr/bin/env python3
"""Renders bench/run.sh's KEY=VALUE results as docs/benchmarks.md (markdown on stdout).

usage: report.py RESULTS MODE COMMAND
"""
import datetime
import os
import platform
import subprocess
import sys

res_path, mode, command = sys.argv[1], sys.argv[2], sys.argv[3]
r = {}
for line in open(res_path):
    if "=" in line:
        k, v = line.strip().split("=", 1)
        r[k] = v


def f(k, default=0.0):
    try:
        return float(r[k])
    except (KeyError, ValueError):
        return default


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def pg_version():
    try:
        return subprocess.run(["pg_config", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "PostgreSQL"


def target(ok):
    return "met" if ok else "**missed**"


entries = f("entries")
copy_rate = entries / f("copy_secs", 1e-9)  # stream entries per second, at COPY speed
mb = 1024.0
p1, p2, p4, p41 = f("apply_rate_p1w1"), f("apply_rate_p2w2"), f("apply_rate_p4w4"), f("apply_rate_p4w1")
eff = p2 / copy_rate if copy_rate else 0
scale2 = p2 / p1 if p1 else 0
e2e = f("e2e_rate")
redis_per_m = max(f("redis_bytes_per_entry_p2w2"), 0) * 1e6 / mb / mb
sidecar_peak = max(f("e2e_sidecar_hwm_kb"), f("bf_sidecar_hwm_kb")) / mb
anon_first, anon_last = f("e2e_worker_anon_first_kb") / mb, f("e2e_worker_anon_last_kb") / mb
anon_bf_last = f("bf_worker_anon_last_kb") / mb
# The same worker processes run 2 then run 3: a per-batch leak keeps growing over run 3,
# a warm-up plateau (caches, the largest batch's buffers) does not.
flat = anon_bf_last - anon_last < 16

out = []
w = out.append
w("# Benchmarks")
w("")
w("Written by `make bench` (`bench/run.sh`); do not edit by hand. Every rate is also given as")
w("a ratio against a baseline measured in the same run, because absolute figures move from run")
w("to run on shared machines.")
w("")
w(f"- Command: `{command}` (mode **{mode}**)")
w(f"- Date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}")
w(f"- Machine: {os.cpu_count()} cores ({cpu()}), "
  f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB RAM, {pg_version()}, "
  "PostgreSQL defaults plus `track_commit_timestamp = on` (shared by every helper's builds and tests)")
w(f"- Dataset: test node `--seed 11 --fids {int(f('fids'))}` with {int(f('node_messages'))} messages, "
  f"2 shards; {int(entries)} stream entries (HubEvents incl. BLOCK_CONFIRMED, on-chain events, "
  f"fname proofs); {int(f('copy_rows'))} rows in the apply tables after applying them")
w("")
w("| # | measure | figure | ratio / note | target |")
w("|---|---|---|---|---|")
w(f"| 1 | COPY baseline: the applied rows COPYed back into the same emptied, indexed tables "
  f"(one transaction; faster of text {f('copy_secs_text')} s / binary {f('copy_secs_binary')} s) | "
  f"{copy_rate:,.0f} entries/s ({f('copy_rows') / f('copy_secs', 1e-9):,.0f} rows/s) | 1.00 | |")
w(f"| 1 | apply from prefilled streams, 2 partitions / 2 workers | {p2:,.0f} entries/s | "
  f"{eff:.2f} of COPY | >= 0.6: {target(eff >= 0.6)} |")
w(f"| 1 | one worker vs several: 4 partitions, 1 worker / 4 workers | {p41:,.0f} / {p4:,.0f} entries/s | "
  f"{(p4 / p41 if p41 else 0):.2f}x | |")
w(f"| 2 | end to end, cold start: node -> sidecar -> Redis -> extension (8 partitions, 2 workers) | "
  f"{e2e:,.0f} entries/s ({f('e2e_secs')} s) | {(e2e / copy_rate if copy_rate else 0):.2f} of COPY | |")
e2e_off = f("e2e_off_rate")
w(f"| 2b | end to end as run 2 with verification off (`--verify off`); run 2 verifies every message's hash "
  f"and Ed25519 signature (default `signature`) | {e2e_off:,.0f} entries/s ({f('e2e_off_secs')} s) | "
  f"signature / off = {(e2e / e2e_off if e2e_off else 0):.2f}; one core verifies a message in "
  f"{f('verify_us_hash'):.2f} us at `hash`, {f('verify_us_signature'):.1f} us at `signature` | >= 0.8: "
  f"{target(e2e_off > 0 and e2e / e2e_off >= 0.8)} |")
w(f"| 3 | backfill of all fids (concurrency 8, no rate limit) | {f('bf_fid_rate'):,.0f} fids/s, "
  f"{f('bf_msg_rate'):,.0f} messages/s | {int(f('bf_fids'))} fids ok, {int(f('bf_failed'))} failed, "
  f"{int(f('bf_messages'))} messages in {f('bf_secs')} s | |")
w(f"| 4 | live latency at 1,000 submissions/s (node publication -> row commit), p50 / p99 / max | "
  f"{f('lat_p50'):.0f} / {f('lat_p99'):.0f} / {f('lat_max'):.0f} ms | {int(f('lat_n'))} of "
  f"{int(f('lat_emitted'))} merged messages measured; split at the applying transaction's start: "
  f"waiting (publication -> transaction start) p50 {f('lat_wait_p50'):.0f} / p99 {f('lat_wait_p99'):.0f} ms, "
  f"applying (start -> commit) p50 {f('lat_apply_p50'):.0f} / p99 {f('lat_apply_p99'):.0f} ms | "
  f"p99 <= 50 ms: {target(f('lat_p99') <= 50)} |")
w(f"| 5 | sidecar peak RSS (VmHWM, runs 2 and 3) | {sidecar_peak:.1f} MB | stream {f('e2e_sidecar_hwm_kb') / mb:.1f}, "
  f"backfill {f('bf_sidecar_hwm_kb') / mb:.1f} | <= 64 MB: {target(0 < sidecar_peak <= 64)} |")
w(f"| 5 | apply worker private memory (RssAnon, largest worker): start of run 2 -> end of run 2 -> end of run 3 | "
  f"{anon_first:.1f} -> {anon_last:.1f} -> {anon_bf_last:.1f} MB | peak RssAnon {f('e2e_worker_anon_max_kb') / mb:.1f} MB; "
  f"peak VmRSS {f('e2e_worker_rss_max_kb') / mb:.1f} MB (counts shared buffers touched) | "
  f"flat after warm-up (run 3 grows < 16 MB): {target(flat)} |")
w(f"| 5 | Redis memory per million pending entries (prefill, 2 partitions) | {redis_per_m:,.0f} MB | "
  f"peak used_memory run 2 {f('e2e_redis_used_max') / mb / mb:.0f} MB, run 3 {f('bf_redis_used_max') / mb / mb:.0f} MB | |")
w(f"| 6 | scaling, partitions = workers = 1 / 2 / 4 | {p1:,.0f} / {p2:,.0f} / {p4:,.0f} entries/s | "
  f"1.00 / {scale2:.2f} / {(p4 / p1 if p1 else 0):.2f} | 1 -> 2 near-linear: {target(scale2 >= 1.6)} |")
roots_live, roots_off = f('roots_live_rate'), f('roots_unresolved_rate')
roots_ratio = roots_live / roots_off if roots_off else 0
w(f"| 7 | thread roots: apply from prefilled streams (2/2) with every root resolved / with the resolvers off "
  f"(medians of {f('roots_rounds'):.0f} alternating runs, bench/thread_roots.sh) | {roots_live:,.0f} / {roots_off:,.0f} entries/s | "
  f"{roots_ratio:.2f}; apply workers' CPU {f('roots_live_cpu'):.2f} / {f('roots_unresolved_cpu'):.2f} s | "
  f"no drop (>= 0.95): {target(roots_ratio >= 0.95)} |")
w("")
w("How each figure is taken (bench/run.sh):")
w("")
w("- Rates of runs 1 and 6 are stream entries over the time from the first batch's transaction")
w("  start (`min(messages.first_seen_at)`) to the last batch's `last_batch_at` (`waypoint.workers`),")
w("  after the sidecar filled the streams with no consumer and CREATE EXTENSION released the workers. The COPY baseline is the rows those")
w("  entries produced, so `entries/s at COPY speed` = entries / COPY seconds.")
w("- Run 2 starts the clock before the sidecar starts, with the extension created and idle.")
w("- Run 3 is `dispatched_at` to the last `fid_done` applied (`waypoint.backfill_progress`).")
w("- Run 4: the test node writes `<hash>\\t<unix ms>` per MERGE_MESSAGE right after publishing a")
w("  block (`--emit-log`, 500 ms blocks); the commit time is `pg_xact_commit_timestamp(xmin)` of")
w("  the message's row (rows later rewritten by a prune/revoke/drop are left out; the first 3 s")
w("  after node start are warm-up). Same host clock for both. The split point is the applying")
w("  transaction's start (`messages.first_seen_at`); the run starts with a CHECKPOINT.")
w("- Footprint is sampled every 250 ms by bench/sample.py.")
w("- Run 7 (bench/thread_roots.sh): run 1's streams prefilled once, then drained again and again into an")
w("  empty mirror, alternating the extension as installed (timed until every entry is applied and the")
w("  thread-root queue is empty) with both resolvers replaced by no-ops (timed until every entry is")
w("  applied; the batches still write each cast's first guess). The ratio is the cost of exact roots.")
# Hand-written findings (profiling notes, known misses) kept next to the programs.
notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
if os.path.exists(notes):
    w("")
    w(open(notes).read().rstrip())
print("\n".join(out))
