#!/usr/bin/env bash
# HLS playback through the gateway role, with real clients: 6 poe-node processes over
# loopback TLS — 4 validators that also store and execute (node-0..3), a verifier (node-4) and
# a gateway with its channel role (node-5, HTTP on 127.0.0.1:8665). An 8 s clip is transcoded,
# verified and published as content at 1,000 a second; a viewer (node-0's key) opens a channel
# to the gateway's node and makes a playback token for it (`poe-cli channel token --url`);
# then, over HTTP only:
#   - a segment past the seconds paid (plus the 4 s credit) is answered 402 with the price and
#     how to pay; `poe-cli watch` commits a lane, pays one tick a second and fetches every
#     segment as a player would; the channel role holds the 8 ticks;
#   - without a token the content is refused (401); forged, foreign-gateway, wrong-content and
#     non-payer tokens are refused (401/403) and counted;
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
layout+=(--node-roles '4=["verifier"]' --node-roles '5=["channel","gateway"]')
"$devnet" up -n 6 --dir "$dir" --build "$build" --base-port 7660 --metrics-base-port 9660 \
  --gateway-base-port 8660 "${layout[@]}" --block-interval-ms 200 --timeout 60 >/dev/null ||
  fail "devnet up failed"
remember
export POE_TLS_KEY="$dir/node-0/node.key" POE_TLS_CERT="$dir/node-0/node.crt" POE_TLS_CA="$dir/ca/ca.crt"

echo "== executors and the verifier stake; an 8 s clip is transcoded, verified and published"
for i in 0 1 2 3; do
  "$cli" tx stake --key "$dir/node-$i/node.key" --role executor --amount 1000 \
    --node "127.0.0.1:766$i" >/dev/null || fail "stake of node-$i"
done
"$cli" tx stake --key "$dir/node-4/node.key" --role verifier --amount 1000 "${val[@]}" >/dev/null ||
  fail "verifier stake of node-4"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi \
  -i sine=frequency=440:sample_rate=48000 -t 8 -c:v libx264 -preset ultrafast -g 60 \
  -pix_fmt yuv420p -c:a aac -shortest "$dir/clip.mp4" || fail "ffmpeg could not make the clip"
creator_tls=(--tls-key "$dir/node-4/node.key" --tls-cert "$dir/node-4/node.crt")
job=$("$cli" job submit "$dir/clip.mp4" --node 127.0.0.1:7664 --storage 127.0.0.1:7660 \
        "${creator_tls[@]}" 2>/dev/null) || fail "job submit failed"
"$cli" job status "$job" --wait 240 --node 127.0.0.1:7664 >/dev/null || fail "the job did not finish verified"
out=$("$cli" content publish "$job" --price-per-second 1000 --key "$dir/node-4/node.key" \
        --verifier 127.0.0.1:7664 "${val[@]}") || fail "content publish: $out"
content=$(sed -n 's/^content \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
[ -n "$content" ] || fail "no content id in: $out"

echo "== a viewer (node-0's key) opens a channel to the gateway's node and makes a playback token"
id_of() { openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-64; }
gateway_id=$(id_of "$dir/node-5/node.pub")
out=$("$cli" channel open --payee "$gateway_id" --deposit 100000 --expiry-blocks 5000 \
        --key "$dir/node-0/node.key" "${val[@]}") || fail "channel open: $out"
channel=$(sed -n 's/^channel \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
for _ in $(seq 100); do "$cli" channel status "$channel" "${val[@]}" >/dev/null 2>&1 && break; sleep 0.2; done
token_url() { "$cli" channel token "$channel" --content "$content" --gateway "$gateway_id" --url "$gw" "$@"; }
master=$(token_url --key "$dir/node-0/node.key") || fail "channel token"
base=${master%/master.m3u8}

echo "== the gateway learns the content from the chain and serves its master playlist"
python3 - "$master" <<'PY' || fail "the master playlist was never served"
import sys, time, urllib.request, urllib.error
for _ in range(300):
    try:
        if urllib.request.urlopen(sys.argv[1], timeout=30).status == 200: sys.exit(0)
    except urllib.error.HTTPError as e:
        if e.code != 404: print(e.code, e.read().decode(), file=sys.stderr)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
PY

echo "== unpaid, a segment past the credit is refused with 402; poe-cli watch pays and plays"
python3 - "$base/720p/2.ts" <<'PY' || fail "no 402 before payment"
import json, sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=30)
    sys.exit(1)
except urllib.error.HTTPError as e:
    j = json.loads(e.read())
    assert e.code == 402 and j["price_per_second"] == "1000" and j["needed_seconds"] == 6, j
    assert j["paid_seconds"] == 0 and "ticks" in j["pay"], j
PY
watched=$("$cli" watch "$master" --key "$dir/node-0/node.key") || fail "poe-cli watch failed"
echo "  $watched"
grep -q "^watched 8 s of 720p: 4 segments, [0-9]* bytes; paid 8 ticks at 1000" <<<"$watched" || fail "watch: $watched"
held=$("$cli" channel status "$channel" --json --payee-node 127.0.0.1:7665 "${val[@]}" |
       python3 -c 'import json,sys; print(json.load(sys.stdin)["payee_view"]["owed"])')
[ "$held" = 8000 ] || fail "the gateway's channel role holds $held, not 8000"

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
  url="$base/$v"
  d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$url") || fail "ffprobe $url"
  python3 -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - 8.0) < 0.3 else 1)' "$d" ||
    fail "$v lasts $d s, not 8"
  frames=$(ffmpeg -nostdin -v error -i "$url" -map 0:v -f null - -progress - 2>&1 | sed -n 's/^frame=//p' | tail -1)
  [ "${frames:-0}" -ge 230 ] || fail "$v decoded $frames frames, expected about 240"
  echo "  $v: $d s, $frames frames decoded"
