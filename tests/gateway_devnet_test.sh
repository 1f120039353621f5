#!/usr/bin/env bash
# HLS playback through the gateway role, with real clients: 6 poe-node processes over
# loopback TLS — 4 validators that also store and execute (node-0..3), a verifier (node-4) and
# a gateway (node-5, HTTP on 127.0.0.1:8665). A 4 s clip is transcoded, verified and published
# as content; then, over HTTP only:
#   - ffprobe reads the master playlist and finds every rendition with its resolution;
#   - ffmpeg decodes every variant's media playlist to the end (duration checked);
#   - the playlists say what RFC 8216 and Apple's authoring spec ask (BANDWIDTH, AVERAGE-
#     BANDWIDTH, RESOLUTION, CODECS, INDEPENDENT-SEGMENTS, TARGETDURATION, ENDLIST), with the
#     right media types, CORS and immutable caching;
#   - a Range request gets 206 and exactly those bytes (the same as the segment's bytes in
#     storage), an unsatisfiable one 416; OPTIONS 204 with CORS; unknown content 404, a
#     malformed path 400.
#
#   tests/gateway_devnet_test.sh BUILD_DIR
#
# Ports 7660..7665, 9660..9665 and 8665. The trap stops every node this test started, by PID.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" gateway
cli="$(cd "$build/tools" && pwd)/poe-cli"
val=(--node 127.0.0.1:7660)
gw=http://127.0.0.1:8665

echo "== 6 nodes: 4 validators (storage, execution), a verifier, a gateway, over TLS in $dir"
layout=()
for i in 0 1 2 3; do layout+=(--node-roles "$i=[\"validator\",\"storage\",\"execution\"]"); done
layout+=(--node-roles '4=["verifier"]' --node-roles '5=["gateway"]')
"$devnet" up -n 6 --dir "$dir" --build "$build" --base-port 7660 --metrics-base-port 9660 \
  --gateway-base-port 8660 "${layout[@]}" --block-interval-ms 200 --timeout 60 >/dev/null ||
  fail "devnet up failed"
remember
export POE_TLS_KEY="$dir/node-0/node.key" POE_TLS_CERT="$dir/node-0/node.crt" POE_TLS_CA="$dir/ca/ca.crt"

echo "== executors and the verifier stake; a 4 s clip is transcoded, verified and published"
for i in 0 1 2 3; do
  "$cli" tx stake --key "$dir/node-$i/node.key" --role executor --amount 1000 \
    --node "127.0.0.1:766$i" >/dev/null || fail "stake of node-$i"
done
"$cli" tx stake --key "$dir/node-4/node.key" --role verifier --amount 1000 "${val[@]}" >/dev/null ||
  fail "verifier stake of node-4"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi \
  -i sine=frequency=440:sample_rate=48000 -t 4 -c:v libx264 -preset ultrafast -g 60 \
  -pix_fmt yuv420p -c:a aac -shortest "$dir/clip.mp4" || fail "ffmpeg could not make the clip"
creator_tls=(--tls-key "$dir/node-4/node.key" --tls-cert "$dir/node-4/node.crt")
job=$("$cli" job submit "$dir/clip.mp4" --node 127.0.0.1:7664 --storage 127.0.0.1:7660 \
        "${creator_tls[@]}" 2>/dev/null) || fail "job submit failed"
"$cli" job status "$job" --wait 240 --node 127.0.0.1:7664 >/dev/null || fail "the job did not finish verified"
out=$("$cli" content publish "$job" --price-per-second 0 --key "$dir/node-4/node.key" \
        --verifier 127.0.0.1:7664 "${val[@]}") || fail "content publish: $out"
content=$(sed -n 's/^content \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
[ -n "$content" ] || fail "no content id in: $out"
master="$gw/content/$content/master.m3u8"

echo "== the gateway learns the content from the chain and serves its master playlist"
python3 - "$master" <<'PY' || fail "the master playlist was never served"
import sys, time, urllib.request, urllib.error
for _ in range(150):
    try:
        if urllib.request.urlopen(sys.argv[1], timeout=30).status == 200: sys.exit(0)
    except urllib.error.HTTPError as e:
        if e.code != 404: print(e.code, e.read().decode(), file=sys.stderr)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
PY

echo "== ffprobe reads the master playlist; ffmpeg decodes every variant to the end"
streams=$(ffprobe -v error -show_entries stream=codec_type,width,height -of csv=p=0 "$master") ||
  fail "ffprobe could not read $master"
echo "$streams" | grep -q "^video,1280,720" || fail "no 1280x720 variant: $streams"
echo "$streams" | grep -q "^video,640,360" || fail "no 640x360 variant: $streams"
variants=$(python3 - "$master" <<'PY'
import sys, urllib.request
for l in urllib.request.urlopen(sys.argv[1]).read().decode().splitlines():
    if l and not l.startswith("#"): print(l)
PY
)
[ "$(wc -l <<<"$variants")" -eq 3 ] || fail "expected 3 variants, got: $variants"
for v in $variants; do
  url="$gw/content/$content/$v"
  d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$url") || fail "ffprobe $url"
  python3 -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - 4.0) < 0.3 else 1)' "$d" ||
    fail "$v lasts $d s, not 4"
  frames=$(ffmpeg -nostdin -v error -i "$url" -map 0:v -f null - -progress - 2>&1 | sed -n 's/^frame=//p' | tail -1)
  [ "${frames:-0}" -ge 110 ] || fail "$v decoded $frames frames, expected about 120"
  echo "  $v: $d s, $frames frames decoded"
