#!/usr/bin/env bash
# The execution pipeline across processes, in the topology of issue 6: 10 poe-node processes
# over loopback TLS (tools/devnet --node-roles) — 4 validators (node-0..3), 2 storage nodes
# (node-4, node-5), 3 executors (node-6..8) and a verifier (node-9). The executors (and the
# verifier, whose signed tasks they run) stake on
# chain; a 20 s 1280x720 clip made with the ffmpeg CLI is uploaded to node-4 and submitted to
# the verifier with `poe-cli job submit`; every segment is verified (`poe-cli job status
# --wait`), receipts are readable (`poe-cli receipt show`), and ffprobe reads every rendition,
# fetched back from the other storage node, at its resolution and its segment's duration
# (the 720p renditions' video adds up to the clip's 20 s). Non-media is refused before upload.
#
#   tests/job_devnet_test.sh BUILD_DIR
#
# Ports 7980..7989 and 9980..9989. The trap stops every node this test started, by PID.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" job
cli="$(cd "$build/tools" && pwd)/poe-cli"
node=(--node 127.0.0.1:7989)     # the verifier (jobs, receipts)
store_in=(--node 127.0.0.1:7984)  # uploads
store_out=(--node 127.0.0.1:7985) # reads, from the other storage node

echo "== 10 nodes: 4 validators, 2 storage, 3 execution, 1 verifier, over TLS in $dir"
layout=()
for i in 0 1 2 3; do layout+=(--node-roles "$i=[\"validator\"]"); done
for i in 4 5; do layout+=(--node-roles "$i=[\"storage\"]"); done
for i in 6 7 8; do layout+=(--node-roles "$i=[\"execution\"]"); done
layout+=(--node-roles '9=["verifier"]')
"$devnet" up -n 10 --dir "$dir" --build "$build" --base-port 7980 --metrics-base-port 9980 \
  "${layout[@]}" --block-interval-ms 200 --timeout 60 >/dev/null || fail "devnet up failed"
remember
export POE_TLS_KEY="$dir/node-0/node.key" POE_TLS_CERT="$dir/node-0/node.crt" POE_TLS_CA="$dir/ca/ca.crt"

echo "== the executors and the verifier stake (through validator node-0)"
for i in 6 7 8; do
  "$cli" tx stake --key "$dir/node-$i/node.key" --role executor --amount 1000 --fee 1 \
    --node 127.0.0.1:7980 >/dev/null || fail "stake of node-$i"
done
# Executors run only tasks a staked verifier signed.
"$cli" tx stake --key "$dir/node-9/node.key" --role verifier --amount 1000 --fee 1 \
  --node 127.0.0.1:7980 >/dev/null || fail "verifier stake of node-9"

echo "== a 20 s clip is uploaded to node-4 and submitted to the verifier"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi \
  -i sine=frequency=440:sample_rate=48000 -t 20 -c:v libx264 -preset ultrafast -g 60 \
  -pix_fmt yuv420p -c:a aac -shortest "$dir/clip.mp4" || fail "ffmpeg could not make the clip"
job=$("$cli" job submit "$dir/clip.mp4" "${node[@]}" --storage 127.0.0.1:7984 2>/dev/null) ||
  fail "job submit failed"
echo "  job $job"
"$cli" job status "$job" --wait 400 "${node[@]}" || fail "the job did not finish verified"
status=$("$cli" job status "$job" --json "${node[@]}")

echo "== receipts, and every rendition read back and probed"
python3 -c 'import json,sys
j=json.load(sys.stdin)
assert j["segments"] == 10 and j["verified"] == 10, j
for t in j["tasks"]:
    print(t["request"], " ".join(o["name"] + "=" + o["cid"] for o in t["outputs"]))' <<<"$status" > "$dir/outputs.txt" ||
  fail "unexpected status: $status"
total=0
while read -r request outputs; do
  "$cli" receipt show "$request" --json "${node[@]}" | grep -q '"kind": "transcode"' ||
    fail "no receipt for $request"
  for o in $outputs; do
    name=${o%%=*} cid=${o#*=}
    "$cli" get "$cid" -o "$dir/$request-$name" "${store_out[@]}" 2>/dev/null ||
      fail "get $name of $request from node-5"
    got=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 \
            "$dir/$request-$name")
    got=${got%%$'\n'*} # the first line (no `| head`: its SIGPIPE would end the test)
    # the video stream's duration (the audio's runs up to one AAC frame past the cut)
    secs=$(ffprobe -v error -select_streams v:0 -show_entries stream=duration -of csv=p=0 \
             "$dir/$request-$name")
    secs=${secs%%$'\n'*}
    python3 -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - 2) <= 0.034 else 1)' \
      "$secs" || fail "$request $name: ffprobe says $secs s (segments are 2 s = 60 frames)"
    [ "$name" != 720p.ts ] || total=$(python3 -c "print($total + $secs)")
    case "$name" in
      720p.ts) want="1280,720" ;; 480p.ts) want="854,480" ;; 360p.ts) want="640,360" ;;
      *) fail "unexpected output $name" ;;
    esac
    [ "$got" = "$want" ] || fail "$request $name: ffprobe says $got"
  done
done < "$dir/outputs.txt"
python3 -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - 20) <= 0.034 else 1)' "$total" ||
  fail "the 720p renditions add up to $total s, not 20 s"
echo "  10 segments x 3 renditions probed (720p: $total s in all)"

echo "== non-media is refused before upload"
echo "not a video" > "$dir/junk.mp4"
rc=0; out=$("$cli" job submit "$dir/junk.mp4" "${node[@]}" --storage 127.0.0.1:7984 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "junk: exit $rc"
echo "$out" | grep -q "not a media file" || fail "junk: $out"

echo "== down"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "job devnet test: ok"
