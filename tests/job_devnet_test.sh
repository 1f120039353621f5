#!/usr/bin/env bash
# The execution pipeline across processes: 4 nodes over loopback TLS (tools/devnet), each a
# validator, a storage node, an executor and a verifier. The executors stake on chain; a 6 s
# 1280x720 clip made with the ffmpeg CLI is submitted with `poe-cli job submit`; every
# segment is verified (`poe-cli job status --wait`), receipts are readable (`poe-cli receipt
# show`), and ffprobe reads every rendition fetched back from storage at its resolution.
# Non-media is refused before upload.
#
#   tests/job_devnet_test.sh BUILD_DIR
#
# Ports 7980.. and 9980... The trap stops every node this test started, by recorded PID.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" job
cli="$(cd "$build/tools" && pwd)/poe-cli"
node=(--node 127.0.0.1:7980)

echo "== 4 nodes (validator, storage, execution, verifier) over TLS in $dir"
"$devnet" up -n 4 --dir "$dir" --build "$build" --base-port 7980 --metrics-base-port 9980 \
  --roles '["validator","storage","execution","verifier"]' --block-interval-ms 200 >/dev/null ||
  fail "devnet up failed"
remember
export POE_TLS_KEY="$dir/node-0/node.key" POE_TLS_CERT="$dir/node-0/node.crt" POE_TLS_CA="$dir/ca/ca.crt"

echo "== the executors stake"
for i in 0 1 2 3; do
  "$cli" tx stake --key "$dir/node-$i/node.key" --role executor --amount 1000 --fee 1 \
    --node "127.0.0.1:798$i" >/dev/null || fail "stake of node-$i"
done

echo "== a 6 s clip is submitted"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi \
  -i sine=frequency=440:sample_rate=48000 -t 6 -c:v libx264 -preset ultrafast -g 60 \
  -pix_fmt yuv420p -c:a aac -shortest "$dir/clip.mp4" || fail "ffmpeg could not make the clip"
job=$("$cli" job submit "$dir/clip.mp4" "${node[@]}" 2>/dev/null) || fail "job submit failed"
echo "  job $job"
"$cli" job status "$job" --wait 240 "${node[@]}" || fail "the job did not finish verified"
status=$("$cli" job status "$job" --json "${node[@]}")

echo "== receipts, and every rendition read back and probed"
python3 -c 'import json,sys
j=json.load(sys.stdin)
assert j["segments"] == 3 and j["verified"] == 3, j
for t in j["tasks"]:
    print(t["request"], " ".join(o["name"] + "=" + o["cid"] for o in t["outputs"]))' <<<"$status" > "$dir/outputs.txt" ||
  fail "unexpected status: $status"
while read -r request outputs; do
  "$cli" receipt show "$request" --json "${node[@]}" | grep -q '"kind": "transcode"' ||
    fail "no receipt for $request"
  for o in $outputs; do
    name=${o%%=*} cid=${o#*=}
    "$cli" get "$cid" -o "$dir/$request-$name" "${node[@]}" 2>/dev/null || fail "get $name of $request"
    got=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 \
            "$dir/$request-$name")
    got=${got%%$'\n'*} # the first line (no `| head`: its SIGPIPE would end the test)
    case "$name" in
      720p.ts) want="1280,720" ;; 480p.ts) want="854,480" ;; 360p.ts) want="640,360" ;;
      *) fail "unexpected output $name" ;;
    esac
    [ "$got" = "$want" ] || fail "$request $name: ffprobe says $got"
  done
done < "$dir/outputs.txt"
echo "  3 segments x 3 renditions probed"

echo "== non-media is refused before upload"
echo "not a video" > "$dir/junk.mp4"
rc=0; out=$("$cli" job submit "$dir/junk.mp4" "${node[@]}" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "junk: exit $rc"
echo "$out" | grep -q "not a media file" || fail "junk: $out"

echo "== down"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "job devnet test: ok"
