#!/usr/bin/env bash
# The channel and storage roles killed with -9 mid-session and mid-put, again and again, and
# restarted at once each time. Six poe-node processes over loopback TLS: 4 validators that also
# store and execute (node-0..3), a verifier (node-4), and node-5 — the payee (channel role) and a
# storage node — which is the one killed. A 2 s clip is transcoded, verified and published as
# content; a viewer opens a channel to node-5. Then, while node-5 is killed KILLS times:
#   - a viewer pays sessions of 300 ticks to node-5 without pause (`poe-cli channel pay`, 50
#     ticks a second, a voucher every 10), each session — whole or cut short by a kill —
#     printing the ticks node-5 acknowledged; the next session pays on the next lane;
#   - files of 1 KiB..2 MiB of random bytes are put to node-5 (`poe-cli put`), each CID it
#     returned recorded with the file's SHA-256.
# Then (node-5 restarted the last time):
#   - no acknowledged payment lost or counted twice: the viewer closes, node-5 claims its best
#     state in the challenge window, and on chain every lane pays at least the ticks node-5
#     acknowledged on it and at most one more (a tick stored whose answer the kill cut off);
#     the channel's paid total is the sum of its lanes' ticks × price;
#   - no manifest without its chunks: every file node-5 lists is read back whole from node-5,
#     every chunk checked against its CID; every acknowledged put reads back byte-identical;
#   - node-5's store reopened every time (no store error in its log).
# The kill delays come from a seed (printed; SEED and KILLS from the environment replay a run).
#
#   tests/role_crash_loop_test.sh BUILD_DIR [KILLS]     (default 12; the long run: 100)
#
# Ports 7540..7545 and 9540..9545. The trap stops every node and loop this test started, by PID.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" role-crash-loop
kills=${2:-${KILLS:-12}}
seed=${SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$seed
echo "role crash loop: $kills kills, seed $seed (replay: SEED=$seed $0 BUILD_DIR $kills)"
cli="$(cd "$build/tools" && pwd)/poe-cli"
keygen="$(cd "$build/tools" && pwd)/poe-keygen"
node_bin="$(cd "$build/tools" && pwd)/poe-node"
val=(--node 127.0.0.1:7540)
payee_node=127.0.0.1:7545
price=10
loops=()
devnet_cleanup_extra='for p in "${loops[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP_LOGS:-}" ] && cp -r "$dir" "$KEEP_LOGS"'
restart5() {
  (cd "$dir/node-5" && exec "$node_bin" --config-file="$dir/node-5/node.ini" >> node.log 2>&1) &
  echo $! > "$dir/node-5/pid"
  remember
}
peers5() { [ "$(node_metric 9545 poe_peers_connected 2>/dev/null || echo 0)" -ge 5 ]; }

mkdir -p "$dir/viewer"
viewer=$("$keygen" --type ed25519 --out "$dir/viewer" | tail -1)
echo "$viewer" > "$dir/fund.txt"
echo "== 6 nodes: 4 validators (storage, execution), a verifier, node-5 (channel, storage) in $dir"
layout=()
for i in 0 1 2 3; do layout+=(--node-roles "$i=[\"validator\",\"storage\",\"execution\"]"); done
layout+=(--node-roles '4=["verifier"]' --node-roles '5=["channel","storage"]')
"$devnet" up -n 6 --dir "$dir" --build "$build" --base-port 7540 --metrics-base-port 9540 \
  "${layout[@]}" --block-interval-ms 200 --timeout 60 --fund "$dir/fund.txt" >/dev/null || fail "devnet up failed"
remember
export POE_TLS_KEY="$dir/node-0/node.key" POE_TLS_CERT="$dir/node-0/node.crt" POE_TLS_CA="$dir/ca/ca.crt"
creator=$(id_of "$dir/node-4/node.pub") payee=$(id_of "$dir/node-5/node.pub")

echo "== a verified 2 s clip, published at $price per second"
for i in 0 1 2 3; do
  "$cli" tx stake --key "$dir/node-$i/node.key" --role executor --amount 1000 --node "127.0.0.1:754$i" >/dev/null ||
    fail "stake of node-$i"
done
"$cli" tx stake --key "$dir/node-4/node.key" --role verifier --amount 1000 "${val[@]}" >/dev/null || fail "verifier stake"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=320x180:rate=30 -t 2 -c:v libx264 -preset ultrafast \
  -g 60 -pix_fmt yuv420p "$dir/clip.mp4" || fail "ffmpeg could not make the clip"
job=$("$cli" job submit "$dir/clip.mp4" --node 127.0.0.1:7544 --storage 127.0.0.1:7540 \
        --tls-key "$dir/node-4/node.key" --tls-cert "$dir/node-4/node.crt" 2>"$dir/submit.err") ||
  fail "job submit failed: $(cat "$dir/submit.err")"
"$cli" job status "$job" --wait 180 --node 127.0.0.1:7544 >/dev/null || fail "the job did not finish verified"
out=$("$cli" content publish "$job" --price-per-second $price --key "$dir/node-4/node.key" \
        --verifier 127.0.0.1:7544 "${val[@]}") || fail "content publish: $out"
content=$(sed -n 's/^content \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
wait_for 20 "$cli" content show "$content" "${val[@]}" >/dev/null || fail "content $content never on chain"
out=$("$cli" channel open --payee "$payee" --deposit 1000000 --expiry-blocks 20000 \
        --key "$dir/viewer/node.key" "${val[@]}") || fail "channel open: $out"
channel=$(sed -n 's/^channel \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
wait_for 20 "$cli" channel status "$channel" "${val[@]}" >/dev/null || fail "channel never on chain"

echo "== load: pay sessions and puts to node-5, which is killed -9 $kills times"
touch "$dir/paid.txt" "$dir/puts.txt"
mkdir -p "$dir/files"
( lane=0
  while [ ! -e "$dir/stop" ]; do
    rc=0
    out=$("$cli" channel pay "$channel" --content "$content" --seconds 300 --interval-ms 20 --lane "$lane" \
            --wait 5 --key "$dir/viewer/node.key" --payee-node $payee_node "${val[@]}" 2>>"$dir/pay.err") || rc=$?
    if line=$(grep '^paid ' <<<"$out"); then
      echo "$line (exit $rc)" >> "$dir/paid.txt"
      lane=$(( $(sed -n 's/.* on lane \([0-9]*\) .*/\1/p' <<<"$line") + 1 ))
    fi
    sleep 0.1
  done ) &
loops+=($!)
( k=0
  while [ ! -e "$dir/stop" ]; do
    k=$((k + 1)) f="$dir/files/$k"
    head -c $(( (RANDOM % 2048 + 1) * 1024 )) /dev/urandom > "$f"
    if cid=$("$cli" put "$f" --node $payee_node 2>>"$dir/put.err"); then
      echo "$cid $(sha256sum < "$f" | cut -c1-64)" >> "$dir/puts.txt"
    else
      sleep 0.1
    fi
  done ) &
loops+=($!)
start=$SECONDS
for k in $(seq 1 "$kills"); do
  # 1..3 s after node-5 is back with its peers: mid-session and mid-put (and now and then sooner).
  [ $((RANDOM % 4)) = 0 ] || wait_for 30 peers5 || fail "node-5 did not rejoin its peers after kill $((k - 1))"
  sleep "$((1 + RANDOM % 2)).$(printf '%03d' $((RANDOM % 1000)))"
  kill -KILL "$(cat "$dir/node-5/pid")"
  wait "$(cat "$dir/node-5/pid")" 2>/dev/null || true
  restart5
done
wait_for 30 peers5 || fail "node-5 did not rejoin after its last restart"
sleep 3 # a last session and puts against the restarted node
touch "$dir/stop"
for p in "${loops[@]}"; do wait "$p" || true; done
loops=()
sessions=$(wc -l < "$dir/paid.txt") puts=$(wc -l < "$dir/puts.txt")
cut=$(grep -vc "(exit 0)" "$dir/paid.txt" || true)
echo "  $kills kills in $((SECONDS - start)) s; $sessions pay sessions ($cut cut short by a kill), $puts puts acknowledged"
[ "$cut" -ge 2 ] || fail "only $cut of $sessions pay sessions cut short by a kill: $(tail -n 3 "$dir/pay.err")"
[ "$puts" -ge $((kills / 2)) ] || fail "only $puts puts acknowledged: $(tail -n 3 "$dir/put.err")"
readies=$(grep -c "ready: id" "$dir/node-5/node.log" || true)
[ "$readies" -ge $((kills / 2 + 1)) ] || fail "node-5 logged ready $readies times in $((kills + 1)) starts"
if grep -E "error .*(store|RocksDB|corrupt)" "$dir/node-5/node.log" | head -3 | grep -q .; then
  fail "node-5's store reported an error: $(grep -E "error .*(store|RocksDB|corrupt)" "$dir/node-5/node.log" | head -3)"
fi

echo "== storage: every acknowledged put reads back identical, every listed file whole"
declare -A acked_sum
while read -r cid sum; do acked_sum[$cid]=$sum; done < "$dir/puts.txt"
# Every file node-5 lists, read back from node-5 with every chunk checked against its CID (a
# listed chunk is refused by get at once: exit 2); the acknowledged ones compared byte for byte.
files=0
read_back() { # read_back CID: its SHA-256, or fail
  "$cli" get "$1" -o - --node $payee_node 2>"$dir/get.err" | sha256sum | cut -c1-64
}
for cid in $("$cli" storage ls --node $payee_node | python3 -c 'import json,sys; print(" ".join(e["cid"] for e in json.load(sys.stdin)))'); do
  rc=0; got=$(read_back "$cid") || rc=$?
  if [ "$rc" -eq 2 ] && grep -q "is a chunk" "$dir/get.err"; then continue; fi
  [ "$rc" -eq 0 ] || fail "node-5 lists $cid but cannot give it whole: $(cat "$dir/get.err")"
  files=$((files + 1))
  if [ -n "${acked_sum[$cid]:-}" ]; then
    [ "$got" = "${acked_sum[$cid]}" ] || fail "$cid read back differs from what was put"
    unset "acked_sum[$cid]"
  fi
done
for cid in "${!acked_sum[@]}"; do # acknowledged but not listed on node-5: from the network
  got=$(read_back "$cid") || fail "get $cid (acknowledged) from node-5: $(cat "$dir/get.err")"
  [ "$got" = "${acked_sum[$cid]}" ] || fail "$cid read back differs from what was put"
done
echo "  $puts acknowledged puts identical; $files files node-5 lists, every one whole"

echo "== payments: the viewer closes; node-5 claims; every acknowledged tick is on chain, once"
"$cli" channel close "$channel" --key "$dir/viewer/node.key" "${val[@]}" >/dev/null || fail "close"
claimed() {
  "$cli" channel status "$channel" --json --payee-node $payee_node "${val[@]}" > "$dir/status.json" &&
  python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
v = c["payee_view"] or {}
sys.exit(0 if c["found"] and c["closing_height"] > 0 and v.get("settled") == c["paid"] == v.get("owed") else 1)' \
    "$dir/status.json"
}
wait_for 60 claimed || fail "node-5 never settled its claims: $(cat "$dir/status.json")"
python3 - "$dir/status.json" "$dir/paid.txt" "$price" <<'PY' || fail "a payment was lost or counted twice"
import json, re, sys
c = json.load(open(sys.argv[1]))
price = int(sys.argv[3])
acked = {}
for line in open(sys.argv[2]):
    m = re.match(r"paid (\d+) s on lane (\d+) ", line)
    acked[int(m.group(2))] = acked.get(int(m.group(2)), 0) + int(m.group(1))
lanes = {l["lane"]: l["ticks_paid"] for l in c["lanes"]}
for lane, n in acked.items():
    got = lanes.get(lane, 0)
    assert n <= got <= n + 1, f"lane {lane}: {n} ticks acknowledged, {got} paid on chain"
extra = {l: t for l, t in lanes.items() if l not in acked and t > 1}
assert not extra, f"lanes paid that no session reported: {extra}"
total = sum(lanes.values())
assert int(c["paid"]) == total * price, f"paid {c['paid']}, lanes {total} ticks x {price}"
print(f"  {sum(acked.values())} ticks acknowledged on {len(acked)} lanes; {total} settled on chain "
      f"({total - sum(acked.values())} stored but unanswered when node-5 died); paid {c['paid']}")
PY

echo "== down"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "role crash loop: ok"
