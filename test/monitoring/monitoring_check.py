#!/usr/bin/env python3
"""Checks of the monitoring files (docker/monitoring/) for the monitoring tests.

  monitoring_check.py static ROOT
      rules, rule tests, query file, docs and dashboard agree (no servers needed)
  monitoring_check.py series ROOT PROM_URL PHASE [key=value ...]
      every series documented in docs/monitoring.md exists in Prometheus with its labels
      and sane values (PHASE running: a backfill is under way; done: it has finished)
  monitoring_check.py alerts ROOT PROM_URL
      every rule evaluates without error; WaypointDeadLettersIncreasing fires, no other alert
  monitoring_check.py collect PROM_URL OUT
      writes the series Prometheus holds (name -> label names) to OUT (JSON)
  monitoring_check.py dashboard PROM_URL DASHBOARD SEEN
      every panel query names only series of SEEN, with labels they carry, and returns data

Exits 1 with one line per problem when a check fails.
"""
import json
import os
import re
import sys
import urllib.parse
import urllib.request

import yaml

PROBLEMS = []


def problem(msg):
    PROBLEMS.append(msg)
    print("  problem: " + msg)


def finish(what, detail=""):
    if PROBLEMS:
        print(f"FAIL {what}: {len(PROBLEMS)} problem(s)")
        sys.exit(1)
    print(f"ok {what}{': ' + detail if detail else ''}")


def mon(root, *p):
    return os.path.join(root, "docker", "monitoring", *p)


# ---------------------------------------------------------------- docs/monitoring.md

def documented_series(root):
    """name -> (section, [labels]) from the tables of docs/monitoring.md's "Series"."""
    out = {}
    section = None
    in_series = False
    for line in open(os.path.join(root, "docs", "monitoring.md"), encoding="utf-8"):
        if line.startswith("## "):
            in_series = line.strip() == "## Series"
        elif line.startswith("### ") and in_series:
            section = line[4:].strip()
        elif in_series and section and line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            name = cells[0].strip("`")
            labels = re.findall(r"`([a-z_]+)`", cells[2])
            out[name] = (section, labels)
    return out


def documented_alerts(root):
    alerts = set()
    in_alerts = False
    for line in open(os.path.join(root, "docs", "monitoring.md"), encoding="utf-8"):
        if line.startswith("## "):
            in_alerts = line.strip() == "## Alerts"
        elif in_alerts and line.startswith("| `"):
            alerts.add(line.split("`")[1])
    return alerts


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def headings(path):
    return {slug(l.lstrip("#")) for l in open(path, encoding="utf-8") if l.startswith("#")}


# ---------------------------------------------------------------- static

def exporter_series(root):
    """Series names the query file produces: <namespace>_<column> for non-LABEL columns."""
    q = yaml.safe_load(open(mon(root, "postgres-exporter", "queries.yaml")))
    names = set()
    for ns, spec in q.items():
        if "query" not in spec or "metrics" not in spec:
            problem(f"queries.yaml: {ns} lacks query or metrics")
            continue
        for m in spec["metrics"]:
            ((col, d),) = m.items()
            if d.get("usage") not in ("LABEL", "GAUGE", "COUNTER"):
                problem(f"queries.yaml: {ns}.{col}: usage {d.get('usage')}")
            if not d.get("description"):
                problem(f"queries.yaml: {ns}.{col} has no description")
            if d.get("usage") != "LABEL":
                names.add(f"{ns}_{col}")
    return names


