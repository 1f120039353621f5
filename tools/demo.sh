#!/usr/bin/env bash
# A walk through what poe does today, with the real binaries: two node keys, a PoE v1
# commitment over a result and its verification (and a forged one refused), a Merkle
# tree over receipts with an inclusion proof checked against its root; then a 4-node devnet
# of separate poe-node processes over mutual TLS (tools/devnet), its status, what one node's
# directory knows (poe-status) and its metrics. The devnet keeps running; stop it with
# `tools/devnet down`.
#
#   tools/demo.sh [BUILD_DIR]      (default: build/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bin="$build/tools"
[ -x "$bin/poe-cli" ] || { echo "demo: build first (see README.md)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== keys"
rsa=$("$bin/poe-keygen" --type rsa2048 --out "$work/exec-rsa")
ed=$("$bin/poe-keygen" --type ed25519 --out "$work/exec-ed")
echo "executor A (rsa2048) node id $rsa"
echo "executor B (ed25519) node id $ed"

echo "== PoE v1: executor A commits to a result"
head -c 4096 /dev/urandom > "$work/result.bin"
rid=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$bin/poe-cli" poe commit --key "$work/exec-rsa/node.key" --request-id "$rid" \
  --result "$work/result.bin" | tee "$work/proof.json"
poe=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['poe'])" "$work/proof.json")
sig=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['sig'])" "$work/proof.json")

echo "== the coordinator verifies it"
"$bin/poe-cli" poe verify --pub "$work/exec-rsa/node.pub" --request-id "$rid" \
  --result "$work/result.bin" --poe "$poe" --sig "$sig"
echo "== a changed result is refused"
printf 'x' >> "$work/result.bin"
"$bin/poe-cli" poe verify --pub "$work/exec-rsa/node.pub" --request-id "$rid" \
  --result "$work/result.bin" --poe "$poe" --sig "$sig" || echo "(exit $?)"
echo "== executor B's key cannot claim A's work"
"$bin/poe-cli" poe verify --pub "$work/exec-ed/node.pub" --node-id "$rsa" --request-id "$rid" \
  --result "$work/result.bin" --poe "$poe" --sig "$sig" || echo "(exit $?)"

echo "== Merkle tree over 5 receipts, proof of receipt 3"
for i in 0 1 2 3 4; do echo "receipt $i" > "$work/r$i"; done
root_hash=$("$bin/poe-cli" merkle root "$work"/r{0,1,2,3,4})
echo "root $root_hash"
"$bin/poe-cli" merkle proof --index 3 "$work"/r{0,1,2,3,4} > "$work/mproof.json"
"$bin/poe-cli" merkle verify --proof "$work/mproof.json" --root "$root_hash" "$work/r3"

echo "== devnet: 4 poe-node processes on 127.0.0.1, mutual TLS, a private CA; each a QBFT validator"
devnet="$root/tools/devnet"
"$devnet" down --dir "$root/devnet" >/dev/null 2>&1 || true
"$devnet" up -n 4 --dir "$root/devnet" --build "$build" --roles '["validator","probe"]'
echo "== the chain: blocks committed by the 4 validators (1 s interval)"
sleep 4
for i in 0 1 2 3; do
  grep -h "committed height" "$root/devnet/node-$i/node.log" | tail -n 1 | sed "s/^/  node-$i: /"
done
"$devnet" status --dir "$root/devnet"
echo "== what node-0's directory knows (poe-status)"
nd="$root/devnet/node-0"
"$bin/poe-status" --target 127.0.0.1:7400 --key "$nd/node.key" --cert "$nd/node.crt" \
  --ca "$root/devnet/ca/ca.crt"
echo "== every registered message type round-trips to node-1's probe"
"$bin/poe-status" --roundtrip --target 127.0.0.1:7401 --key "$nd/node.key" \
  --cert "$nd/node.crt" --ca "$root/devnet/ca/ca.crt" | sed 's/^/  /' | cut -c1-60
echo "== metrics of node-0 (http://127.0.0.1:9400/metrics)"
python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9400/metrics").read().decode())' \
  | grep -E '^poe_(build_info|peers_connected|role_running|chain_height|consensus_round|chain_blocks)' \
  | sed 's/^/  /'
echo
echo "demo: done. The devnet keeps running (logs: tools/devnet logs; stop: tools/devnet down)."
