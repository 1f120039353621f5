#!/usr/bin/env bash
# A walk through what poe does today, with the real binaries: two node keys, a PoE v1
# commitment over a result and its verification (and a forged one refused), a Merkle
# tree over receipts with an inclusion proof checked against its root; then a 4-node devnet
# of separate poe-node processes over mutual TLS (tools/devnet), its status, what one node's
# directory knows (poe-status) and its metrics; the chain those 4 nodes run as QBFT validators:
# a transfer signed and submitted with poe-cli, committed, shown in its block and in both
# accounts; a file stored with 2 replicas by the nodes' storage role and read back; a 6 s clip
# transcoded into the ABR ladder by the execution roles, every segment's PoE checked and a
# sample re-run by the verifier, receipts and renditions shown; a compute job run inline; the
# receipts aggregated by 4 builders into LogBlocks, notarized in PoE headers, committed with
# rent paid (PBS auction per height), one proved and verified offline, the rent flows; then
# playback: the clip published as content at 100 a second, a viewer's channel to a gateway, the
# stream watched through the gateway over HLS (`poe-cli watch` paying a tick a second, ffprobe
# reading the same URL), the session's playback receipt notarized and verified offline, the
# channel closed and collected and the revenue split 70/10/15/5 between creator, operators,
# platform and treasury; a summary with the player page's URL for a person to open. The devnet
# keeps running; stop it with `tools/devnet down`.
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
rm -rf "$root"/devnet/node-*/data # a new chain each run (keys and CA are kept)
"$bin/poe-keygen" --type ed25519 --out "$work/platform" >/dev/null
platform=$(openssl pkey -pubin -in "$work/platform/node.pub" -outform DER | openssl dgst -sha256 -r | cut -c1-64)
"$devnet" up -n 4 --dir "$root/devnet" --build "$build" --platform-account "$platform" \
  --node-arg=--gateway.session-idle-s=3 \
  --roles '["validator","storage","execution","verifier","builder","rent","channel","gateway","probe"]'
echo "== what node-0's directory knows (poe-status)"
nd="$root/devnet/node-0"
"$bin/poe-status" --target 127.0.0.1:7400 --key "$nd/node.key" --cert "$nd/node.crt" \
  --ca "$root/devnet/ca/ca.crt"
echo "== every registered message type round-trips to node-1's probe"
"$bin/poe-status" --roundtrip --target 127.0.0.1:7401 --key "$nd/node.key" \
  --cert "$nd/node.crt" --ca "$root/devnet/ca/ca.crt" | sed 's/^/  /' | cut -c1-60
echo "== metrics of node-0 (http://127.0.0.1:9400/metrics)"
python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9400/metrics").read().decode())' \
  | grep -E '^poe_(build_info|peers_connected|role_running|chain_height|consensus_round|chain_blocks|storage_bytes|storage_chunks)' \
  | sed 's/^/  /'

echo "== the chain: 4 QBFT validators (1 s blocks); poe-cli talks to node-0 over TLS"
export POE_NODE=127.0.0.1:7400 POE_TLS_KEY="$nd/node.key" POE_TLS_CERT="$nd/node.crt" \
       POE_TLS_CA="$root/devnet/ca/ca.crt"
cli() { "$bin/poe-cli" "$@"; }
id_of() { openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-64; }
from=$(id_of "$nd/node.pub")
to=$(id_of "$root/devnet/node-1/node.pub")
for i in 0 1 2 3; do
  for _ in $(seq 1 60); do # the first block may take a round change (nodes still starting)
    grep -q "committed height" "$root/devnet/node-$i/node.log" && break
    sleep 0.5
  done
  grep -h "committed height" "$root/devnet/node-$i/node.log" | tail -n 1 | sed "s/^/  node-$i: /" ||
    { echo "demo: node-$i committed no block in 30 s" >&2; exit 1; }
done
echo "== poe-cli tx transfer: node-0 pays node-1 2500 units (fee 10); nonce read from the node"
answer=$(cli tx transfer --key "$nd/node.key" --to "$to" --amount 2500 --fee 10)
echo "  $answer"
txid=${answer#accepted }
start=$(cli chain status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])')
included=
for _ in $(seq 1 40); do
  h=$(cli chain status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])')
  for k in $(seq "$start" "$h"); do
    [ "$k" -ge 1 ] || continue
    if cli chain block "$k" --json | grep -q "\"id\": \"$txid\""; then included=$k; break 2; fi
  done
  start=$h
  sleep 0.5
done
[ -n "$included" ] || { echo "demo: the transfer was not committed" >&2; exit 1; }
echo "== poe-cli chain block $included"
cli chain block "$included" | sed 's/^/  /'
echo "== poe-cli account show (sender, then recipient)"
cli account show "$from" | sed 's/^/  /'
cli account show "$to" | sed 's/^/  /'
echo "== poe-cli chain status"
cli chain status | sed 's/^/  /'
echo "== a replay of the same transfer is refused"
cli tx transfer --key "$nd/node.key" --to "$to" --amount 2500 --fee 10 --nonce 0 | sed 's/^/  /' || true

