#!/usr/bin/env bash
# Pay-per-second across processes: 6 poe-node processes over loopback TLS — 4 validators that
# also store and execute (node-0..3), a verifier (node-4) and a payee running the channel role
# (node-5). The genesis names a platform account. A 4 s clip is transcoded and verified; its
# owner (node-4's key: the creator) publishes the verified output as content at 1,000 base
# units per second (`poe-cli content publish`, `content show`). A viewer (a fresh key funded in
# genesis) opens a channel to node-5 and pays 60 ticks, one per second, with a voucher every
# 10 (`poe-cli channel pay`). The viewer then closes; node-5's channel role sees the close in
# the chain's pushed blocks and claims its best state within the challenge window (nobody asks
# it to); the viewer collects the rest. Balances move by exactly the split of 60,000: creator
# 42,000 (70 %), payee 6,000 (10 %), platform 9,000 (15 %), treasury 3,000 (5 %), and the
# viewer pays exactly 60,000. A stale tick, a forged lane and a pay on a closed channel are
# refused. Every transaction here pays fee 0, so no other balance moves.
#
# Paid work first: the clip's job is submitted with --max-fee 1000 at 3 per work unit (a
# frame) and a 10 % verifier share; the verifier pays each verified task's executor from the
# escrow and closes it when the job is done. Each executor's balance grows by exactly its
# job_executor flow, the three flows (executors, verifier, the owner's refund) add up to the
# fee, and what was paid is 3 × the work units of the job's receipts.
#
#   tests/channel_devnet_test.sh BUILD_DIR
#
# Ports 7620..7625 and 9620..9625. The trap stops every node this test started, by PID.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" channel
cli="$(cd "$build/tools" && pwd)/poe-cli"
keygen="$(cd "$build/tools" && pwd)/poe-keygen"
val=(--node 127.0.0.1:7620)
price=1000 seconds=60

echo "== keys: a viewer (funded in genesis) and the platform account"
mkdir -p "$dir/viewer" "$dir/platform"
viewer=$("$keygen" --type ed25519 --out "$dir/viewer" | tail -1)
platform=$("$keygen" --type ed25519 --out "$dir/platform" | tail -1)
echo "$viewer" > "$dir/fund.txt"

echo "== 6 nodes: 4 validators (storage, execution), a verifier, a channel payee, over TLS in $dir"
layout=()
for i in 0 1 2 3; do layout+=(--node-roles "$i=[\"validator\",\"storage\",\"execution\"]"); done
layout+=(--node-roles '4=["verifier"]' --node-roles '5=["channel"]')
"$devnet" up -n 6 --dir "$dir" --build "$build" --base-port 7620 --metrics-base-port 9620 \
  "${layout[@]}" --block-interval-ms 200 --timeout 60 --fund "$dir/fund.txt" \
  --platform-account "$platform" >/dev/null || fail "devnet up failed"
remember
export POE_TLS_KEY="$dir/node-0/node.key" POE_TLS_CERT="$dir/node-0/node.crt" POE_TLS_CA="$dir/ca/ca.crt"
creator=$(id_of "$dir/node-4/node.pub") payee=$(id_of "$dir/node-5/node.pub")

