#!/usr/bin/env python3
"""Runs the README's example queries against a converged mirror (run_scenario.sh, normal).

usage: readme_examples.py PG_PORT README.md

The README's first ```sql block after "Examples:" is split into statements, each with the
comment lines above it. The README writes placeholders a reader replaces: fid 3, a cast hash
'\\x...' and the channel 'farcaster'. Each statement gets values from this mirror that make
its answer non-empty (a cast with replies for the cast queries, a fid with active keys for
the key queries, a channel with members or a pin for the channel ones), runs as psql runs
it, and must return rows: an example that fails or answers nothing on a mirror that holds
the data is a wrong example.
"""
import re
import subprocess
import sys

port, readme = sys.argv[1], sys.argv[2]


def psql(sql):
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", port,
                          "-U", "postgres", "-d", "postgres", "-c", sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"FAIL readme examples: {sql}\n{out.stderr.strip()}")
    return [line for line in out.stdout.splitlines() if line]


def one(sql, what):
    rows = psql(sql)
    if not rows:
        raise SystemExit(f"FAIL readme examples: the mirror has no {what}")
    return rows[0].split("|")


text = open(readme, encoding="utf-8").read()
block = re.search(r"^Examples:\n\n```sql\n(.*?)^```", text, re.S | re.M)
if not block:
    raise SystemExit("FAIL readme examples: no ```sql block after 'Examples:' in README.md")

statements, comment, body = [], [], []
for line in block.group(1).splitlines():
    if not body and line.startswith("--"):
        comment.append(line)
        continue
    body.append(line)
    if line.rstrip().endswith(";"):
        statements.append(("\n".join(comment), "\n".join(body)))
        comment, body = [], []
if body:
    raise SystemExit("FAIL readme examples: a statement without its closing ';'")

# Values of this mirror for the placeholders, per subject.
reply_parent = one("""SELECT p.fid, encode(p.hash, 'hex') FROM waypoint.casts_live p
  WHERE EXISTS (SELECT 1 FROM waypoint.casts_live r WHERE r.parent_fid = p.fid AND r.parent_hash = p.hash)
  ORDER BY p.fid, p.hash LIMIT 1""", "cast with a reply")
# (The test node's history is years old: its app keys have all expired by their TTL now,
# so the fid is one holding app keys and active on-chain keys.)
keyed_fid = one("""SELECT s.fid FROM waypoint.signers s WHERE s.active AND s.source = 'onchain'
  AND EXISTS (SELECT 1 FROM waypoint.app_keys_live a WHERE a.fid = s.fid) ORDER BY s.fid LIMIT 1""",
                "fid with app keys and an active on-chain key")[0]
followed_fid = one("SELECT target_fid FROM waypoint.links_live WHERE link_type = 'follow' ORDER BY 1 LIMIT 1",
                   "follow")[0]
profile_fid = one("SELECT fid FROM waypoint.profiles ORDER BY fid LIMIT 1", "profile")[0]
member_channel = one("""SELECT c.channel_key FROM waypoint.channels c
  WHERE EXISTS (SELECT 1 FROM waypoint.channel_members_live m WHERE m.channel_id = c.channel_id)
  ORDER BY 1 LIMIT 1""", "channel with members")[0]
pin_channel = one("""SELECT c.channel_key FROM waypoint.channels c JOIN waypoint.channel_pins_live p USING (channel_id)
  ORDER BY 1 LIMIT 1""", "channel with a pinned cast")[0]
member_fid = one("SELECT fid FROM waypoint.channel_members_live ORDER BY fid LIMIT 1", "channel member")[0]


def fill(sql, fid, cast_hash=None, channel=None):
    sql = re.sub(r"fid = 3\b", f"fid = {fid}", sql)
    if cast_hash is not None:
        sql = sql.replace("'\\x...'", f"'\\x{cast_hash}'")
    if channel is not None:
        sql = sql.replace("'farcaster'", f"'{channel}'")
    return sql


ran = 0
for comment, sql in statements:
    if "channel_pins_live" in sql:
        sql = fill(sql, member_fid, channel=pin_channel)
    elif "channel" in sql:
        sql = fill(sql, member_fid, channel=member_channel)
    elif "casts_live" in sql and "'\\x...'" in sql:
        sql = fill(sql, reply_parent[0], reply_parent[1])
    elif "casts_live" in sql:
        sql = fill(sql, reply_parent[0])
    elif "signers" in sql or "app_keys" in sql:
        sql = fill(sql, keyed_fid)
    elif "links_live" in sql:
        sql = fill(sql, followed_fid)
    else:
        sql = fill(sql, profile_fid)
    if "..." in sql or "fid = 3 " in sql:
        raise SystemExit(f"FAIL readme examples: a placeholder this check does not know in\n{sql}")
    rows = psql(sql)
    if not rows:
        raise SystemExit(f"FAIL readme examples: no rows for the example {comment}\n{sql}")
    print(f"readme example: {len(rows)} rows for {comment.splitlines()[-1][3:]}")
    ran += 1
if ran < 8:
    raise SystemExit(f"FAIL readme examples: only {ran} examples found")
print(f"evidence: {ran} README examples ran, each with rows")
