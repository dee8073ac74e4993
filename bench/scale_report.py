#!/usr/bin/env python3
"""Tables, projection and picture of bench/scale.sh (docs/benchmarks.md, "Scale").

  scale_report.py header                      the console table's header
  scale_report.py row CSV_LINE                one console row of a measured chunk
  scale_report.py report RESULTS CSV DOC PNG COMMAND MAINNET MACHINE SIZE
      merges this run's chunks into CSV (replacing earlier rows of the same mode and
      settings, and rows of runs of another --messages SIZE), rewrites the bench-scale
      section of DOC from the whole CSV, draws PNG.
"""
import csv
import datetime
import math
import os
import subprocess
import sys
import tempfile

FIELDS = ["mode", "settings", "chunk", "rows", "chunk_messages", "entries", "prefill_s", "drain_s", "wal_bytes",
          "db_bytes_chunk", "db_bytes_total", "db_size", "node_hwm_kb", "sidecar_hwm_kb", "redis_peak_bytes", "dataset"]
META = ["command", "machine", "date"]
BEGIN, END = "<!-- bench-scale:begin -->", "<!-- bench-scale:end -->"
COLUMNS = ["chunk", "rows in mirror", "entries", "prefill s", "drain s", "entries/s", "messages/s",
           "WAL B/msg", "DB B/msg (chunk)", "DB B/msg (total)", "DB size"]


def num(v):
    return float(v) if v not in ("", None) else 0.0


def mb(b):
    return f"{b / 1e6:,.0f} MB" if b < 1e10 else f"{b / 1e9:,.1f} GB"


def cells(r):
    msgs = max(num(r["chunk_messages"]), 1)
    drain = max(num(r["drain_s"]), 1e-3)
    return [r["chunk"], f"{int(num(r['rows'])):,}", f"{int(num(r['entries'])):,}", f"{num(r['prefill_s']):.1f}",
            f"{drain:.1f}", f"{num(r['entries']) / drain:,.0f}", f"{msgs / drain:,.0f}",
            f"{num(r['wal_bytes']) / msgs:,.0f}", f"{num(r['db_bytes_chunk']) / msgs:,.0f}",
            f"{num(r['db_bytes_total']) / max(num(r['rows']), 1):,.0f}", mb(num(r["db_size"]))]


WIDTHS = [5, 13, 11, 9, 8, 10, 10, 9, 16, 16, 9]


def console(vals):
    return "  ".join(str(v).rjust(w) for v, w in zip(vals, WIDTHS))


# ---- fits -------------------------------------------------------------------------------