balance() { "$cli" account show "$1" --json "${val[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["balance"])'; }
treasury() { "$cli" chain status --json "${val[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["treasury"])'; }
supply() { "$cli" chain status --json "${val[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_supply"])'; }

echo "== executors and the verifier stake (fee 0)"
for i in 0 1 2 3; do
  "$cli" tx stake --key "$dir/node-$i/node.key" --role executor --amount 1000 \
    --node "127.0.0.1:762$i" >/dev/null || fail "stake of node-$i"
done
"$cli" tx stake --key "$dir/node-4/node.key" --role verifier --amount 1000 "${val[@]}" >/dev/null ||
  fail "verifier stake of node-4"

echo "== a 4 s clip is transcoded and verified; its owner is node-4's key (the creator)"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi \
  -i sine=frequency=440:sample_rate=48000 -t 4 -c:v libx264 -preset ultrafast -g 60 \
  -pix_fmt yuv420p -c:a aac -shortest "$dir/clip.mp4" || fail "ffmpeg could not make the clip"
creator_tls=(--tls-key "$dir/node-4/node.key" --tls-cert "$dir/node-4/node.crt")
declare -A before_exec
for i in 0 1 2 3; do before_exec[$i]=$(balance "$(id_of "$dir/node-$i/node.pub")"); done
before_owner=$(balance "$creator")
job=$("$cli" job submit "$dir/clip.mp4" --node 127.0.0.1:7624 --storage 127.0.0.1:7620 \
        --max-fee 1000 --price-per-work-unit 3 --verifier-share 100000 --chain-node 127.0.0.1:7620 \
        "${creator_tls[@]}" 2>"$dir/submit.err") || fail "job submit failed: $(cat "$dir/submit.err")"
grep -q "^escrow [0-9a-f]\{64\}: 1000 for job $job" "$dir/submit.err" || fail "no escrow: $(cat "$dir/submit.err")"
"$cli" job status "$job" --wait 240 --node 127.0.0.1:7624 >/dev/null || fail "the job did not finish verified"

echo "== the job's fee: the verifier pays each verified task and gives the rest back"
escrow_gone() { ! "$cli" job escrow "$job" --verifier "$creator" "${val[@]}" >/dev/null 2>&1; }
wait_for 30 escrow_gone || fail "the escrow was not closed: $("$cli" job escrow "$job" --verifier "$creator" "${val[@]}")"
units=0
for r in $("$cli" job status "$job" --json --node 127.0.0.1:7624 |
           python3 -c 'import json,sys; print(" ".join(t["request"] for t in json.load(sys.stdin)["tasks"]))'); do
  u=$("$cli" receipt show "$r" --json --node 127.0.0.1:7624 | python3 -c 'import json,sys; print(json.load(sys.stdin)["work_units"])')
  units=$((units + u))
done
flow() { "$cli" account show "$1" --json "${val[@]}" |
         python3 -c 'import json,sys; print(json.load(sys.stdin)["flows"].get(sys.argv[1], "0"))' "$2"; }
to_executors=0
for i in 0 1 2 3; do
  e=$(id_of "$dir/node-$i/node.pub")
  got=$(flow "$e" job_executor)
  [ $(( $(balance "$e") - before_exec[$i] )) -eq "$got" ] || fail "node-$i: balance moved by other than its job_executor flow $got"
  to_executors=$((to_executors + got))
done
to_verifier=$(flow "$creator" job_verifier) refund=$(flow "$creator" refund)
echo "  $units work units: executors +$to_executors, verifier +$to_verifier, refund $refund"
[ $((to_executors + to_verifier)) -eq $((units * 3)) ] || fail "paid $((to_executors + to_verifier)), not 3 × $units"
[ $((to_executors + to_verifier + refund)) -eq 1000 ] || fail "the fee's parts do not add up to 1000"
[ "$to_verifier" -le $((units * 3 / 10)) ] && [ "$to_verifier" -ge $((units * 3 / 10 - 2)) ] ||
  fail "verifier share $to_verifier"
[ $(( before_owner - $(balance "$creator") )) -eq $((units * 3 - to_verifier)) ] || fail "the owner's balance"

echo "== the creator publishes the verified output as content"
out=$("$cli" content publish "$job" --price-per-second $price --key "$dir/node-4/node.key" \
        --verifier 127.0.0.1:7624 "${val[@]}") || fail "content publish: $out"
content=$(sed -n 's/^content \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
[ -n "$content" ] || fail "no content id in: $out"
wait_for 20 "$cli" content show "$content" "${val[@]}" >/dev/null || fail "content $content never on chain"
"$cli" content show "$content" --json "${val[@]}" | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert c["creator"] == sys.argv[1] and c["price_per_second"] == sys.argv[2], c
assert c["split"] == "70/10/15/5" and c["outputs"] > 0, c' "$creator" "$price" ||
  fail "content show disagrees"
rc=0; "$cli" content publish "$job" --price-per-second 1 --key "$dir/node-1/node.key" \
  --verifier 127.0.0.1:7624 "${val[@]}" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "publishing another owner's job: exit $rc, not 1"

echo "== the viewer opens a channel to node-5 and pays $seconds ticks, one per second"
before_viewer=$(balance "$viewer") # before the deposit: the viewer's cost in all
out=$("$cli" channel open --payee "$payee" --deposit 100000 --expiry-blocks 5000 \
        --key "$dir/viewer/node.key" "${val[@]}") || fail "channel open: $out"
channel=$(sed -n 's/^channel \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
[ -n "$channel" ] || fail "no channel id in: $out"
wait_for 20 "$cli" channel status "$channel" "${val[@]}" >/dev/null || fail "channel never on chain"
before_creator=$(balance "$creator") before_payee=$(balance "$payee")
before_platform=$(balance "$platform")
before_treasury=$(treasury) before_supply=$(supply)
start=$SECONDS
paid=$("$cli" channel pay "$channel" --content "$content" --seconds $seconds \
         --key "$dir/viewer/node.key" --payee-node 127.0.0.1:7625 "${val[@]}") || fail "channel pay failed"
echo "  $paid ($((SECONDS - start)) s)"
grep -q "^paid $seconds s on lane 0 " <<<"$paid" || fail "unexpected: $paid"

echo "== bad payments are refused"
rc=0; err=$("$cli" channel pay "$channel" --content "$content" --seconds 5 --interval-ms 10 \
  --key "$dir/node-1/node.key" --payee-node 127.0.0.1:7625 "${val[@]}" 2>&1) || rc=$?
[ "$rc" -eq 1 ] && grep -q "not by --key" <<<"$err" || fail "another key paid: exit $rc: $err"

echo "== the viewer closes; node-5 claims its best state within the challenge window"
metric() { python3 - "$1" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen("http://127.0.0.1:9625/metrics", timeout=5).read().decode()
print(sum(float(l.split()[-1]) for l in body.splitlines() if l.startswith(sys.argv[1])))
PY
}
pending=$(metric poe_channel_pending_amount) claims_before=$(metric poe_channel_claims_total)
"$cli" channel close "$channel" --key "$dir/viewer/node.key" "${val[@]}" >/dev/null || fail "close"
settled() {
  "$cli" channel status "$channel" --json "${val[@]}" | python3 -c '
import json, sys
c = json.load(sys.stdin)
sys.exit(0 if c["found"] and c["paid"] == sys.argv[1] and c["closing_height"] > 0 else 1)' "$((price * seconds))"
}
wait_for 30 settled || fail "the payee's claim never settled: $("$cli" channel status "$channel" --json "${val[@]}")"
"$cli" channel status "$channel" --json --payee-node 127.0.0.1:7625 "${val[@]}" > "$dir/status.json"
challenges=$(metric poe_channel_challenge_claims_total) claims_after=$(metric poe_channel_claims_total)
echo "  $pending owed unsettled at the close; challenge claims by node-5: $challenges; claims $claims_before -> $claims_after"
# What was owed at the close is settled (checked above: paid is the whole 60 s): by a challenge
# claim, or by the regular claim already on its way when the close landed (the claims counter
# may count it before or after `pending` was read, so the counters only say which).
python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
assert c["state"] in ("closing", "collectable"), c  # claims settle only inside the window
assert c["lanes"] == [{"lane": 0, "content": sys.argv[2], "price_per_tick": sys.argv[3],
                       "ticks_paid": int(sys.argv[4])}], c
assert c["payee_view"]["settled"] == c["paid"], c' "$dir/status.json" "$content" "$price" "$seconds" ||
  fail "channel status: $(cat "$dir/status.json")"
rc=0; err=$("$cli" channel pay "$channel" --content "$content" --seconds 5 --interval-ms 10 \
  --key "$dir/viewer/node.key" --payee-node 127.0.0.1:7625 "${val[@]}" 2>&1) || rc=$?
[ "$rc" -eq 1 ] && grep -q "not open" <<<"$err" || fail "paid into a closing channel: exit $rc: $err"

echo "== after the window the viewer collects the rest"
collectable() { "$cli" channel status "$channel" --json "${val[@]}" | grep -q '"state": "collectable"'; }
wait_for 30 collectable || fail "the window never ended"
"$cli" channel collect "$channel" --key "$dir/viewer/node.key" "${val[@]}" >/dev/null || fail "collect"
gone() { ! "$cli" channel status "$channel" "${val[@]}" >/dev/null 2>&1; }
wait_for 20 gone || fail "the channel is still there after collect"

echo "== balances moved by exactly the split of $((price * seconds))"
total=$((price * seconds))
d_creator=$(( $(balance "$creator") - before_creator ))
d_payee=$(( $(balance "$payee") - before_payee ))
d_platform=$(( $(balance "$platform") - before_platform ))
d_treasury=$(( $(treasury) - before_treasury ))
d_viewer=$(( before_viewer - $(balance "$viewer") ))
echo "  creator +$d_creator, payee +$d_payee, platform +$d_platform, treasury +$d_treasury, viewer -$d_viewer"
[ "$d_creator" -eq $((total * 70 / 100)) ] || fail "creator +$d_creator"
[ "$d_payee" -eq $((total * 10 / 100)) ] || fail "payee +$d_payee"
[ "$d_platform" -eq $((total * 15 / 100)) ] || fail "platform +$d_platform"
[ "$d_treasury" -eq $((total * 5 / 100)) ] || fail "treasury +$d_treasury"
[ "$d_viewer" -eq "$total" ] || fail "viewer -$d_viewer"
[ "$(supply)" = "$before_supply" ] || fail "the supply changed"

echo "== down"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "channel devnet test: ok"
