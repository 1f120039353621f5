#!/usr/bin/env bash
# Sets up what `poe-bench gateway` measures: a devnet of 6 TLS nodes — 4 validators that store
# and execute, a verifier and builder (node-4), a gateway with its channel role (node-5) — two
# 12 s clips transcoded and published, one free and one at 1 a second, and a channel from
# node-0's key to the gateway's node. Prints KEY=VALUE lines for the benchmark.
#
#   gateway_setup.sh BUILD DIR BASE_PORT GATEWAY_THREADS KEEP_ALIVE_S
set -euo pipefail
trap 'echo "gateway setup: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
build=$1 dir=$2 port=$3 threads=$4 keep_alive=$5
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cli="$build/tools/poe-cli"
val=(--node "127.0.0.1:$port")
layout=()
for i in 0 1 2 3; do layout+=(--node-roles "$i=[\"validator\",\"storage\",\"execution\"]"); done
layout+=(--node-roles '4=["verifier","builder"]' --node-roles '5=["channel","gateway"]')
"$src/tools/devnet" up -n 6 --dir "$dir" --build "$build" --base-port "$port" \
  --metrics-base-port $((port + 2000)) --gateway-base-port $((port + 1000)) "${layout[@]}" \
  --block-interval-ms 200 --timeout 60 --node-arg="--gateway.threads=$threads" \
  --node-arg="--gateway.keep-alive-s=$keep_alive" >/dev/null
export POE_TLS_KEY="$dir/node-0/node.key" POE_TLS_CERT="$dir/node-0/node.crt" POE_TLS_CA="$dir/ca/ca.crt"
for i in 0 1 2 3; do
  "$cli" tx stake --key "$dir/node-$i/node.key" --role executor --amount 1000 --node "127.0.0.1:$((port + i))" >/dev/null
done
# Two transactions of one sender in a row: explicit nonces (the default reads the committed one).
node4=$(openssl pkey -pubin -in "$dir/node-4/node.pub" -outform DER | openssl dgst -sha256 -r | cut -c1-64)
nonce=$("$cli" account show "$node4" --json "${val[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nonce"])')
"$cli" tx stake --key "$dir/node-4/node.key" --role verifier --amount 1000 --nonce "$nonce" "${val[@]}" >/dev/null
"$cli" tx stake --key "$dir/node-4/node.key" --role builder --amount 1000 --nonce $((nonce + 1)) "${val[@]}" >/dev/null
"$cli" tx stake --key "$dir/node-5/node.key" --role gateway --amount 1000 "${val[@]}" >/dev/null
tls=(--tls-key "$dir/node-4/node.key" --tls-cert "$dir/node-4/node.crt")
jobs=()
for pattern in testsrc2 smptebars; do
  ffmpeg -nostdin -v error -f lavfi -i "$pattern=size=1280x720:rate=30" -f lavfi \
    -i sine=frequency=440:sample_rate=48000 -t 12 -c:v libx264 -preset ultrafast -g 60 \
    -pix_fmt yuv420p -c:a aac -shortest "$dir/$pattern.mp4"
  jobs+=("$("$cli" job submit "$dir/$pattern.mp4" --node "127.0.0.1:$((port + 4))" --storage "127.0.0.1:$port" "${tls[@]}" 2>/dev/null)")
done
contents=()
for k in 0 1; do
  "$cli" job status "${jobs[$k]}" --wait 300 --node "127.0.0.1:$((port + 4))" >"$dir/job$k.txt" ||
    { echo "gateway setup: job ${jobs[$k]} did not finish verified:" >&2; cat "$dir/job$k.txt" >&2; exit 1; }
  out=$("$cli" content publish "${jobs[$k]}" --price-per-second "$k" --key "$dir/node-4/node.key" \
          --verifier "127.0.0.1:$((port + 4))" "${val[@]}")
  contents+=("$(sed -n 's/^content \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")")
done
gateway=$(openssl pkey -pubin -in "$dir/node-5/node.pub" -outform DER | openssl dgst -sha256 -r | cut -c1-64)
out=$("$cli" channel open --payee "$gateway" --deposit 100000000 --expiry-blocks 100000 \
        --key "$dir/node-0/node.key" "${val[@]}")
channel=$(sed -n 's/^channel \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
for _ in $(seq 100); do "$cli" channel status "$channel" "${val[@]}" >/dev/null 2>&1 && break; sleep 0.2; done
echo "free=${contents[0]}"
echo "paid=${contents[1]}"
echo "channel=$channel"
echo "gateway=$gateway"