def static(root):
    rules = yaml.safe_load(open(mon(root, "prometheus", "rules.yml")))
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
    records = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    ops = headings(os.path.join(root, "docs", "operations.md"))
    for name, r in alerts.items():
        if r.get("labels", {}).get("severity") not in ("warning", "critical"):
            problem(f"{name}: severity must be warning or critical")
        ann = r.get("annotations", {})
        for k in ("summary", "description", "runbook"):
            if not ann.get(k):
                problem(f"{name}: no {k} annotation")
        rb = ann.get("runbook", "")
        if not rb.startswith("docs/operations.md#") or rb.split("#", 1)[1] not in ops:
            problem(f"{name}: runbook {rb!r} is not a heading of docs/operations.md")
    # Each alert: a case where it fires and one where it does not.
    tests = yaml.safe_load(open(mon(root, "prometheus", "rules.test.yml")))
    fires, quiet = set(), set()
    for t in tests["tests"]:
        for c in t.get("alert_rule_test", []):
            (fires if c.get("exp_alerts") else quiet).add(c["alertname"])
    for name in alerts:
        if name not in fires:
            problem(f"{name}: no unit case in which it fires")
        if name not in quiet:
            problem(f"{name}: no unit case in which it does not fire (resolved or pending)")
    for name in (fires | quiet) - set(alerts):
        problem(f"rules.test.yml tests an alert rules.yml does not have: {name}")
    tested_records = {t.get("expr") for tt in tests["tests"] for t in tt.get("promql_expr_test", [])}
    for rec in records - tested_records:
        problem(f"recording rule {rec} has no promql_expr_test")
    # Docs: alerts and series.
    doc_alerts = documented_alerts(root)
    for a in set(alerts) ^ doc_alerts:
        problem(f"alert {a} is in {'rules.yml' if a in alerts else 'docs/monitoring.md'} only")
    docs = documented_series(root)
    produced = exporter_series(root)
    doc_exporter = {n for n, (sec, _) in docs.items() if sec.startswith("From postgres_exporter")}
    for n in produced ^ doc_exporter:
        problem(f"series {n} is {'produced by queries.yaml' if n in produced else 'documented'} only")
    for rec in records:
        if rec not in docs:
            problem(f"recording rule {rec} is not documented")
    # Series the rules name must be documented (or made by a rule).
    for name, r in alerts.items():
        for n in expr_series(r["expr"]):
            if n not in docs and n not in records:
                problem(f"{name} uses {n}, not documented in docs/monitoring.md")
    # Dashboard: structure, and its series documented.
    dash = json.load(open(mon(root, "grafana", "dashboards", "waypoint.json")))
    ids = set()
    for p in panels(dash):
        if p["id"] in ids:
            problem(f"dashboard: panel id {p['id']} twice")
        ids.add(p["id"])
        if not p.get("title"):
            problem(f"dashboard: panel {p['id']} has no title")
        if p.get("datasource", {}).get("uid") != "${datasource}":
            problem(f"dashboard: panel {p['title']!r} does not use the datasource variable")
        if not p.get("targets"):
            problem(f"dashboard: panel {p['title']!r} has no query")
        for t in p.get("targets", []):
            for n in expr_series(t.get("expr", "")):
                if n not in docs:
                    problem(f"dashboard: panel {p['title']!r} uses {n}, not documented")
    # Compose: monitoring services and the files they mount.
    compose = yaml.safe_load(open(os.path.join(root, "docker", "compose.yaml")))
    for svc in ("postgres-exporter", "prometheus", "grafana"):
        s = compose["services"].get(svc)
        if not s:
            problem(f"compose: no service {svc}")
            continue
        if s.get("profiles") != ["monitoring"]:
            problem(f"compose: {svc} is not in the monitoring profile only")
        for v in s.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith("./") and not os.path.exists(os.path.join(root, "docker", src)):
                problem(f"compose: {svc} mounts {src}, which does not exist")
    finish("static checks", f"{len(alerts)} alerts, {len(docs)} documented series, {len(ids)} panels agree")


# ---------------------------------------------------------------- PromQL names

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
            "and", "or", "unless", "inf", "nan", "atan2"}


