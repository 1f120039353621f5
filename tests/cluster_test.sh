#!/usr/bin/env bash
# The whole pipeline across seven hosts (network namespaces this test makes, 10.79.0.0/24, the
# profiles of configs/cluster/seven-hosts.json: 15 poe-node processes), then each kind of host
# cut off and healed in turn, the times printed:
#   - executors, the verifier, the builders and the gateway stake; a 6 s clip is uploaded to
#     storage on h1, transcoded by executors on h1, h2 and h6, verified on h4 and its receipts
#     notarized by the builders on h4 and h7 in PoE headers the validators include;
#   - the content is published; a viewer opens a channel to the gateway on h7 and
#     `poe-cli watch` plays and pays 4 s over HTTP to the gateway's host address;
#   - a validator host (h3) cut: the others see it gone, the chain goes on with 3 of 4
#     validators; healed, validator-3 catches up with the same block ids at every height of
#     the cut;
#   - a storage host (h5) cut: the two storage nodes left restore two copies of every chunk
#     of the source (each holds them all); healed, storage-3 is back;
#   - an executor host (h6) cut: a new job finishes verified on the executors left (none of
#     its tasks ran on h6); healed, execution-2 is back.
# Skips (exit 77) where network namespaces are refused (not root, no iproute2).
#
#   tests/cluster_test.sh BUILD_DIR
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cluster="$src/tools/cluster"
cli="$build/tools/poe-cli"
dir=$(mktemp -d "${TMPDIR:-/tmp}/poe-cluster-test.XXXXXX")
prefix=poect
cleanup() {
  local rc=$?
  if [ -f "$dir/cluster.json" ]; then
    [ "$rc" -eq 0 ] || "$cluster" logs --dir "$dir" 2>/dev/null | tail -n 200 || true
    "$cluster" down --dir "$dir" >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

echo "== seven hosts as network namespaces (configs/cluster/seven-hosts.json)"
rc=0
"$cluster" up --manifest "$src/configs/cluster/seven-hosts.json" --dir "$dir" --build "$build" \
  --prefix "$prefix" --subnet 10.79.0 --timeout 180 || rc=$?
if [ "$rc" -eq 77 ]; then echo "SKIP: network namespaces are not available here"; exit 77; fi
[ "$rc" -eq 0 ] || fail "cluster up failed"
addr() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
n=[x for x in d["nodes"] if x["name"]==sys.argv[2]][0]; print("%s:%d" % (n["addr"], n["port"]))' "$dir/cluster.json" "$1"; }
key() { echo "$dir/$1/$2/keys/node.key"; }
id_of() { openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha256 -r | cut -c1-64; }
v1=$(addr validator-1)
export POE_TLS_KEY="$dir/h1/validator-1/keys/node.key" POE_TLS_CERT="$dir/h1/validator-1/certs/node.crt" \
       POE_TLS_CA="$dir/ca/ca.crt"

echo "== stakes: executors, the verifier, the builders, the gateway"
for x in h1/execution-1:executor h6/execution-2:executor h2/execution-3:executor h4/verifier-1:verifier \
         h4/builder-1:builder h7/builder-2:builder h7/gateway-1:gateway; do
  node=${x%%:*}
  "$cli" tx stake --key "$dir/$node/keys/node.key" --role "${x##*:}" --amount 1000 --node "$v1" >/dev/null ||
    fail "stake of $node"
done

echo "== a 6 s clip: stored on h1, transcoded on h1, h2 and h6, verified on h4, notarized by h4 and h7"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi \
  -i sine=frequency=440:sample_rate=48000 -t 6 -c:v libx264 -preset ultrafast -g 60 \
  -pix_fmt yuv420p -c:a aac -shortest "$dir/clip.mp4" || fail "ffmpeg could not make the clip"
verifier=$(addr verifier-1)
owner_tls=(--tls-key "$dir/h4/verifier-1/keys/node.key" --tls-cert "$dir/h4/verifier-1/certs/node.crt")
t0=$(now_ms)
job=$("$cli" job submit "$dir/clip.mp4" --node "$verifier" --storage "$(addr storage-1)" "${owner_tls[@]}" 2>/dev/null) ||
  fail "job submit"
"$cli" job status "$job" --wait 300 --node "$verifier" >/dev/null || fail "job $job did not finish verified"
segments=$("$cli" job status "$job" --json --node "$verifier" | python3 -c 'import json,sys; print(json.load(sys.stdin)["segments"])')
echo "  job $job: $segments segments verified in $(( $(now_ms) - t0 )) ms"
included=0
for _ in $(seq 300); do
  included=0
  for b in builder-1 builder-2; do
    n=$("$cli" builder status --node "$(addr $b)" 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin).get("receipts_included", 0))' 2>/dev/null || echo 0)
    included=$((included + n))
  done
  [ "$included" -ge "$segments" ] && break
  sleep 0.5