def least_squares(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return my, 0.0
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - b * mx, b


def fits(points):
    """Rate models fitted to (rows, entries/s): name -> (description, rate(rows))."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    out = {}
    a, b = least_squares([math.log(x) for x in xs], [math.log(y) for y in ys])
    out["power"] = (f"rate = {math.exp(a):,.4g} * rows^{b:.3f}", lambda x, a=a, b=b: math.exp(a) * x ** b)
    a, b = least_squares([math.log(x) for x in xs], ys)
    out["log"] = (f"rate = {a:,.0f} {'+' if b >= 0 else '-'} {abs(b):,.1f} * ln(rows)", lambda x, a=a, b=b: a + b * math.log(x))
    a, b = least_squares(xs, ys)
    out["linear"] = (f"rate = {a:,.0f} {'+' if b >= 0 else '-'} {abs(b) * 1e6:,.1f} per million rows",
                     lambda x, a=a, b=b: a + b * x)
    return out


def integrate_hours(rate, start, stop, entries_per_row):
    """Hours to apply rows start..stop at entries_per_row entries each; None if the rate reaches 0."""
    if stop <= start:
        return 0.0
    steps = 4000
    la, lb = math.log(start), math.log(stop)
    total = 0.0
    prev_x, prev_f = None, None
    for i in range(steps + 1):
        x = math.exp(la + (lb - la) * i / steps)
        r = rate(x)
        if r <= 0:
            return None
        f = entries_per_row / r
        if prev_x is not None:
            total += (x - prev_x) * (f + prev_f) / 2
        prev_x, prev_f = x, f
    return total / 3600


def projection(rows, mainnet):
    """Markdown lines projecting a full sync from one series of chunks."""
    pts, rows_prev = [], 0.0
    for r in rows:
        msgs, drain = num(r["chunk_messages"]), max(num(r["drain_s"]), 1e-3)
        pts.append((rows_prev + msgs / 2, num(r["entries"]) / drain))
        rows_prev = num(r["rows"])
    measured_h = sum(num(r["drain_s"]) for r in rows) / 3600
    entries_per_row = sum(num(r["entries"]) for r in rows) / max(sum(num(r["chunk_messages"]) for r in rows), 1)
    if len(pts) < 2 or rows_prev <= 0:
        return ["Too few chunks for a projection."]
    # The first chunk starts from empty tables and indexes (a warm-up, not the curve):
    # left out of the fits when enough chunks remain.
    fit_pts = pts[1:] if len(pts) >= 4 else pts
    out = [f"Projection to {mainnet / 1e6:,.0f}M messages: the first {rows_prev / 1e6:,.2f}M took "
           f"{measured_h * 60:,.1f} min of apply; the rest is the integral of entries/rate over the rows, "
           f"with {entries_per_row:.3f} entries per row as measured and the rate fitted to the "
           f"(rows at mid-chunk, entries/s) points of {'chunks 2..' + str(len(pts)) if fit_pts is not pts else 'all chunks'}:", ""]
    out += ["| fit | model | rate at 665M | apply time to 665M |", "|---|---|---|---|"]
    rising = False
    for name, (desc, f) in fits(fit_pts).items():
        h = integrate_hours(f, rows_prev, mainnet, entries_per_row)
        at = f(mainnet)
        rising |= at > fit_pts[-1][1]
        when = "n/a: the fit reaches 0 first" if h is None else f"{(measured_h + h):,.1f} h ({(measured_h + h) / 24:,.1f} days)"
        out.append(f"| {name} | {desc} | {at:,.0f}/s | {when} |" if at > 0 else f"| {name} | {desc} | ≤ 0 | {when} |")
    last = pts[-1][1]
    h = measured_h + (mainnet - rows_prev) * entries_per_row / last / 3600
    out += ["", f"For reference, at the last chunk's rate ({last:,.0f} entries/s) held constant: {h:,.1f} h."]
    if rising:
        out += ["", "A fit whose rate grows with the rows is not a curve to extrapolate (too small a run: "
                "warm-up and noise dominate); read the constant-rate line instead."]
    return out


# ---- outputs ----------------------------------------------------------------------------

def section(all_rows, png_name):
    series = {}
    for r in all_rows:
        series.setdefault((r["mode"], r["settings"]), []).append(r)
    lines = [BEGIN, "## Scale: apply rate as the mirror grows (`make bench-scale`)", "",
             "Written by `bench/scale.sh` (per-chunk data in `docs/bench-scale.csv`, picture "
             f"`{png_name}`); `bench/run.sh` keeps this section. Each run: a fresh stack, the scale-mode test node "
             "(docs/test-node.md) with a mainnet-shaped dataset, the sidecar and the extension. The dataset is "
             "cut into chunks; per chunk the apply workers are paused (`waypoint.apply_paused`), the chunk is "
             "prefilled into Redis (node generates and signs, sidecar writes), then the workers are unpaused and "
             "timed until they applied it. Figures per chunk:", "",
             "- **rows in mirror**: messages in `waypoint.messages` after the chunk, as the node counts them "
             "(stream: every merged message; backfill: the messages the backfilled fids hold); an exact "
             "`count(*)` at the end of the run checks it (log line).",
             "- **entries**: Redis entries the workers applied in the chunk (`waypoint.workers.entries_applied`); "
             "**drain s** from the unpause (`pg_reload_conf`) to the end of the last batch (`max(last_batch_at)`), "
             "**entries/s** and **messages/s** over that time.",
             "- **prefill s**: node + sidecar filling Redis (not part of the apply time; in a real sync they "
             "run concurrently with the workers and compete for the same cores).",
             "- **WAL B/msg**: `pg_current_wal_lsn()` difference over the chunk (prefill and drain, so autovacuum "
             "and checkpoints in the chunk are included) per message of the chunk.",
             "- **DB B/msg**: `pg_database_size()` growth per message, in the chunk and since the empty database.",
             "", "The projection integrates time = entries / rate(rows) from the measured end to mainnet's size with "
             "three fits of the per-chunk rates; it assumes the rate depends only on the mirror's size (same "
             "message mix, same machine, nothing else running), which the chunks measure only up to their size: "
             "the further the extrapolation, the weaker the figure.", ""]
    for (mode, settings), rows in series.items():
        rows.sort(key=lambda r: int(r["chunk"]))
        r0 = rows[0]
        lines += [f"### {mode}, {settings} settings", "",
                  f"`{r0['command']}` on {r0['machine']}, {r0['date']}; dataset: {r0.get('dataset', '')}, "
                  f"seed as in the command.", ""]
        lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---:|" * len(COLUMNS)]
        lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
        peak = lambda k: max(num(r[k]) for r in rows)
        lines += ["", f"Peak memory: node {peak('node_hwm_kb') / 1024:,.0f} MB, sidecar "
                  f"{peak('sidecar_hwm_kb') / 1024:,.0f} MB (VmHWM), Redis {mb(peak('redis_peak_bytes'))} "
                  "(used_memory_peak). Total prefill "
                  f"{sum(num(r['prefill_s']) for r in rows) / 60:,.1f} min, drain "
                  f"{sum(num(r['drain_s']) for r in rows) / 60:,.1f} min.", ""]
        lines += projection(rows, float(r0.get("mainnet") or 665e6)) + [""]
    lines += [f"![entries/s against rows in the mirror]({png_name})", "", END]
    return "\n".join(lines) + "\n"


def write_doc(doc, text):
    old = open(doc).read() if os.path.exists(doc) else ""
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        new = head + text + ("\n" + tail if tail else "")
    else:
        new = (old.rstrip("\n") + "\n\n" if old else "") + text
    tmp = doc + ".tmp"
    open(tmp, "w").write(new)
    os.replace(tmp, doc)


def picture(all_rows, png):
    if subprocess.call(["sh", "-c", "command -v gnuplot"], stdout=subprocess.DEVNULL) != 0:
        print("scale_report: gnuplot missing, no picture", file=sys.stderr)
        return
    series = {}
    for r in all_rows:
        series.setdefault((r["mode"], r["settings"]), []).append(r)
    with tempfile.TemporaryDirectory() as d:
        plots = []
        for i, ((mode, settings), rows) in enumerate(series.items()):
            path = os.path.join(d, f"s{i}.dat")
            rows.sort(key=lambda r: int(r["chunk"]))
            prev = 0.0
            with open(path, "w") as f:
                for r in rows:
                    mid = prev + num(r["chunk_messages"]) / 2
                    f.write(f"{mid / 1e6} {num(r['entries']) / max(num(r['drain_s']), 1e-3)}\n")
                    prev = num(r["rows"])
            plots.append(f"'{path}' using 1:2 with linespoints pt 7 title '{mode}, {settings}'")
        script = "\n".join([
            "set terminal pngcairo size 900,540 font ',10'" if subprocess.call(
                ["gnuplot", "-e", "set terminal pngcairo"], stderr=subprocess.DEVNULL) == 0 else "set terminal png size 900,540",
            f"set output '{png}'",
            "set title 'Waypoint apply rate as the mirror grows (bench/scale.sh)'",
            "set xlabel 'rows in waypoint.messages (millions, at mid-chunk)'",
            "set ylabel 'entries applied per second'",
            "set yrange [0:*]", "set xrange [0:*]", "set grid", "set key top right",
            "plot " + ", ".join(plots)])
        subprocess.run(["gnuplot"], input=script.encode(), check=True)


def main():
    cmd = sys.argv[1]
    if cmd == "header":
        print(console(COLUMNS))
        return
    if cmd == "row":
        r = dict(zip(FIELDS, next(csv.reader([sys.argv[2]]))))
        print(console(cells(r)))
        return
    results, csv_path, doc, png, command, mainnet, machine, size = sys.argv[2:10]
    new = [dict(zip(FIELDS, row)) for row in csv.reader(open(results)) if row]
    date = datetime.date.today().isoformat()
    for r in new:
        r.update(command=command, machine=machine, date=date, mainnet=mainnet, size=size)
    keys = {(r["mode"], r["settings"]) for r in new}
    old = []
    if os.path.exists(csv_path):
        # Kept: other modes/settings measured at the same size (a run of another size
        # makes them incomparable, so they go).
        old = [r for r in csv.DictReader(open(csv_path))
               if (r["mode"], r["settings"]) not in keys and r.get("size") == size]
    rows = old + new
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS + META + ["mainnet", "size"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    write_doc(doc, section(rows, os.path.basename(png)))
    try:
        picture(rows, png)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"scale_report: no picture: {e}", file=sys.stderr)
    print(section(rows, os.path.basename(png)))
    print(f"wrote {csv_path}, {doc}, {png}", file=sys.stderr)


if __name__ == "__main__":
    main()
