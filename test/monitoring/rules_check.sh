#!/usr/bin/env bash
# monitoring_rules: the Prometheus files of docker/monitoring/ without any server.
# promtool checks the configuration and the rules and runs the rules' unit cases
# (rules.test.yml: each alert fires and resolves); the cases must fail when a threshold or
# a duration of the rules is moved; monitoring_check.py static checks that the rules, their
# cases, the query file, docs/monitoring.md, docs/operations.md and the dashboard agree;
# the compose file validates with the monitoring profile.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROM_DIR="$ROOT/docker/monitoring/prometheus"
fail() { echo "FAIL monitoring_rules: $*"; exit 1; }
command -v promtool >/dev/null || fail "promtool not found (Debian package prometheus; scripts/install-deps.sh)"
TMP=$(mktemp -d /tmp/waypoint-rules.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

promtool check config "$PROM_DIR/prometheus.yml" || fail "prometheus.yml"
promtool check rules "$PROM_DIR/rules.yml" || fail "rules.yml"
(cd "$PROM_DIR" && promtool test rules rules.test.yml) || fail "unit cases of rules.yml"

# The cases must notice a rule that changed: each mutant must fail them.
cp "$PROM_DIR/rules.test.yml" "$TMP/"
mutant() {  # mutant SED_EXPRESSION DESCRIPTION
  sed "$1" "$PROM_DIR/rules.yml" >"$TMP/rules.yml"
  ! cmp -s "$TMP/rules.yml" "$PROM_DIR/rules.yml" || fail "mutant '$2' changes nothing (rules.yml changed?)"
  if (cd "$TMP" && promtool test rules rules.test.yml >/dev/null 2>&1); then
    fail "the unit cases pass with $2"
  fi
  echo "ok the unit cases catch $2"
}
mutant 's/> 0\.8$/> 0.9/' "a Redis pool threshold of 90%"
mutant 's/for: 5m$/for: 10m/' "5-minute waits doubled"
mutant 's/> 600)/> 1200)/' "no block applied for 20 minutes instead of 10"
mutant 's/\[15m\]/[5m]/' "a 5-minute dead-letter window"
mutant 's/== 2$/>= 1/' "a critical queue or Redis-breaker alert at level 1"
mutant 's/(deriv(waypoint_shard_node_height\[5m\]) > 0)/deriv(waypoint_shard_node_height[5m])/' \
  "a lag estimate that divides by a zero block rate"

python3 "$ROOT/test/monitoring/monitoring_check.py" static "$ROOT" || fail "static checks"

command -v docker-compose >/dev/null || fail "docker-compose not found (scripts/install-deps.sh)"
POSTGRES_PASSWORD=x WAYPOINT_NODE_ADDR=node:3383 WAYPOINT_EXPORTER_PASSWORD=x \
  docker-compose -f "$ROOT/docker/compose.yaml" --profile monitoring config -q || fail "compose profile monitoring"
echo "PASS monitoring_rules"