done
[ "$included" -ge "$segments" ] || fail "only $included of $segments receipts notarized"
echo "  $included receipts notarized in PoE headers the validators included"

echo "== published; a viewer pays the gateway on h7 and watches over HTTP"
out=$("$cli" content publish "$job" --price-per-second 1000 --key "$dir/h4/verifier-1/keys/node.key" \
        --verifier "$verifier" --node "$v1") || fail "content publish: $out"
content=$(sed -n 's/^content \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
gateway_id=$(id_of "$(key h7 gateway-1)")
out=$("$cli" channel open --payee "$gateway_id" --deposit 100000 --expiry-blocks 5000 \
        --key "$(key h1 validator-1)" --node "$v1") || fail "channel open: $out"
channel=$(sed -n 's/^channel \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
for _ in $(seq 100); do "$cli" channel status "$channel" --node "$v1" >/dev/null 2>&1 && break; sleep 0.2; done
gw_http=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
n=[x for x in d["nodes"] if x["name"]=="gateway-1"][0]; print("http://%s:%d" % (n["addr"], n["gateway"]))' "$dir/cluster.json")
master=$("$cli" channel token "$channel" --content "$content" --gateway "$gateway_id" --url "$gw_http" \
           --key "$(key h1 validator-1)") || fail "channel token"
for _ in $(seq 150); do
  python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)' "$master" 2>/dev/null && break
  sleep 0.2
done
watched=$("$cli" watch "$master" --seconds 4 --key "$(key h1 validator-1)") || fail "poe-cli watch"
grep -q "^watched 4 s of" <<<"$watched" || fail "watch: $watched"
echo "  $watched"

echo "== cut h3 (validator-3): the others see it gone, the chain goes on"
height() { "$cli" chain status --json --node "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])'; }
peers_of() { python3 - "$dir/cluster.json" "$1" <<'PY'
import json, re, sys, urllib.request
d = json.load(open(sys.argv[1]))
n = [x for x in d["nodes"] if x["name"] == sys.argv[2]][0]
text = urllib.request.urlopen("http://%s:%d/metrics" % (n["addr"], n["metrics"]), timeout=3).read().decode()
print(int(float(re.search(r"^poe_peers_connected (\S+)", text, re.M).group(1))))
PY
}
total=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["nodes"]))' "$dir/cluster.json")
h_cut=$(height "$v1")
t_cut=$(now_ms)
"$cluster" cut h3 --dir "$dir" >/dev/null
until [ "$(peers_of validator-1)" -le $((total - 2)) ]; do
  [ $(( $(now_ms) - t_cut )) -lt 30000 ] || fail "validator-1 still counts h3's nodes 30 s after the cut"
  sleep 0.1
done
seen=$(( $(now_ms) - t_cut ))
until [ "$(height "$v1")" -ge $((h_cut + 10)) ]; do
  [ $(( $(now_ms) - t_cut )) -lt 60000 ] || fail "the chain did not go on without h3 (height $(height "$v1"), cut at $h_cut)"
  sleep 0.2
done
echo "  h3's nodes seen gone after $seen ms; the chain went from $h_cut to $(height "$v1") with 3 of 4 validators"

echo "== heal h3: its nodes are back and validator-3 catches up with the same blocks"
h_heal=$(height "$v1")
t_heal=$(now_ms)
"$cluster" heal h3 --dir "$dir" >/dev/null
v3=$(addr validator-3)
until [ "$(peers_of validator-3 2>/dev/null || echo 0)" -eq $((total - 1)) ]; do
  [ $(( $(now_ms) - t_heal )) -lt 60000 ] || fail "validator-3 not meshed 60 s after the heal"
  sleep 0.1
done
meshed=$(( $(now_ms) - t_heal ))
until [ "$(height "$v3" || echo 0)" -ge "$h_heal" ]; do
  [ $(( $(now_ms) - t_heal )) -lt 60000 ] || fail "validator-3 at $(height "$v3") 60 s after the heal, the chain at $h_heal"
  sleep 0.1