done

echo "== playlists, headers, ranges and errors"
python3 - "$gw" "$content" <<'PY' || fail "HTTP checks failed"
import http.client, re, sys
host, content = sys.argv[1].removeprefix("http://"), sys.argv[2]
def get(path, method="GET", headers={}):
    c = http.client.HTTPConnection(host, timeout=30)
    c.request(method, path, headers=headers)
    r = c.getresponse()
    return r, r.read()
base = f"/content/{content}"
r, body = get(base + "/master.m3u8")
m = body.decode()
assert r.getheader("Content-Type") == "application/vnd.apple.mpegurl", r.getheaders()
assert r.getheader("Access-Control-Allow-Origin") == "*"
assert "immutable" in r.getheader("Cache-Control")
assert m.startswith("#EXTM3U\n") and "#EXT-X-INDEPENDENT-SEGMENTS" in m, m
infs = re.findall(r"#EXT-X-STREAM-INF:BANDWIDTH=(\d+),AVERAGE-BANDWIDTH=(\d+),RESOLUTION=(\d+)x(\d+),"
                  r'CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"\n(\S+)\.m3u8', m)
assert len(infs) == 3, m
assert all(int(peak) >= int(avg) > 0 for peak, avg, *_ in infs), m
assert [int(p) for p, *_ in infs] == sorted((int(p) for p, *_ in infs), reverse=True), m
name = infs[0][4]
r, body = get(f"{base}/{name}.m3u8")
p = body.decode()
assert p.endswith("#EXT-X-ENDLIST\n") and "#EXT-X-PLAYLIST-TYPE:VOD" in p, p
target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", p).group(1))
durs = [float(x) for x in re.findall(r"#EXTINF:([\d.]+),", p)]
assert durs and all(round(d) <= target for d in durs), p
assert abs(sum(durs) - 4.0) < 0.3, durs
seg = re.findall(r"\n(\S+\.ts)\n", p)[0]
r, whole = get(f"{base}/{seg}")
assert r.status == 200 and r.getheader("Content-Type") == "video/mp2t" and whole[0] == 0x47, r.status
r, part = get(f"{base}/{seg}", headers={"Range": "bytes=188-375"})
assert r.status == 206 and part == whole[188:376], (r.status, len(part))
assert r.getheader("Content-Range") == f"bytes 188-375/{len(whole)}", r.getheader("Content-Range")
r, part = get(f"{base}/{seg}", headers={"Range": "bytes=-188"})
assert r.status == 206 and part == whole[-188:]
r, _ = get(f"{base}/{seg}", headers={"Range": f"bytes={len(whole)}-"})
assert r.status == 416 and r.getheader("Content-Range") == f"bytes */{len(whole)}", r.status
r, body = get(f"{base}/{seg}", method="HEAD")
assert r.status == 200 and int(r.getheader("Content-Length")) == len(whole) and body == b""
r, _ = get(f"{base}/master.m3u8", method="OPTIONS", headers={"Origin": "http://player.example",
                                                            "Access-Control-Request-Method": "GET"})
assert r.status == 204 and r.getheader("Access-Control-Allow-Origin") == "*", r.status
assert "Range" in r.getheader("Access-Control-Allow-Headers")
r, body = get("/content/" + "ab" * 32 + "/master.m3u8")
assert r.status == 404 and r.getheader("Content-Type") == "application/problem+json", r.status
r, body = get(f"{base}/../../etc/passwd")
assert r.status in (400, 404), r.status
r, body = get(f"{base}/{name}/99999.ts")
assert r.status == 404, r.status
r, body = get("/content/xyz/master.m3u8")
assert r.status == 400, r.status
print(f"  3 variants, {len(durs)} segments of {name} (target {target} s), a {len(whole)}-byte segment; "
      "ranges 206/416, HEAD, OPTIONS, 404 and 400 as expected")
PY

echo "== the segments served are the bytes storage holds (checked against their CIDs)"
seg_cid=$("$cli" job status "$job" --json --node 127.0.0.1:7664 | python3 -c '
import json, sys
t = json.load(sys.stdin)["tasks"][0]
print([o["cid"] for o in t["outputs"] if o["name"] == "720p.ts"][0])')
"$cli" get "$seg_cid" -o "$dir/seg0.ts" "${val[@]}" || fail "poe-cli get $seg_cid"
python3 - "$gw/content/$content/720p/0.ts" "$dir/seg0.ts" <<'PY' || fail "the gateway's segment differs from storage's"
import sys, urllib.request
assert urllib.request.urlopen(sys.argv[1]).read() == open(sys.argv[2], "rb").read()
PY

echo "== down"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "gateway devnet test: ok"
