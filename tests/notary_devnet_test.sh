#!/usr/bin/env bash
# The whole pipeline across processes, through notarization: 4 nodes over loopback TLS
# (tools/devnet), each a validator, a storage node, an executor, a verifier and a builder
# (4 BPIs). Executors and builders stake; a 6 s clip is transcoded and verified, and a compute
# job (inline inputs) with it; the verifier
# hands each receipt to one builder; builders cut LogBlocks, sign PoE headers and offer them;
# validators include them in blocks and collect rent. Then, for every task, `poe-cli receipt
# prove` (asked of each builder until the one holding it answers) and `poe-cli receipt verify`
# against the genesis; a tampered proof fails. The treasury and the inclusion metrics moved.
#
#   tests/notary_devnet_test.sh BUILD_DIR
#
# Ports 7560..7563 and 9560..9563. The trap stops every node this test started, by PID.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" notary
cli="$(cd "$build/tools" && pwd)/poe-cli"
node=(--node 127.0.0.1:7560)

echo "== 4 nodes (validator, storage, execution, verifier, builder, rent) over TLS in $dir"
"$devnet" up -n 4 --dir "$dir" --build "$build" --base-port 7560 --metrics-base-port 9560 \
  --roles '["validator","storage","execution","verifier","builder","rent"]' --block-interval-ms 200 \
  >/dev/null || fail "devnet up failed"
remember
export POE_TLS_KEY="$dir/node-0/node.key" POE_TLS_CERT="$dir/node-0/node.crt" POE_TLS_CA="$dir/ca/ca.crt"

echo "== every node stakes as executor, builder, verifier and storage (executors run only tasks a staked verifier signed; storage stakers earn the rent's storage part)"
for i in 0 1 2 3; do
  nonce=0
  for role in executor builder verifier storage; do
    "$cli" tx stake --key "$dir/node-$i/node.key" --role "$role" --amount 1000 --fee 1 \
      --nonce $nonce --node "127.0.0.1:756$i" >/dev/null || fail "$role stake of node-$i"
    nonce=$((nonce + 1))
  done
done

echo "== a 6 s clip is transcoded and verified"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi \
  -i sine=frequency=440:sample_rate=48000 -t 6 -c:v libx264 -preset ultrafast -g 60 \
  -pix_fmt yuv420p -c:a aac -shortest "$dir/clip.mp4" || fail "ffmpeg could not make the clip"
job=$("$cli" job submit "$dir/clip.mp4" "${node[@]}" 2>/dev/null) || fail "job submit failed"
"$cli" job status "$job" --wait 240 "${node[@]}" >/dev/null || fail "the job did not finish verified"
requests=$("$cli" job status "$job" --json "${node[@]}" |
  python3 -c 'import json,sys; print(" ".join(t["request"] for t in json.load(sys.stdin)["tasks"]))')