done
caught=$(( $(now_ms) - t_heal ))
for h in $(seq "$h_cut" "$h_heal"); do
  ids=$(for v in validator-1 validator-2 validator-3 validator-4; do
          "$cli" chain block "$h" --json --node "$(addr $v)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
        done | sort -u | wc -l)
  [ "$ids" = 1 ] || fail "height $h: the validators hold $ids different blocks"
done
"$cluster" status --dir "$dir" >/dev/null || fail "cluster status is not ok after the heal"
echo "  healed: meshed again after $meshed ms, validator-3 at the tip after $caught ms;" \
     "heights $h_cut..$h_heal identical on all 4 validators"

# wait_meshed NODE T0 LABEL: until NODE counts every other node as a peer again; the ms since T0.
wait_meshed() {
  until [ "$(peers_of "$1" 2>/dev/null || echo 0)" -eq $((total - 1)) ]; do
    [ $(( $(now_ms) - $2 )) -lt 60000 ] || fail "$1 not meshed 60 s after the heal"
    sleep 0.1
  done
  echo $(( $(now_ms) - $2 ))
}

echo "== cut h5 (storage-3, rent-1): the storage nodes left restore two copies of the source"
source_cid=$("$cli" job status "$job" --json --node "$verifier" | python3 -c 'import json,sys; print(json.load(sys.stdin)["source"])')
holds_all() { "$cli" stat "$source_cid" --json --node "$(addr "$1")" 2>/dev/null |
              python3 -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if j["chunks_here"] == j["chunks"] > 0 else 1)' 2>/dev/null; }
t_cut=$(now_ms)
"$cluster" cut h5 --dir "$dir" >/dev/null
until holds_all storage-1 && holds_all storage-2; do
  [ $(( $(now_ms) - t_cut )) -lt 90000 ] || fail "storage-1 and storage-2 do not both hold the source 90 s after the cut"
  sleep 0.5
done
restored=$(( $(now_ms) - t_cut ))
t_heal=$(now_ms)
"$cluster" heal h5 --dir "$dir" >/dev/null
meshed=$(wait_meshed storage-3 "$t_heal")
echo "  two copies of every chunk of $source_cid on storage-1 and storage-2 $restored ms after the cut;" \
     "storage-3 meshed again $meshed ms after the heal"

echo "== cut h6 (execution-2): a new job finishes on the executors left"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=640x360:rate=30 -t 4 -c:v libx264 -preset ultrafast -g 60 \
  -pix_fmt yuv420p "$dir/clip2.mp4" || fail "ffmpeg could not make the second clip"
gone=$(id_of "$(key h6 execution-2)")
t_cut=$(now_ms)
"$cluster" cut h6 --dir "$dir" >/dev/null
until [ "$(peers_of verifier-1)" -le $((total - 2)) ]; do
  [ $(( $(now_ms) - t_cut )) -lt 30000 ] || fail "the verifier still counts execution-2 30 s after the cut"
  sleep 0.1
done
seen=$(( $(now_ms) - t_cut ))
job2=$("$cli" job submit "$dir/clip2.mp4" --node "$verifier" --storage "$(addr storage-1)" "${owner_tls[@]}" 2>/dev/null) ||
  fail "job submit with h6 cut"
"$cli" job status "$job2" --wait 300 --node "$verifier" >/dev/null || fail "job $job2 did not finish verified with h6 cut"
done_ms=$(( $(now_ms) - t_cut ))
for r in $("$cli" job status "$job2" --json --node "$verifier" | python3 -c '
import json, sys
for t in json.load(sys.stdin)["tasks"]: print(t["request"])'); do
  ex=$("$cli" receipt show "$r" --json --node "$verifier" | python3 -c 'import json,sys; print(json.load(sys.stdin)["executor"])')
  [ "$ex" != "$gone" ] || fail "task $r of job $job2 ran on execution-2, which was cut off"
done
t_heal=$(now_ms)
"$cluster" heal h6 --dir "$dir" >/dev/null
meshed=$(wait_meshed execution-2 "$t_heal")
"$cluster" status --dir "$dir" >/dev/null || fail "cluster status is not ok at the end"
echo "  the verifier saw execution-2 gone after $seen ms; job $job2 verified on the others $done_ms ms after" \
     "the cut; execution-2 meshed again $meshed ms after the heal"
echo "cluster test: ok"
