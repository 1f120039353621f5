#!/usr/bin/env bash
# Identity bound to the TLS session (issue 16): CAF's BASP names the sender of a message by a
# node id the peer writes itself — in its BASP handshake (a second connection "to" an existing
# node becomes an alternative route to it) or in a routed message's source. A cluster member
# with its own valid certificate (tests/attack/basp_forge.cpp) uses both to send node-0 an
# announcement "from" node-1 that withdraws node-1's roles.
#   - node-0 closes each such connection as the forged frame arrives (before CAF reads it),
#     counts it in poe_connection_events_total{event="basp_node_taken"|"basp_forged_source"},
#     and still lists node-1's roles;
#   - node-0 and node-1 stay connected and the devnet keeps working.
#
#   tests/basp_forge_test.sh BUILD_DIR
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" basp-forge

echo "== two TLS nodes (probe) on 127.0.0.1:8170.."
"$devnet" up -n 2 --dir "$dir" --build "$build" --base-port 8170 --metrics-base-port 10170 \
  --roles '["probe"]' >/dev/null || fail "devnet up failed"
remember
victim_pid=$(cat "$dir/node-1/pid")
victim_id=$(python3 -c 'import hashlib,subprocess,sys
der = subprocess.run(["openssl", "pkey", "-in", sys.argv[1], "-pubout", "-outform", "DER"],
                     capture_output=True, check=True).stdout
print(hashlib.sha256(der).hexdigest())' "$dir/node-1/node.key")

status_json() {
  timeout 20 "$build/tools/poe-status" --target 127.0.0.1:8170 --key "$dir/node-0/node.key" \
    --cert "$dir/node-0/node.crt" --ca "$dir/ca/ca.crt" --timeout 5 --json
}
roles_of_victim() {
  status_json | python3 -c 'import json,sys
s = json.load(sys.stdin); v = sys.argv[1]
print(next((p["roles"] for p in s["peers"] if p["node"] == v), "absent"))' "$victim_id"
}
for _ in $(seq 50); do [ "$(roles_of_victim)" != "absent" ] && break; sleep 0.2; done
before=$(roles_of_victim)
echo "  node-0 sees node-1 (${victim_id:0:16}) with $before role(s)"
[ "$before" != "absent" ] && [ "$before" -gt 0 ] || fail "node-0 does not see node-1's roles"

echo "== an attacker with its own certificate from the cluster CA"
mkdir -p "$dir/attacker"
"$build/tools/poe-keygen" --type ed25519 --out "$dir/attacker" >/dev/null
"$src/tools/poe-ca" issue --dir "$dir/ca" --key "$dir/attacker/node.key" \
  --out "$dir/attacker/node.crt" >/dev/null
attack() {
  timeout 30 "$build/tests/poe-basp-forge" --target 127.0.0.1:8170 --key "$dir/attacker/node.key" \
    --cert "$dir/attacker/node.crt" --ca "$dir/ca/ca.crt" --victim-pid "$victim_pid" \
    --victim-id "$victim_id" --mode "$1"
}
counted() {
  python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:10170/metrics").read().decode())' |
    awk -v e="$1" '$0 ~ "^poe_connection_events_total\\{.*event=\"" e "\"" {print $2}'
}

for mode in claim routed; do
  echo "== --mode $mode"
  out=$(attack "$mode") || fail "the attacker could not speak to node-0"
  echo "$out" | sed 's/^/  /'
  sleep 0.5
  now=$(roles_of_victim)
  echo "  node-0 sees node-1 with $now role(s)"
  [ "$now" = "$before" ] || fail "--mode $mode: node-0 took the forged announcement ($before -> $now roles)"
  echo "$out" | grep -q "the target closed the connection" ||
    fail "--mode $mode: node-0 kept the forging connection open"
done

taken=$(counted basp_node_taken)
forged=$(counted basp_forged_source)
echo "  counted: basp_node_taken ${taken:-0}, basp_forged_source ${forged:-0}"
python3 -c "import sys; sys.exit(0 if float('${taken:-0}') >= 1 and float('${forged:-0}') >= 1 else 1)" ||
  fail "the forged frames were not counted"

echo "== node-0 and node-1 still talk"
[ "$(roles_of_victim)" = "$before" ] || fail "node-1's roles changed"
status_json | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if len(s["peers"]) == 1 else 1)' ||
  fail "node-0 lost its peer"
! grep -q "lost" "$dir/node-0/node.log" "$dir/node-1/node.log" ||
  fail "the connection between node-0 and node-1 dropped during the attacks"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "PASS"
