#!/usr/bin/env bash
# A validator killed with -9 at random points — mid-round, mid-commit, mid-replay — again and
# again, restarted at once each time, among four TLS validators with 200 ms blocks:
#   - its store reopens every time (it logs ready again; no store error);
#   - it never signs twice for one height and round: the others check every consensus message
#     it sends against what they saw from it and would take an equivocation as evidence —
#     none is taken on any node (poe_consensus_evidence_total, poe_chain_slashes_total 0) and
#     it is still a validator with its whole stake;
#   - the chain goes on and, restarted the last time, it reaches the tip with the same block
#     at every height as the others.
# The kill delays come from a seed (printed; KILLS and SEED from the environment replay a run).
#
#   tests/validator_crash_loop_test.sh BUILD_DIR [KILLS]     (default 20; the long run: 100)
#
# Ports 7510..7513 and 9510..9513. The trap stops every node this test started, by PID.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" crash-loop
devnet_cleanup_extra='[ -n "${KEEP_LOGS:-}" ] && cp -r "$dir" "$KEEP_LOGS"'
kills=${2:-${KILLS:-20}}
seed=${SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$seed
echo "crash loop: $kills kills, seed $seed (replay: SEED=$seed $0 BUILD_DIR $kills)"
node_bin="$(cd "$build/tools" && pwd)/poe-node"
cli="$(cd "$build/tools" && pwd)/poe-cli"
metric() { node_metric $((9510 + $1)) "$2"; } # metric I NAME: a metric of node-I
height() { metric "$1" poe_chain_height 2>/dev/null || echo 0; }
restart() { # restart I: node-I again from its config (its store, its key)
  (cd "$dir/node-$1" && exec "$node_bin" --config-file="$dir/node-$1/node.ini" >> node.log 2>&1) &
  echo $! > "$dir/node-$1/pid"
  remember
}

echo "== 4 validators (TLS, 200 ms blocks) in $dir"
"$devnet" up -n 4 --dir "$dir" --build "$build" --base-port 7510 --metrics-base-port 9510 \
  --roles '["validator"]' --block-interval-ms 200 --timeout 60 >/dev/null || fail "devnet up failed"
remember

echo "== kill -9 node-3 $kills times at random points, restarting it at once"
start=$SECONDS
for k in $(seq 1 "$kills"); do
  # 0..1.5 s after its (re)start: during start-up and replay, block sync, rounds and commits.
  sleep "$(printf '0.%03d' $((RANDOM % 1000)))"
  [ $((RANDOM % 2)) = 0 ] && sleep 0.5
  kill -KILL "$(cat "$dir/node-3/pid")"
  wait "$(cat "$dir/node-3/pid")" 2>/dev/null || true
  restart 3
  if [ $((k % 10)) = 0 ]; then # now and then: let it reach the tip, the chain must be moving
    end=$((SECONDS + 30)) tip=$(height 0)
    until [ "$(height 3)" -ge "$tip" ] && [ "$tip" -gt 0 ]; do
      [ $SECONDS -lt "$end" ] || fail "after kill $k node-3 did not reach the tip (at $(height 3), node-0 $(height 0))"
      sleep 0.2
    done
    echo "  $k kills: node-3 at the tip, height $(height 0)"
  fi
done
echo "  $kills kills in $((SECONDS - start)) s"

echo "== the last restart: at the tip, same blocks, never an equivocation"
end=$((SECONDS + 30)) tip=$(height 0)
until [ "$(height 3)" -ge "$tip" ] && [ "$tip" -gt 0 ]; do
  [ $SECONDS -lt "$end" ] || fail "node-3 did not reach the tip after its last restart"
  sleep 0.2
done
sleep 1
# Some kills land before it logs ready (during start-up): those count as kill points too.
readies=$(grep -c "ready: id" "$dir/node-3/node.log" || true)
[ "$readies" -ge $((kills / 2 + 1)) ] || fail "node-3 logged ready $readies times in $((kills + 1)) starts"
if grep -E "error .*(store|RocksDB|corrupt)" "$dir/node-3/node.log" | head -3 | grep -q .; then
  fail "node-3's store reported an error: $(grep -E "error .*(store|RocksDB|corrupt)" "$dir/node-3/node.log" | head -3)"
fi
for i in 0 1 2 3; do
  ev=$(metric "$i" poe_consensus_evidence_total); sl=$(metric "$i" poe_chain_slashes_total)
  [ "$ev" = 0 ] && [ "$sl" = 0 ] || fail "node-$i took evidence ($ev) or slashed ($sl): node-3 signed twice?"
done
st=$("$cli" chain status --json --node 127.0.0.1:7510 --tls-key "$dir/node-0/node.key" \
       --tls-cert "$dir/node-0/node.crt" --tls-ca "$dir/ca/ca.crt") || fail "chain status"
python3 - "$st" <<'PY' || fail "node-3 is no longer a full validator"
import json, sys
st = json.loads(sys.argv[1])
stakes = [v["stake"] for v in st["validators"]]
assert len(stakes) == 4 and len(set(stakes)) == 1, st["validators"]
PY
top=$(height 0)
python3 - "$dir" "$top" <<'PY' || fail "the validators disagree on a block"
import re, sys
d, top = sys.argv[1], int(sys.argv[2])
blocks = []
for i in range(4):
    b = {}
    for m in re.finditer(r"committed height (\d+) round \d+ block ([0-9a-f]+)", open(f"{d}/node-{i}/node.log").read()):
        h = int(m.group(1))
        if h in b and b[h] != m.group(2):
            sys.exit(f"node-{i} logged two blocks at height {h}")
        b[h] = m.group(2)
    blocks.append(b)
for h in range(1, top + 1):
    ids = {b[h] for b in blocks if h in b}
    if len(ids) > 1:
        sys.exit(f"height {h}: {ids}")
print(f"  heights 1..{top}: one block each, the same on every node that committed it")
PY
echo "  node-3 started $((kills + 1)) times (ready $readies times; the other kills came during start-up); no evidence, no slash on any node; stakes intact"
echo "crash loop: ok"
