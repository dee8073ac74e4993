#!/usr/bin/env python3
"""Footprint sampler for bench/run.sh: every 0.25 s until SIGTERM, records the peak RSS
of the sidecar, the RSS/RssAnon of every apply worker (children of the postmaster whose
title says "apply worker") and Redis used_memory with the entries held in the partition
streams. Writes KEY=VALUE lines to OUT on exit.

usage: sample.py OUT SIDECAR_PID POSTMASTER_PID REDIS_PORT PARTITIONS
"""
import os
import signal
import subprocess
import sys
import time

out, sidecar, postmaster, redis_port, parts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def status(pid):
    vals = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "RssAnon"):
                    vals[k] = int(v.split()[0])
    except OSError:
        pass
    return vals


def apply_workers():
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != postmaster:
                continue
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if b"apply worker" in f.read():
                    pids.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return pids


def redis(*args):
    r = subprocess.run(["redis-cli", "-p", redis_port, *args], capture_output=True, text=True)
    return r.stdout


peak = {"sidecar_hwm_kb": 0, "worker_rss_max_kb": 0, "worker_anon_max_kb": 0, "redis_used_max": 0,
        "stream_entries_max": 0, "redis_per_entry_at_max": 0.0}
first_anon, last_anon = {}, {}
while not stop:
    s = status(sidecar)
    peak["sidecar_hwm_kb"] = max(peak["sidecar_hwm_kb"], s.get("VmHWM", 0))
    for pid in apply_workers():
        w = status(pid)
        if not w:
            continue
        peak["worker_rss_max_kb"] = max(peak["worker_rss_max_kb"], w.get("VmRSS", 0))
        peak["worker_anon_max_kb"] = max(peak["worker_anon_max_kb"], w.get("RssAnon", 0))
        first_anon.setdefault(pid, w.get("RssAnon", 0))
        last_anon[pid] = w.get("RssAnon", 0)
    used = 0
    for line in redis("INFO", "memory").splitlines():
        if line.startswith("used_memory:"):
            used = int(line.split(":")[1])
    entries = 0
    pipe = "".join(f"XLEN waypoint:{{p{p}}}:entries\n" for p in range(parts))
    r = subprocess.run(["redis-cli", "-p", redis_port], input=pipe, capture_output=True, text=True)
    for line in r.stdout.split():
        if line.lstrip("-").isdigit():
            entries += int(line)
    peak["redis_used_max"] = max(peak["redis_used_max"], used)
    if entries > peak["stream_entries_max"]:
        peak["stream_entries_max"] = entries
        peak["redis_per_entry_at_max"] = used / entries if entries else 0.0
    # Written every round: a sampler stopped early still leaves its figures.
    peak["worker_anon_first_kb"] = max(first_anon.values(), default=0)
    peak["worker_anon_last_kb"] = max(last_anon.values(), default=0)
    with open(out + ".tmp", "w") as f:
        for k, v in peak.items():
            f.write(f"{k}={v}\n")
    os.replace(out + ".tmp", out)
    time.sleep(0.25)
