#!/usr/bin/env bash
# cluster-demo — the main job on a cluster of hosts: brings up configs/cluster/seven-hosts.json
# over network namespaces (tools/cluster: 7 hosts on 10.77.0.0/24, 15 poe-node processes
# running role profiles), then runs the pipeline across them — stakes, a clip stored on h1,
# transcoded on h1/h2/h6, verified on h4, notarized by the builders on h4 and h7, published at
# 100 a second, paid for by a viewer and watched through the gateway on h7 — and prints where
# to look. The cluster keeps running (tools/cluster status|cut|heal|down --dir DIR).
#
#   sudo tools/cluster-demo.sh [--build BUILD] [--dir DIR]     (default ./build, ./cluster)
#
# Needs root (network namespaces) and a build (README: tools/install-deps.sh, cmake).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$src/build" dir="$src/cluster"
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster-demo: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
build=$(cd "$build" && pwd)
cli="$build/tools/poe-cli"
die() { echo "cluster-demo: $*" >&2; exit 1; }

echo "== seven hosts (network namespaces on 10.77.0.0/24), each running role profiles from configs/"
"$src/tools/cluster" down --dir "$dir" >/dev/null 2>&1 || true
rm -rf "$dir"/h*/*/data # a new chain each run (keys and certificates are kept)
"$src/tools/cluster" up --manifest "$src/configs/cluster/seven-hosts.json" --dir "$dir" --build "$build"
node() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
n=[x for x in d["nodes"] if x["name"]==sys.argv[2]][0]
print({"addr": "%s:%d" % (n["addr"], n["port"]), "dir": n["dir"], "http": "http://%s:%s" % (n["addr"], n["gateway"])}[sys.argv[3]])' \
  "$dir/cluster.json" "$1" "$2"; }
key() { echo "$(node "$1" dir)/keys/node.key"; }
id_of() { openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha256 -r | cut -c1-64; }
v1=$(node validator-1 addr)
export POE_TLS_KEY="$(key validator-1)" POE_TLS_CERT="$(node validator-1 dir)/certs/node.crt" POE_TLS_CA="$dir/ca/ca.crt"

echo "== stakes: executors (h1, h6, h2), the verifier (h4), the builders (h4, h7), the gateway (h7)"
for x in execution-1:executor execution-2:executor execution-3:executor verifier-1:verifier builder-1:builder \
         builder-2:builder gateway-1:gateway; do
  "$cli" tx stake --key "$(key "${x%%:*}")" --role "${x##*:}" --amount 1000 --node "$v1" >/dev/null || die "stake of ${x%%:*}"
done

echo "== a 6 s 640x360 clip: stored on h1, transcoded by the executors, verified on h4"
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
  -t 6 -c:v libx264 -preset ultrafast -g 60 -pix_fmt yuv420p -c:a aac -shortest "$dir/clip.mp4" || die "ffmpeg"
verifier=$(node verifier-1 addr)
creator=(--tls-key "$(key verifier-1)" --tls-cert "$(node verifier-1 dir)/certs/node.crt")
job=$("$cli" job submit "$dir/clip.mp4" --node "$verifier" --storage "$(node storage-1 addr)" "${creator[@]}" 2>/dev/null) ||
  die "job submit"
"$cli" job status "$job" --wait 300 --node "$verifier" || die "job $job did not finish verified"

echo "== published at 100 a second; a viewer (validator-1's key) pays the gateway on h7 and watches 6 s"
out=$("$cli" content publish "$job" --price-per-second 100 --key "$(key verifier-1)" --verifier "$verifier" --node "$v1") ||
  die "content publish: $out"
content=$(sed -n 's/^content \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
gateway=$(id_of "$(key gateway-1)")
out=$("$cli" channel open --payee "$gateway" --deposit 10000 --expiry-blocks 5000 --key "$(key validator-1)" --node "$v1") ||
  die "channel open: $out"
channel=$(sed -n 's/^channel \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
for _ in $(seq 100); do "$cli" channel status "$channel" --node "$v1" >/dev/null 2>&1 && break; sleep 0.2; done
master=$("$cli" channel token "$channel" --content "$content" --gateway "$gateway" --url "$(node gateway-1 http)" \
           --key "$(key validator-1)") || die "channel token"
for _ in $(seq 150); do
  python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)' "$master" 2>/dev/null && break
  sleep 0.2
done
"$cli" watch "$master" --seconds 6 --key "$(key validator-1)" || die "watch"

echo "== summary"
"$src/tools/cluster" status --dir "$dir" || true
echo "  job $job: its receipts notarized by the builders on h4 and h7 (poe-cli builder status --node $(node builder-1 addr))"
echo "  content $content, channel $channel (validator-1 → gateway-1 on h7)"
echo "  playlist: $master"
echo "  poe-cli: POE_TLS_KEY=$POE_TLS_KEY POE_TLS_CERT=$POE_TLS_CERT POE_TLS_CA=$POE_TLS_CA"
echo "  partitions: tools/cluster cut h3 --dir $dir; tools/cluster heal h3 --dir $dir"
echo "  prometheus: tools/monitor up --dir $dir (console /consoles/poe.html)"
echo "cluster-demo: done. The cluster keeps running (stop: tools/cluster down --dir $dir)."