echo
echo "== storage: a 3 MB file put through node-0 (2 replicas by rendezvous hashing), read back from node-3"
head -c 3000000 /dev/urandom > "$work/media.bin"
file_cid=$(cli put "$work/media.bin" --media-type application/octet-stream --owner demo)
echo "  CID $file_cid"
cli stat "$file_cid" | sed 's/^/  /'
cli get "$file_cid" -o "$work/media.back" --node 127.0.0.1:7403
cmp -s "$work/media.bin" "$work/media.back" && echo "  node-3 returned identical bytes"
one=$(head -c 262144 "$work/media.bin" | python3 -c 'import base64,hashlib,sys; d=sys.stdin.buffer.read(); print("b"+base64.b32encode(bytes([1,0x55,0x12,0x20])+hashlib.sha256(d).digest()).decode().lower().rstrip("="))')
echo "  its first 256 KiB chunk, CID computed independently by Python as IPFS does for a raw leaf:"
cli stat "$one" | sed 's/^/  /'
cli storage usage demo | tr -d '\n' | sed 's/^/  usage: /'; echo

echo
echo "== execution: the 4 nodes stake as executors, builders (BPIs), verifiers and storage nodes; a 6 s 1280x720 clip (made with ffmpeg) is submitted with its fee escrowed"
for i in 0 1 2 3; do
  me=$(id_of "$root/devnet/node-$i/node.pub")
  nonce=$(cli account show "$me" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["nonce"])')
  cli tx stake --key "$root/devnet/node-$i/node.key" --role executor --amount 1000 --fee 1 \
    --nonce "$nonce" >/dev/null
  cli tx stake --key "$root/devnet/node-$i/node.key" --role builder --amount 1000 --fee 1 \
    --nonce $((nonce + 1)) >/dev/null
  # Executors run only tasks signed by a verifier with stake at risk.
  cli tx stake --key "$root/devnet/node-$i/node.key" --role verifier --amount 1000 --fee 1 \
    --nonce $((nonce + 2)) >/dev/null
  # Storage stakers earn the storage part of every block's rent.
  cli tx stake --key "$root/devnet/node-$i/node.key" --role storage --amount 1000 --fee 1 \
    --nonce $((nonce + 3)) >/dev/null
  # node-3 also serves viewers: its playback receipts need gateway stake.
  [ "$i" = 3 ] && cli tx stake --key "$root/devnet/node-3/node.key" --role gateway --amount 1000 --fee 1 \
    --nonce $((nonce + 4)) >/dev/null
done
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi \
  -i sine=frequency=440:sample_rate=48000 -t 6 -c:v libx264 -preset ultrafast -g 60 \
  -pix_fmt yuv420p -c:a aac -shortest "$work/clip.mp4"
job=$(cli job submit "$work/clip.mp4" --max-fee 2000 --price-per-work-unit 2 2>"$work/fee.txt")
echo "  job $job: split into GOP-aligned segments, one transcode task each (720p/480p/360p)"
sed 's/^/  /' "$work/fee.txt"
cli job status "$job" --wait 300 | sed 's/^/  /'
verifier_id=$(id_of "$root/devnet/node-0/node.pub")
for _ in $(seq 1 50); do # the verifier pays each verified task, then closes the escrow
  cli job escrow "$job" --verifier "$verifier_id" >/dev/null 2>&1 || break
  sleep 0.2
done
echo "== paid work: every verified task's executor was paid 2 per frame from the escrow (10 % to the verifier), the rest refunded"
for i in 0 1 2 3; do
  cli account show "$(id_of "$root/devnet/node-$i/node.pub")" --json | python3 -c '
import json, sys
f = json.load(sys.stdin)["flows"]
print("  node-%s:" % sys.argv[1], ", ".join("%s %s" % (k, f.get(k, "0")) for k in ("job_executor", "job_verifier", "refund", "rent_storage")))' "$i"
done
status=$(cli job status "$job" --json)
first=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["request"])' <<<"$status")
echo "== poe-cli receipt show $first"
cli receipt show "$first" | sed 's/^/  /'
rendition=$(python3 -c 'import json,sys; print([o["cid"] for o in json.load(sys.stdin)["tasks"][0]["outputs"] if o["name"] == "720p.ts"][0])' <<<"$status")
cli get "$rendition" -o "$work/720p.ts"
probe=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height,duration \
  -of csv=p=0 "$work/720p.ts")
