#!/usr/bin/env bash
# Every role profile in configs/ passes `poe-node --check-config` and starts as shipped: each is run by poe-node from a node
# directory laid out as configs/README.md says (keys/node.key, certs/node.crt, certs/ca.crt,
# genesis.json naming the node as validator), with only the ports and the metrics address
# overridden (ports 7300.. and 9300..), until it logs "ready"; then SIGTERM must stop it with
# exit code 0 (the gateway's HTTP port is overridden too: 8300..). Every node this test starts
# is SIGKILLed on exit by PID.
#
#   tests/profiles_test.sh BUILD_DIR
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/poe-profiles-test.XXXXXX")
pids=()
cleanup() {
  local rc=$? p
  for p in "${pids[@]+"${pids[@]}"}"; do kill -KILL "$p" 2>/dev/null || true; done
  [ "$rc" -eq 0 ] || { for f in "$dir"/*/node.log; do echo "--- $f"; tail -n 20 "$f"; done; }
  rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$src/tools/poe-ca" init --dir "$dir/ca" >/dev/null

n=0
for profile in "$src"/configs/*.ini; do
  name=$(basename "$profile" .ini)
  node="$dir/$name"
  mkdir -p "$node/certs"
  "$build/tools/poe-keygen" --type ed25519 --out "$node/keys" >/dev/null
  "$src/tools/poe-ca" issue --dir "$dir/ca" --key "$node/keys/node.key" --out "$node/certs/node.crt" >/dev/null
  cp "$dir/ca/ca.crt" "$node/certs/ca.crt"
  python3 - "$node" <<'PY'
import base64, hashlib, json, sys
d = sys.argv[1]
pem = open(d + "/keys/node.pub").read()
der = base64.b64decode("".join(l for l in pem.splitlines() if "-----" not in l))
json.dump({"chain_id": "poe-devnet",
           "validators": [{"public_key": der.hex(), "stake": "1000000"}],
           "balances": [{"account": hashlib.sha256(der).hexdigest(), "amount": "1000000000"}]},
          open(d + "/genesis.json", "w"))
PY
  port=$((7300 + n)); metrics=$((9300 + n)); n=$((n + 1))
  roles=$(awk '/^roles=/{p=1} p{printf "%s", $0} p && /\]/{exit}' "$profile" | tr -d ' ')
  out=$(cd "$node" && "$build/tools/poe-node" --config-file="$profile" --check-config 2>&1) ||
    fail "$name: --check-config refused the profile as shipped: $out"
  grep -q "^poe-node: configuration ok: node " <<<"$out" || fail "$name: --check-config said: $out"
  (cd "$node" && exec "$build/tools/poe-node" --config-file="$profile" --node.port=$port \
      --metrics.address=127.0.0.1:$metrics --gateway.listen=127.0.0.1:$((8300 + n)) > node.log 2>&1) &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 150); do
    grep -q "ready: id" "$node/node.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "ready: id" "$node/node.log" || fail "$name: not ready within 15 s"
  kill -TERM "$pid"
  rc=0
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "$name: still running 15 s after SIGTERM"
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "$name: exit $rc after SIGTERM"
  echo "ok   $name: ready ($roles), stopped with exit 0"
done
# --check-config finds what a start would: a validator without its genesis exits 2 saying so
# (it never logs "ready"), a mistyped value likewise.
rm "$dir/validator/genesis.json"
rc=0; out=$(cd "$dir/validator" && "$build/tools/poe-node" --config-file="$src/configs/validator.ini" --check-config 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q "validator.genesis .*cannot read genesis file" <<<"$out" || fail "no genesis: exit $rc: $out"
rc=0; out=$(cd "$dir/validator" && "$build/tools/poe-node" --config-file="$src/configs/validator.ini" 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q "validator.genesis" <<<"$out" && ! grep -q "ready" <<<"$out" ||
  fail "a start without genesis: exit $rc: $out"
rc=0; out=$(cd "$dir/storage" && "$build/tools/poe-node" --config-file="$src/configs/storage.ini" --check-config --node.port=x 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q "node.port" <<<"$out" || fail "a mistyped port: exit $rc: $out"
echo "ok   --check-config: every profile as shipped, a missing genesis and a mistyped value (exit 2)"
echo "every profile in configs/ behaves as documented"