echo "== a compute job (inline, no storage): digests are SHA-256 iterated 3 times"
cjob=$("$cli" job compute "useful work" "more work" --iterations 3 "${node[@]}") || fail "job compute failed"
"$cli" job status "$cjob" --wait 60 "${node[@]}" >/dev/null || fail "the compute job did not finish verified"
crequests=$("$cli" job status "$cjob" --json "${node[@]}" | python3 -c '
import hashlib, json, sys
j = json.load(sys.stdin)
for t, data in zip(j["tasks"], [b"useful work", b"more work"]):
    d = data
    for _ in range(3):
        d = hashlib.sha256(d).digest()
    assert t["digest"] == d.hex(), (t, d.hex())
print(" ".join(t["request"] for t in j["tasks"]))') || fail "compute digests are wrong"
rc=0; "$cli" job compute "$(head -c 5000 /dev/zero | tr '\0' a)" "${node[@]}" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "an input over 4 KiB: exit $rc"
requests="$requests $crequests"
echo "  2 compute tasks verified, digests right; an input over 4 KiB refused"

echo "== every receipt is notarized: proved by its builder, verified offline against genesis"
for request in $requests; do
  proved=""
  for attempt in $(seq 1 100); do
    for i in 0 1 2 3; do
      if "$cli" receipt prove "$request" -o "$dir/$request.proof" --node "127.0.0.1:756$i" \
           >"$dir/prove.out" 2>&1; then
        proved=$i
        break 2
      fi
    done
    sleep 0.2
  done
  [ -n "$proved" ] || fail "no builder proves $request: $(cat "$dir/prove.out")"
  out=$("$cli" receipt verify "$dir/$request.proof" --genesis "$dir/genesis.json") ||
    fail "proof of $request does not verify: $out"
  echo "$out" | grep -q "^valid: request $request" || fail "verify said: $out"
  echo "$out" | grep -q "its PoE v1 over the result" || fail "verify did not check the executor's PoE: $out"
  echo "$out" | grep -q "^  verifier .*signed the receipt" || fail "verify did not check the verifier: $out"
  echo "  $request: builder node-$proved, $(echo "$out" | grep -o 'entry [0-9]* of block [0-9]*')"
done

echo "== a tampered proof fails"
last=${requests##* }
python3 - "$dir/$last.proof" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[30] ^= 1  # inside the receipt
open(p + ".bad", "wb").write(bytes(b))
PY
rc=0; out=$("$cli" receipt verify "$dir/$last.proof.bad" --genesis "$dir/genesis.json") || rc=$?
[ "$rc" -eq 1 ] || fail "a tampered proof: exit $rc ($out)"
echo "$out" | grep -q "^INVALID: " || fail "tampered: $out"
echo "  $out"

echo "== rent reached the treasury; validators counted inclusions"
status=$("$cli" chain status --json "${node[@]}")
treasury=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["treasury"])' <<<"$status")
[ "$treasury" -gt 0 ] || fail "treasury is $treasury"
metrics=$(python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9560/metrics").read().decode())')
included=$(echo "$metrics" | awk '/^poe_notary_headers_included_total/ {print $2}')
[ -n "$included" ] && python3 -c "import sys; sys.exit(0 if float('$included') >= 1 else 1)" ||
  fail "poe_notary_headers_included_total is '$included'"
echo "  treasury $treasury, headers included $included"
flows=""
for attempt in $(seq 1 50); do
  flows=$("$cli" rent flows --json "${node[@]}") || fail "rent flows"
  [ "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["collected"])' <<<"$flows")" -gt 0 ] && break
  sleep 0.2
done
python3 - "$flows" <<'PY' || fail "rent flows do not add up: $flows"
import json, sys
t = json.loads(sys.argv[1])["totals"]
f = {k: int(v) for k, v in t["flows"].items()}
# The storage part goes to the storage stakers; the rest splits to validators, pool, treasury.
assert f.get("rent_storage", 0) > 0, t
assert t["collected"] > 0 and t["collected"] == f["rent_storage"] + t["validators"] + t["slashing"] + t["treasury"], t
assert f["rent_validators"] == t["validators"] and f["rent_treasury"] == t["treasury"], t
assert f.get("fee", 0) >= 16, t  # the 16 stake transactions above paid fee 1 each
PY
"$cli" rent quote --work-units 180 --bytes 700000 --priority 5 "${node[@]}" | grep -q "^rent 969 = base 100" ||
  fail "rent quote: $("$cli" rent quote --work-units 180 --bytes 700000 --priority 5 "${node[@]}" 2>&1)"
echo "  rent flows add up (collected = storage + validators + slashing + treasury); quote 969 for 180 units, 684 KiB, priority 5"

echo "== the PBS auction ran: winning bids were paid to proposers"
won=$(cat "$dir"/node-*/node.log | grep -c "won the auction" || true)
[ "$won" -ge 1 ] || fail "no auction was won"
echo "  $won auctions won"

echo "== down"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "notary devnet test: ok"