echo "  its 720p rendition read back from storage; ffprobe (codec, width, height, seconds): ${probe%%$'\n'*}"
segments=$(python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["verified"], "of", j["segments"])' <<<"$status")
requests=$(python3 -c 'import json,sys; print(" ".join(t["request"] for t in json.load(sys.stdin)["tasks"]))' <<<"$status")

echo "== a compute job (Proof-of-Compute, inline: no storage): SHA-256 iterated 1000 times per input"
cjob=$(cli job compute "frame hashes, batch 1" "frame hashes, batch 2" --iterations 1000 --owner demo)
cli job status "$cjob" --wait 60 | sed 's/^/  /'
cstatus=$(cli job status "$cjob" --json)
requests="$requests $(python3 -c 'import json,sys; print(" ".join(t["request"] for t in json.load(sys.stdin)["tasks"]))' <<<"$cstatus")"

echo
echo "== notarization: each receipt went to one builder (BPI), was cut into a LogBlock, notarized"
echo "   in a signed PoE header and included by the validators (rent paid, PBS auction per height)"
notarized=0
for request in $requests; do
  for _ in $(seq 1 100); do
    for i in 0 1 2 3; do
      if cli receipt prove "$request" -o "$work/$request.proof" --node "127.0.0.1:740$i" >/dev/null 2>&1; then
        notarized=$((notarized + 1)); break 2
      fi
    done
    sleep 0.2
  done
done
echo "  $notarized of $(wc -w <<<"$requests") receipts notarized in finalized blocks"
echo "== poe-cli receipt prove $first (receipt → LogBlock → PoE header → block)"
for i in 0 1 2 3; do
  cli receipt prove "$first" -o "$work/first.proof" --node "127.0.0.1:740$i" 2>/dev/null | sed 's/^/  /' && break
done
echo "== poe-cli receipt verify (offline: the genesis validators and the set changes the proof carries)"
cli receipt verify "$work/first.proof" --genesis "$root/devnet/genesis.json" | sed 's/^/  /'
for _ in $(seq 1 20); do # the rent role follows the chain every 500 ms
  cli rent flows --json | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["totals"]["collected"] > 0 else 1)' && break
  sleep 0.3
done
echo "== poe-cli rent flows (each block's rent: to validators, slashing pool, treasury)"
cli rent flows --last 8 | sed 's/^/  /'
metric() { # metric NAME: the sum of NAME over the 4 nodes' metrics
  python3 - "$1" <<'PY'
import sys, urllib.request
name, total = sys.argv[1], 0.0
for port in range(9400, 9404):
    for line in urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
print(f"{total:g}")
PY
}
headers=$(metric poe_builder_headers_included_total)
lat_sum=$(metric poe_notary_inclusion_seconds_sum); lat_n=$(metric poe_notary_inclusion_seconds_count)
blk_sum=$(metric poe_notary_inclusion_blocks_sum)
won=$(metric poe_pbs_winning_bids_total)
latency=$(python3 -c 'import sys; s, n, b = map(float, sys.argv[1:]); print("%.2f s, %.1f blocks" % (s / n, b / n) if n else "n/a")' "$lat_sum" "$lat_n" "$blk_sum")
chain=$(cli chain status --json)
pools=$(python3 -c 'import json,sys; j=json.load(sys.stdin); print("treasury", j["treasury"] + ", slashing pool", j["slashing_pool"] + ", total supply", j["total_supply"])' <<<"$chain")
flows=$(cli rent flows --json | python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]; print("%d collected = %d to validators + %d to the slashing pool + %d to the treasury" % (t["collected"], t["validators"], t["slashing"], t["treasury"]))')