def expr_series(expr):
    """Series names a PromQL expression selects (functions, keywords, labels dropped)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings
    s = re.sub(r"\$\{?\w+\}?", "1m", s)                    # Grafana variables
    s = re.sub(r"\{[^}]*\}", "", s)                        # label matchers
    s = re.sub(r"\[[^\]]*\]", "", s)                       # ranges
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s):
        tok = m.group(0)
        rest = s[m.end():].lstrip()
        if tok.lower() in KEYWORDS or rest.startswith("(") or re.fullmatch(r"\d+[smhdwy]", tok):
            continue
        if m.start() > 0 and (s[m.start() - 1].isdigit() or s[m.start() - 1] == "."):
            continue                                       # 1e6, 0.8 ...
        names.add(tok)
    return names


def matcher_labels(expr):
    """(series, label) pairs of the label matchers in an expression."""
    out = []
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}", s):
        for lab in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(2)):
            out.append((m.group(1), lab))
    return out


def grouping_labels(expr):
    out = []
    for m in re.finditer(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        out += [l.strip() for l in m.group(1).split(",") if l.strip()]
    return out


def panels(dash):
    for p in dash.get("panels", []):
        if p.get("type") == "row":
            yield from p.get("panels", [])
        else:
            yield p


# ---------------------------------------------------------------- Prometheus

class Prom:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def get(self, path, **params):
        q = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.url}{path}?{q}", timeout=20) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr):
        try:
            return self.get("/api/v1/query", query=expr)["result"]
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"query {expr!r}: HTTP {e.code}: {e.read().decode(errors='replace')}")


def series_spec(fids, job):
    """PHASE -> [(series, expr, min_results)] present checks, and [(series, expr)] that must be empty."""
    j = f'job_id="{job}"'
    present = {"both": [], "running": [], "done": []}
    empty = {"both": [], "running": [], "done": []}
    P = lambda n, e, k=1, ph="both": present[ph].append((n, e, k))
    E = lambda n, e, ph="both": empty[ph].append((n, e))
    for n in ("length", "pending", "backlog", "consumers", "oldest_pending_age_seconds", "lag"):
        P(f"waypoint_queue_{n}", f'waypoint_queue_{n}{{kind="partition"}}', 8)
        P(f"waypoint_queue_{n}", f'waypoint_queue_{n}{{kind="backfill_jobs"}}', 1)
    P("waypoint_queue_length", 'waypoint_queue_length{kind="dead_letters"}', 1)
    for n in ("length", "pending", "backlog", "consumers", "oldest_pending_age_seconds"):
        E(f"waypoint_queue_{n}", f"waypoint_queue_{n} < 0 or waypoint_queue_{n} != waypoint_queue_{n}")
    E("waypoint_queue_lag", 'waypoint_queue_lag{kind!="dead_letters"} < 0 or '
      'waypoint_queue_lag{kind!="dead_letters"} != waypoint_queue_lag{kind!="dead_letters"}')
    E("waypoint_queue_backlog", "waypoint_queue_backlog < waypoint_queue_pending")
    P("waypoint_queue_consumers", 'waypoint_queue_consumers{kind="partition"} >= 1', 8)
    E("waypoint_queue_oldest_pending_age_seconds", "waypoint_queue_oldest_pending_age_seconds > 120")
    P("waypoint_queue_alert_level", "waypoint_queue_alert_level == 0", 8)
    E("waypoint_queue_alert_level", "waypoint_queue_alert_level != 0")
    for n, v in (("backlog_warning", 250000), ("backlog_critical", 500000),
                 ("pending_age_warning_seconds", 60), ("pending_age_critical_seconds", 300)):
        P(f"waypoint_queue_threshold_{n}", f"waypoint_queue_threshold_{n} == {v}")
    P("waypoint_shard_applied_height", "waypoint_shard_applied_height > 0", 2)
    P("waypoint_shard_node_height", "waypoint_shard_node_height > 0", 2)
    E("waypoint_shard_node_height", "waypoint_shard_node_height < waypoint_shard_applied_height")
    P("waypoint_shard_lag_blocks", "waypoint_shard_lag_blocks >= 0", 2)
    E("waypoint_shard_lag_blocks", "waypoint_shard_lag_blocks > 100 or waypoint_shard_lag_blocks < 0")
    for n in ("waypoint_shard_last_applied_timestamp_seconds", "waypoint_shard_node_head_timestamp_seconds"):
        P(n, n, 2)
        E(n, f"abs(time() - {n}) > 60 or {n} != {n}")
    P("waypoint:shard_lag_seconds:estimate", "waypoint:shard_lag_seconds:estimate >= 0", 2)
    E("waypoint:shard_lag_seconds:estimate", "waypoint:shard_lag_seconds:estimate > 60")
    P("waypoint_sync_node_breaker_state", "waypoint_sync_node_breaker_state == 0")
    P("waypoint_sync_redis_breaker_state", "waypoint_sync_redis_breaker_state == 0")
    P("waypoint_sync_sidecar_seen_timestamp_seconds", "abs(time() - waypoint_sync_sidecar_seen_timestamp_seconds) < 30")
    P("waypoint_worker_up", "waypoint_worker_up == 1", 3)
    P("waypoint_worker_up", 'waypoint_worker_up{role="dispatcher"} == 1', 1)
    P("waypoint_worker_redis_connected", "waypoint_worker_redis_connected == 1", 3)
    P("waypoint_worker_entries_applied_total", 'waypoint_worker_entries_applied_total{role="apply"} > 0', 2)
    P("waypoint_worker_entries_applied_total",
      'sum(rate(waypoint_worker_entries_applied_total{role="apply"}[30s])) > 0', 1, "running")
    P("waypoint_worker_batches_total", 'waypoint_worker_batches_total{role="apply"} > 0', 2)
    P("waypoint_worker_dead_letters_total", "waypoint_worker_dead_letters_total >= 0", 3)
    P("waypoint_worker_dead_letters_total", "sum(waypoint_worker_dead_letters_total) >= 1")
    P("waypoint_worker_errors_total", "waypoint_worker_errors_total >= 0", 3)
    P("waypoint_worker_last_applied_timestamp_seconds", 'waypoint_worker_last_applied_timestamp_seconds{role="apply"}', 2)
    E("waypoint_worker_last_applied_timestamp_seconds",
      'abs(time() - waypoint_worker_last_applied_timestamp_seconds{role="apply"}) > 60')
    # The backfill job: mid-way, then finished.
    P("waypoint_backfill_running", f"waypoint_backfill_running{{{j}}} == 1", 1, "running")
    P("waypoint_backfill_running", f"waypoint_backfill_running{{{j}}} == 0", 1, "done")
    P("waypoint_backfill_fids_queued", f'waypoint_backfill_fids_queued{{{j},all_fids="false"}} == {fids}')
    P("waypoint_backfill_fids_done", f"waypoint_backfill_fids_done{{{j}}} > 0 < {fids}", 1, "running")
    P("waypoint_backfill_fids_done", f"waypoint_backfill_fids_done{{{j}}} == {fids}", 1, "done")
    P("waypoint_backfill_fids_failed", f"waypoint_backfill_fids_failed{{{j}}} == 0")
    P("waypoint_backfill_messages", f"waypoint_backfill_messages{{{j}}} > 0")
    P("waypoint_backfill_progress_ratio", f"waypoint_backfill_progress_ratio{{{j}}} > 0 < 1", 1, "running")
    P("waypoint_backfill_progress_ratio", f"waypoint_backfill_progress_ratio{{{j}}} == 1", 1, "done")
    P("waypoint_backfill_eta_seconds", f"waypoint_backfill_eta_seconds{{{j}}} > 0 < 3600", 1, "running")
    P("waypoint_backfill_eta_seconds", f"waypoint_backfill_eta_seconds{{{j}}} == 0", 1, "done")
    P("waypoint_backfill_fids_per_second", f"waypoint_backfill_fids_per_second{{{j}}} > 0")
    P("waypoint_backfill_messages_per_second", f"waypoint_backfill_messages_per_second{{{j}}} > 0")
    P("waypoint_backfill_last_report_timestamp_seconds",
      f"abs(time() - waypoint_backfill_last_report_timestamp_seconds{{{j}}}) < 60", 1, "running")
    P("waypoint_backfill_last_report_timestamp_seconds", f"waypoint_backfill_last_report_timestamp_seconds{{{j}}}", 1, "done")
    P("waypoint_dead_letters_total", "waypoint_dead_letters_total >= 0", 7)
    P("waypoint_dead_letters_total", 'waypoint_dead_letters_total{reason="decode"} >= 1')
    # The sidecar.
    P("waypoint_sidecar_backlog_entries", "waypoint_sidecar_backlog_entries >= 0")
    P("waypoint_sidecar_backlog_high_watermark", "waypoint_sidecar_backlog_high_watermark == 500000")
    P("waypoint_sidecar_backlog_low_watermark", "waypoint_sidecar_backlog_low_watermark == 250000")
    P("waypoint_sidecar_paused", "waypoint_sidecar_paused == 0")
    P("waypoint_sidecar_queue_alert_level", "waypoint_sidecar_queue_alert_level == 0", 9)
    P("waypoint_sidecar_breaker_state", 'waypoint_sidecar_breaker_state{dependency="node"} == 0')
    P("waypoint_sidecar_breaker_state", 'waypoint_sidecar_breaker_state{dependency="redis"} == 0')
    P("waypoint_sidecar_errors_total", "waypoint_sidecar_errors_total >= 0", 3)
    P("waypoint_sidecar_redis_pool_in_use", 'waypoint_sidecar_redis_pool_in_use{pool="backfill"} >= 0')
    E("waypoint_sidecar_redis_pool_in_use", "waypoint_sidecar_redis_pool_in_use > waypoint_sidecar_redis_pool_size")
    P("waypoint_sidecar_redis_pool_size", 'waypoint_sidecar_redis_pool_size{pool="backfill"} == 8')
    P("waypoint_sidecar_redis_pool_waits_total", 'waypoint_sidecar_redis_pool_waits_total{pool="backfill"} >= 0')
    P("waypoint_sidecar_redis_pool_timeouts_total", 'waypoint_sidecar_redis_pool_timeouts_total{pool="backfill"} == 0')
    P("waypoint_sidecar_events_written_total", 'sum(waypoint_sidecar_events_written_total{src="live"}) > 0')
    P("waypoint_sidecar_backfill_entries_total", "sum(waypoint_sidecar_backfill_entries_total) > 0")
    P("waypoint_sidecar_backfill_fids_total", 'waypoint_sidecar_backfill_fids_total{status="ok"} > 0')
    P("process_resident_memory_bytes", 'process_resident_memory_bytes{job="waypoint-sidecar"} > 1e6 < 4e9')
    # The scrape's own series.
    P("up", 'up{job="waypoint-sidecar"} == 1')
    P("up", 'up{job="waypoint-postgres"} == 1')
    P("pg_up", 'pg_up{job="waypoint-postgres"} == 1')
    P("pg_exporter_last_scrape_error", 'pg_exporter_last_scrape_error{job="waypoint-postgres"} == 0')
    P("pg_exporter_user_queries_load_error", 'pg_exporter_user_queries_load_error{job="waypoint-postgres"} == 0')
    return present, empty


def series(root, url, phase, opts):
    prom = Prom(url)
    present, empty = series_spec(int(opts["fids"]), opts["job"])
    docs = documented_series(root)
    checked = {n for ph in present for n, _, _ in present[ph]}
    for n in set(docs) - checked:
        problem(f"{n} is documented but the test has no check of it")
    for n in checked - set(docs):
        problem(f"{n} is checked but not documented in docs/monitoring.md")
    for n, expr, k in present["both"] + present[phase]:
        got = prom.query(expr)
        if len(got) < k:
            problem(f"{n}: {expr!r} gave {len(got)} series, expected at least {k}"
                    + (f" (got {[(r['metric'], r['value'][1]) for r in got]})" if got else ""))
    for n, expr in empty["both"] + empty[phase]:
        got = prom.query(expr)
        if got:
            problem(f"{n}: insane values, {expr!r} gave {[(r['metric'], r['value'][1]) for r in got][:5]}")
    # Documented labels are on the series (beyond job/instance).
    for n, (_, labels) in docs.items():
        got = prom.query(n)
        have = set().union(*[set(r["metric"]) for r in got]) if got else set()
        for lab in labels:
            if got and lab not in have:
                problem(f"{n}: documented label {lab} is on none of its series (labels: {sorted(have)})")
    finish(f"series ({phase})", f"{len(docs)} documented series present with sane values")


def alerts(root, url):
    prom = Prom(url)
    groups = prom.get("/api/v1/rules")["groups"]
    n = 0
    for g in groups:
        for r in g["rules"]:
            n += 1
            if r.get("health") != "ok" or r.get("lastError"):
                problem(f"rule {r['name']}: health {r.get('health')} {r.get('lastError', '')}")
    rules = yaml.safe_load(open(mon(root, "prometheus", "rules.yml")))
    want = sum(len(g["rules"]) for g in rules["groups"])
    if n != want:
        problem(f"Prometheus loaded {n} rules, rules.yml has {want}")
    active = prom.get("/api/v1/alerts")["alerts"]
    firing = {(a["labels"]["alertname"], a["state"], a["labels"].get("reason", "")) for a in active}
    if ("WaypointDeadLettersIncreasing", "firing", "decode") not in firing:
        problem(f"WaypointDeadLettersIncreasing (decode) is not firing after a dead letter; active: {sorted(firing)}")
    for name, state, _ in sorted(firing):
        if name != "WaypointDeadLettersIncreasing":
            problem(f"{name} is {state} on a healthy stack")
    finish("alerts", f"{n} rules evaluate, only the dead-letter alert fires")


def collect(url, out):
    prom = Prom(url)
    names = prom.get("/api/v1/label/__name__/values")
    seen = {}
    for name in names:
        labels = set()
        for s in prom.get("/api/v1/series", **{"match[]": name}):
            labels |= set(s) - {"__name__"}
        seen[name] = sorted(labels)
    with open(out, "w") as f:
        json.dump(seen, f, indent=1, sort_keys=True)
    print(f"ok collect: {len(seen)} series names written")


def dashboard(url, path, seen_path):
    prom = Prom(url) if url != "-" else None
    dash = json.load(open(path))
    seen = json.load(open(seen_path))
    n = 0
    for p in panels(dash):
        for t in p.get("targets", []):
            expr = t.get("expr", "")
            n += 1
            where = f"panel {p.get('title')!r} query {t.get('refId')}"
            names = expr_series(expr)
            if not names:
                problem(f"{where}: names no series ({expr!r})")
            for name in names - set(seen):
                problem(f"{where}: series {name} was not seen")
            for name, lab in matcher_labels(expr):
                if name in seen and lab not in seen[name]:
                    problem(f"{where}: {name} has no label {lab}")
            known = set().union(*[set(seen.get(x, [])) for x in names]) if names else set()
            for lab in grouping_labels(expr):
                if lab not in known:
                    problem(f"{where}: groups by {lab}, which none of {sorted(names)} has")
            if prom is None:
                continue
            q = re.sub(r"\$__rate_interval|\$__interval|\$__range", "30s", expr)
            try:
                got = prom.query(q)
            except RuntimeError as e:
                problem(f"{where}: {e}")
                continue
            if not got:
                problem(f"{where}: no data ({expr!r})")
            for lab in re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat", "")):
                for r in got:
                    if lab not in r["metric"]:
                        problem(f"{where}: legend uses {{{{{lab}}}}}, absent from {r['metric']}")
                        break
    finish(f"dashboard {os.path.basename(path)}", f"{n} queries name only seen series and return data")


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "static" and len(argv) == 3:
        static(argv[2])
    elif cmd == "series" and len(argv) >= 5:
        series(argv[2], argv[3], argv[4], dict(a.split("=", 1) for a in argv[5:]))
    elif cmd == "alerts" and len(argv) == 4:
        alerts(argv[2], argv[3])
    elif cmd == "collect" and len(argv) == 4:
        collect(argv[2], argv[3])
    elif cmd == "dashboard" and len(argv) == 5:
        dashboard(argv[2], argv[3], argv[4])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
