#!/usr/bin/env bash
# Monitoring with the real server: a devnet of 4 nodes running every role (ports 7870..,
# metrics 9870.., HTTP 8870..), Debian's prometheus started by tools/monitor (127.0.0.1:9797)
# from the generated prometheus.yml (file-based discovery of the devnet's targets.json):
#   - every node is a target and up; the rules of monitoring/rules/poe.rules.yml are loaded;
#   - every query of the Grafana dashboard (monitoring/grafana/poe-dashboard.json, one row per
#     role) returns data;
#   - headless Chromium opens the console page (monitoring/consoles/poe.html): the node table
#     lists the 4 nodes, and the chain height panel is drawn and screenshot (PNG).
#
#   tests/monitoring_test.sh BUILD_DIR
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" monitoring
devnet_cleanup_extra='"$src/tools/monitor" down --dir "$dir" >/dev/null 2>&1'
command -v prometheus >/dev/null || { echo "SKIP: no prometheus (Debian's package)"; exit 77; }
prom=127.0.0.1:9797

echo "== a devnet of 4 nodes running every role"
"$devnet" up -n 4 --dir "$dir" --build "$build" --base-port 7870 --metrics-base-port 9870 \
  --gateway-base-port 8870 --block-interval-ms 200 --timeout 60 \
  --roles '["validator","storage","execution","verifier","builder","rent","channel","gateway"]' >/dev/null ||
  fail "devnet up failed"
remember

echo "== prometheus from the generated configuration"
"$src/tools/monitor" up --dir "$dir" --listen "$prom" --scrape-interval 1s || fail "tools/monitor up"
python3 - "$prom" "$src/monitoring/grafana/poe-dashboard.json" <<'PY' || fail "prometheus did not see the devnet as expected"
import json, sys, time, urllib.parse, urllib.request
prom, dashboard = sys.argv[1], sys.argv[2]
def api(path):
    return json.load(urllib.request.urlopen("http://%s/api/v1/%s" % (prom, path), timeout=10))["data"]
deadline = time.time() + 60
while True:
    targets = api("targets")["activeTargets"]
    if len(targets) == 4 and all(t["health"] == "up" for t in targets): break
    assert time.time() < deadline, [(t["labels"].get("node"), t["health"], t.get("lastError")) for t in targets]
    time.sleep(0.5)
print("  targets up:", ", ".join(sorted(t["labels"]["node"] for t in targets)))
groups = {g["name"]: len(g["rules"]) for g in api("rules")["groups"]}
assert groups == {"poe.recording": 6, "poe.alerts": 6}, groups
exprs = [t["expr"] for p in json.load(open(dashboard))["panels"] for t in p.get("targets", [])]
missing = exprs
while missing:
    missing = [e for e in exprs if not api("query?query=" + urllib.parse.quote(e))["result"]]
    if not missing: break
    assert time.time() < deadline + 60, "no data for: %s" % missing
    time.sleep(1)
height = float(api("query?query=" + urllib.parse.quote("poe:chain_height:max"))["result"][0]["value"][1])
print("  rules: %s; all %d dashboard queries return data; chain height %d" % (groups, len(exprs), height))
PY

echo "== headless Chromium: the console page and its chain height panel"
python3 - "$prom" <<'PY' || fail "the console page's node table"
import sys, urllib.request
page = urllib.request.urlopen("http://%s/consoles/poe.html" % sys.argv[1], timeout=10).read().decode()
for i in range(4):
    assert "<td>node-%d</td>" % i in page, page[:2000]
PY
out=$(node "$src/web/test/panel.js" "http://$prom/consoles/poe.html" '#chainHeight' "$dir/chain-height.png") ||
  fail "the chain height panel was not drawn: $out"
python3 - "$dir/chain-height.png" "$out" <<'PY' || fail "the screenshot"
import json, struct, sys
png, out = open(sys.argv[1], "rb").read(), json.loads(sys.argv[2])
assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", png[16:24])
assert w >= 400 and h >= 100 and out["points"] >= 2, (w, h, out)
print("  chain height panel: %d points drawn, screenshot %dx%d PNG (%d bytes)" % (out["points"], w, h, len(png)))
PY
echo "monitoring test: ok"