echo
echo "== playback: the clip's renditions published as content at 100 a second (split 70/10/15/5)"
out=$(cli content publish "$job" --price-per-second 100 --key "$root/devnet/node-0/node.key" --verifier 127.0.0.1:7400)
content=$(sed -n 's/^content \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
echo "  $out"
gw_id=$(id_of "$root/devnet/node-3/node.pub") gw=http://127.0.0.1:8403 viewer_key="$root/devnet/node-1/node.key"
echo "== a viewer (node-1) opens a payment channel to the gateway's node (node-3, $gw)"
out=$(cli channel open --payee "$gw_id" --deposit 20000 --expiry-blocks 3000 --key "$viewer_key")
channel=$(sed -n 's/^channel \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
echo "  channel $channel: 20000 in escrow"
for _ in $(seq 1 100); do cli channel status "$channel" >/dev/null 2>&1 && break; sleep 0.2; done
master=$(cli channel token "$channel" --content "$content" --gateway "$gw_id" --key "$viewer_key" --lane 1 --url "$gw")
for _ in $(seq 1 100); do # the gateway learns the content from the chain
  python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)' "$master" 2>/dev/null && break
  sleep 0.2
done
echo "== poe-cli watch (a headless player) plays it through the gateway, paying a tick a second"
cli watch "$master" --key "$viewer_key" 2>/dev/null | sed 's/^/  /'
echo "== ffprobe (any HLS player) reads the same master playlist URL"
ffprobe -v error -show_entries stream=codec_type,width,height -of csv=p=0 "$master" | sort -u | sed 's/^/  /'
echo "== the session ends: the gateway signs a playback receipt; a builder notarizes it beside the step receipts"
receipt=$(python3 - "${master%%/content/*}/session" <<'PY'
import json, sys, time, urllib.request
for _ in range(300):
    s = json.load(urllib.request.urlopen(sys.argv[1], timeout=10))
    ok = [r for r in s["receipts"] if r["status"] == "accepted"]
    if ok:
        print(ok[0]["id"]); sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PY
) || { echo "demo: no playback receipt was taken by a builder" >&2; exit 1; }
for _ in $(seq 1 150); do
  cli receipt prove "$receipt" -o "$work/playback.proof" --node 127.0.0.1:7403 >/dev/null 2>&1 && break
  sleep 0.2
done
cli receipt verify "$work/playback.proof" --genesis "$root/devnet/genesis.json" | sed 's/^/  /'
echo "== the viewer closes the channel; the gateway's channel role claims what it was paid; after the window the viewer collects"
cli channel close "$channel" --key "$viewer_key" >/dev/null
for _ in $(seq 1 300); do
  cli channel status "$channel" --json | grep -q '"state": "collectable"' && break
  sleep 0.2
done
cli channel status "$channel" | sed 's/^/  /'
cli channel collect "$channel" --key "$viewer_key" >/dev/null
for _ in $(seq 1 100); do cli channel status "$channel" >/dev/null 2>&1 || break; sleep 0.2; done
for _ in $(seq 1 20); do # the rent role counts every block's flows
  cli rent flows --json | python3 -c 'import json,sys; sys.exit(0 if "content_creator" in json.load(sys.stdin)["totals"]["flows"] else 1)' && break
  sleep 0.3
done
split=$(cli rent flows --json | python3 -c '
import json, sys
f = json.load(sys.stdin)["totals"]["flows"]
print("creator %s, operators %s, platform %s, treasury %s" % tuple(f.get("content_" + k, "0") for k in ("creator", "operators", "platform", "treasury")))')
echo "  revenue split: $split"
# A channel left open for a person: node-2 pays, and the session link plays in a browser.
out=$(cli channel open --payee "$gw_id" --deposit 60000 --expiry-blocks 20000 --key "$root/devnet/node-2/node.key" \
        --player-content "$content" --gateway-url "$gw" --price 100 --seconds 600)
player=$(sed -n 's/^session //p' <<<"$out")

heights=$(for i in 0 1 2 3; do grep -o 'committed height [0-9]*' "$root/devnet/node-$i/node.log" | tail -n 1 | awk '{print $3}'; done | tr '\n' ' ')
echo
echo "== summary"
echo "  4 validator processes over mutual TLS; committed heights per node: $heights"
echo "  transfer $txid"
echo "    committed at height $included (block shown above); the replay refused"
echo "  file $file_cid (3 MB, 12 chunks) stored with 2 replicas, read back identical from node-3"
echo "  job $job: $segments segments transcoded, PoE-checked and verified; receipts: poe-cli receipt show ID"
echo "  compute job $cjob: 2 tasks run inline, PoE-checked and verified (digests: poe-cli job status $cjob)"
echo "  notarization: $notarized receipts in LogBlocks, $headers PoE headers included (4 builders);"
echo "    mean inclusion latency $latency (admission to finalized block)"
echo "    rent: $flows"
echo "    $pools; winning PBS bids paid to proposers: $won"
echo "  playback: content $content at 100/s; channel $channel (node-1 → node-3's gateway) paid and collected;"
echo "    revenue $split"
echo "    playback receipt $receipt notarized: poe-cli receipt verify says"
echo "    $(cli receipt verify "$work/playback.proof" --genesis "$root/devnet/genesis.json" | sed -n 2p | sed 's/^ *//')"
echo "  player page (open it in a browser on this machine; it plays and pays per second from the browser):"
echo "    $player"
echo "  look further: tools/devnet status | logs | down;  poe-cli chain status|block N|account show ID"
echo "    poe-cli stat|get CID, poe-cli storage ls|usage|reputation, poe-cli job status $job"
echo "    poe-cli receipt prove ID --node 127.0.0.1:740N, receipt verify FILE --genesis $root/devnet/genesis.json"
echo "    poe-cli builder status --node ..., rent quote|flows"
echo "    (POE_NODE, POE_TLS_KEY, POE_TLS_CERT, POE_TLS_CA as above);  metrics http://127.0.0.1:9400..9403/metrics"
echo "demo: done. The devnet keeps running (logs: tools/devnet logs; stop: tools/devnet down)."
