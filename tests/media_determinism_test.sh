#!/usr/bin/env bash
# Determinism across processes: a 10 s 720p clip made with the ffmpeg CLI is split by
# `poe-cli media split`; one segment is transcoded into the default ladder by two separate
# `poe-cli media transcode` processes, which must print identical SHA-256s; ffprobe reads
# every rendition with the expected codec, resolution and duration.
#
#   tests/media_determinism_test.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR}
cli="$(cd "$build/tools" && pwd)/poe-cli"
dir=$(mktemp -d "${TMPDIR:-/tmp}/poe-media-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== a 10 s 1280x720 clip (testsrc2 + sine, H.264 + AAC, keyframe every 2 s)"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi \
  -i sine=frequency=440:sample_rate=48000 -t 10 -c:v libx264 -preset ultrafast -g 60 \
  -pix_fmt yuv420p -c:a aac -shortest "$dir/clip.mp4" || fail "ffmpeg could not make the clip"
"$cli" media probe "$dir/clip.mp4"
"$cli" media split "$dir/clip.mp4" --out "$dir/segs" --segment-ms 2000 >/dev/null ||
  fail "split failed"
[ "$(ls "$dir/segs" | wc -l)" -eq 5 ] || fail "expected 5 segments: $(ls "$dir/segs")"

echo "== the same segment transcoded by two processes"
"$cli" media transcode "$dir/segs/seg-002.ts" --out "$dir/a" > "$dir/a.txt" || fail "transcode a"
"$cli" media transcode "$dir/segs/seg-002.ts" --out "$dir/b" > "$dir/b.txt" || fail "transcode b"
cat "$dir/a.txt"
cmp -s "$dir/a.txt" "$dir/b.txt" || fail "the two processes disagree: $(diff "$dir/a.txt" "$dir/b.txt")"

echo "== ffprobe reads every rendition"
for r in 720p:1280x720 480p:854x480 360p:640x360; do
  name=${r%%:*} size=${r#*:}
  got=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height \
          -of csv=p=0 "$dir/a/$name.ts")
  got=${got%%$'\n'*} # the first line (no `| head`: under pipefail its SIGPIPE would end the test)
  [ "$got" = "h264,${size%x*},${size#*x}" ] || fail "$name: ffprobe says '$got'"
  dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$dir/a/$name.ts")
  python3 -c 'import sys; d=float(sys.argv[1]); sys.exit(0 if abs(d-2.0) < 0.1 else 1)' "$dur" ||
    fail "$name lasts $dur s, expected 2 s"
  echo "  $name: $got, ${dur} s"
done

echo "== non-media is refused with a reason"
echo "not a video" > "$dir/text.mp4"
out=$("$cli" media probe "$dir/text.mp4" 2>&1) && fail "a text file was accepted"
echo "$out" | grep -q "not a media file" || fail "unexpected message: $out"
echo "media determinism test: ok"