done

echo "== playlists, headers, ranges and errors"
python3 - "$gw" "$content" "${base#$gw}" <<'PY' || fail "HTTP checks failed"
import http.client, re, sys
host, content, base = sys.argv[1].removeprefix("http://"), sys.argv[2], sys.argv[3]
def get(path, method="GET", headers={}):
    c = http.client.HTTPConnection(host, timeout=30)
    c.request(method, path, headers=headers)
    r = c.getresponse()
    return r, r.read()
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
assert abs(sum(durs) - 8.0) < 0.3, durs
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
r, body = get(f"/content/{content}/master.m3u8")  # paid content without a token
assert r.status == 401 and r.getheader("Content-Type") == "application/problem+json", r.status
assert b"missing_token" in body, body
r, body = get("/content/" + "ab" * 32 + "/master.m3u8")
assert r.status == 404 and r.getheader("Content-Type") == "application/problem+json", r.status
r, body = get(f"{base}/../../etc/passwd")
assert r.status in (400, 404), r.status
r, body = get(f"{base}/{name}/99999.ts")
assert r.status == 404, r.status
r, body = get("/content/xyz/master.m3u8")
assert r.status == 400, r.status
token = base.split("/")[2]
forged = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
r, body = get(f"/t/{forged}/content/{content}/master.m3u8")
assert r.status == 401 and (b"forged_token" in body or b"malformed_token" in body), (r.status, body)
r, body = get(f"/t/{token}/content/{'cd' * 32}/master.m3u8")
assert r.status == 403 and b"wrong_content" in body, (r.status, body)
print(f"  3 variants, {len(durs)} segments of {name} (target {target} s), a {len(whole)}-byte segment; "
      "ranges 206/416, HEAD, OPTIONS, 404 and 400 as expected")
PY

echo "== tokens of another gateway or of someone who does not pay the channel are refused"
for case in gateway payer; do
  if [ "$case" = gateway ]; then
    url=$("$cli" channel token "$channel" --content "$content" --gateway "$(id_of "$dir/node-1/node.pub")" \
            --url "$gw" --key "$dir/node-0/node.key")
    want="403 wrong_gateway"
  else
    url=$(token_url --key "$dir/node-2/node.key")
    want="403 not_payer"
  fi
  python3 - "$url" "$want" <<'PY' || fail "a $case token was not refused"
import sys, urllib.request, urllib.error
code, reason = sys.argv[2].split()
try:
    urllib.request.urlopen(sys.argv[1], timeout=30)
    sys.exit(1)
except urllib.error.HTTPError as e:
    body = e.read().decode()
    assert e.code == int(code) and reason in body, (e.code, body)
PY
done
python3 - <<'PY' || fail "refusals were not counted"
import urllib.request
body = urllib.request.urlopen("http://127.0.0.1:9665/metrics").read().decode()
got = {l.split('reason="')[1].split('"')[0]: float(l.split()[-1]) for l in body.splitlines()
       if l.startswith("poe_gateway_refused_total{")}
for r in ("missing_token", "wrong_content", "wrong_gateway", "not_payer"):
    assert got.get(r, 0) >= 1, got
print("  refused and counted:", {k: v for k, v in got.items() if v})
PY

echo "== the segments served are the bytes storage holds (checked against their CIDs)"
seg_cid=$("$cli" job status "$job" --json --node 127.0.0.1:7664 | python3 -c '
import json, sys
t = json.load(sys.stdin)["tasks"][0]
print([o["cid"] for o in t["outputs"] if o["name"] == "720p.ts"][0])')
"$cli" get "$seg_cid" -o "$dir/seg0.ts" "${val[@]}" || fail "poe-cli get $seg_cid"
python3 - "$base/720p/0.ts" "$dir/seg0.ts" <<'PY' || fail "the gateway's segment differs from storage's"
import sys, urllib.request
assert urllib.request.urlopen(sys.argv[1]).read() == open(sys.argv[2], "rb").read()
PY

echo "== down"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "gateway devnet test: ok"
