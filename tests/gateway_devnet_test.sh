#!/usr/bin/env bash
# HLS playback through the gateway role, with real clients: 6 poe-node processes over
# loopback TLS — 4 validators that also store and execute (node-0..3), a verifier and builder
# (node-4) and a gateway with its channel role (node-5, HTTP on 127.0.0.1:8665; staked as a
# gateway; sessions end after 3 s idle). A 12 s clip is transcoded,
# verified and published as content at 1,000 a second; a viewer (node-0's key) opens a channel
# to the gateway's node and makes a playback token for it (`poe-cli channel token --url`);
# then, over HTTP only:
#   - a segment past the seconds paid (plus the 4 s credit) is answered 402 with the price and
#     how to pay; `poe-cli watch` commits a lane, pays one tick a second and fetches every
#     segment as a player would; the channel role holds the 8 ticks;
#   - the session ends: the gateway signs a playback receipt (8 s paid and played, 4 segments)
#     and a builder takes it; `poe-cli receipt prove` gets its proof once its LogBlock's header
#     is in a block and `poe-cli receipt verify` checks it offline against the genesis;
#   - without a token the content is refused (401); forged, foreign-gateway, wrong-content and
#     non-payer tokens are refused (401/403) and counted;
#   - ffprobe reads the master playlist and finds every rendition with its resolution;
#   - ffmpeg decodes every variant's media playlist to the end (duration checked);
#   - the playlists say what RFC 8216 and Apple's authoring spec ask (BANDWIDTH, AVERAGE-
#     BANDWIDTH, RESOLUTION, CODECS, INDEPENDENT-SEGMENTS, TARGETDURATION, ENDLIST), with the
#     right media types, CORS and immutable caching;
#   - an application uploads the clip over HTTP (non-media 422), the creator signs the upload
#     and the job with openssl (another key's signature 401, a replayed job 401), and follows
#     the job to the end through the API;
#   - a token good for one minute is refused (403 expired_token) once it expired;
#   - the application API lists the content and details its variants, opens a viewing session
#     (201) and refuses a second commitment on its lane (409) and bad input; every operation of
#     docs/gateway-api.json is answered;
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
layout+=(--node-roles '4=["verifier","builder"]' --node-roles '5=["channel","gateway"]')
"$devnet" up -n 6 --dir "$dir" --build "$build" --base-port 7660 --metrics-base-port 9660 \
  --gateway-base-port 8660 "${layout[@]}" --block-interval-ms 200 --timeout 60 \
  --node-arg=--gateway.session-idle-s=3 >/dev/null ||
  fail "devnet up failed"
remember
export POE_TLS_KEY="$dir/node-0/node.key" POE_TLS_CERT="$dir/node-0/node.crt" POE_TLS_CA="$dir/ca/ca.crt"

echo "== executors, the verifier, the builder and the gateway stake; a 12 s clip is transcoded, verified and published"
for i in 0 1 2 3; do
  "$cli" tx stake --key "$dir/node-$i/node.key" --role executor --amount 1000 \
    --node "127.0.0.1:766$i" >/dev/null || fail "stake of node-$i"
done
# Two transactions of one sender in a row: explicit nonces (the default reads the committed
# nonce only).
nonce=$("$cli" account show "$(id_of "$dir/node-4/node.pub")" --json "${val[@]}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["nonce"])')
for role in verifier builder; do
  "$cli" tx stake --key "$dir/node-4/node.key" --role $role --amount 1000 --nonce "$nonce" "${val[@]}" >/dev/null ||
    fail "$role stake of node-4"
  nonce=$((nonce + 1))
done
"$cli" tx stake --key "$dir/node-5/node.key" --role gateway --amount 1000 "${val[@]}" >/dev/null ||
  fail "gateway stake of node-5"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi \
  -i sine=frequency=440:sample_rate=48000 -t 12 -c:v libx264 -preset ultrafast -g 60 \
  -pix_fmt yuv420p -c:a aac -shortest "$dir/clip.mp4" || fail "ffmpeg could not make the clip"
echo "== an application uploads the clip and starts its job over HTTP; the creator (node-4's key) signs both with openssl"
job=$(python3 - "$gw" "$dir/clip.mp4" "$dir/node-4/node.key" "$dir/node-4/node.pub" "$dir/sign.in" <<'PY'
import json, subprocess, sys, time, urllib.request, urllib.error
gw, clip, key, pub, scratch = sys.argv[1:6]
def call(method, path, body=None, ctype="application/json"):
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    req = urllib.request.Request(gw + path, data=data, method=method, headers={"Content-Type": ctype} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
def sign(what, with_key=key):  # Ed25519 over the signing input, as any client library would
    open(scratch, "wb").write(bytes.fromhex(what["signing_input"]))
    return subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", with_key, "-rawin", "-in", scratch],
                          capture_output=True, check=True).stdout.hex()
der = subprocess.run(["openssl", "pkey", "-pubin", "-in", pub, "-outform", "DER"], capture_output=True, check=True).stdout
owner = subprocess.run(["openssl", "dgst", "-sha256", "-r"], input=der, capture_output=True, check=True).stdout[:64].decode()
raw_key = der[-32:].hex()  # the raw Ed25519 key (the DER form works as well)
st, j = call("POST", "/api/v1/uploads", b"this is not media", "video/mp4")
assert st == 422 and j["status"] == 422, (st, j)
st, up = call("POST", "/api/v1/uploads", open(clip, "rb").read(), "video/mp4")
assert st == 202 and up["media"]["width"] == 1280 and up["media"]["video_codec"] == "h264", (st, up)
assert up["sign"]["op"] == "put" and up["sign"]["subject"] == up["cid"] and up["commit"].endswith(up["cid"]), up
other = scratch + ".key"
subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", other], check=True)
st, j = call("POST", up["commit"], {"public_key": raw_key, "signature": sign(up["sign"], other)})
assert st == 401, (st, j)  # another key's signature: refused, the upload still waits
st, j = call("POST", up["commit"], {"public_key": raw_key, "signature": sign(up["sign"])})
assert st == 201 and j["cid"] == up["cid"] and j["owner"] == owner, (st, j)
st, j = call("POST", up["commit"], {"public_key": raw_key, "signature": sign(up["sign"])})
assert st == 404, (st, j)  # committed once: nothing waits any more
st, ch = call("POST", "/api/v1/jobs", {"source": up["cid"]})
assert st == 401 and ch["sign"]["op"] == "job" and ch["sign"]["subject"] == up["cid"] + "|", (st, ch)
signed = {"source": up["cid"], "nonce": ch["sign"]["nonce"], "public_key": der.hex(), "signature": sign(ch["sign"])}
st, j = call("POST", "/api/v1/jobs", dict(signed, source="b" * 10))
assert st == 400, (st, j)
st, job = call("POST", "/api/v1/jobs", signed)
assert st == 202 and job["owner"] == owner and job["status"] == "/api/v1/jobs/" + job["job"], (st, job)
st, j = call("POST", "/api/v1/jobs", signed)
assert st == 401, (st, j)  # a replay: its nonce is used up
st, j = call("GET", "/api/v1/jobs/nosuchjob")
assert st == 404, (st, j)
for _ in range(1200):
    st, j = call("GET", job["status"])
    assert st == 200 and j["job"] == job["job"] and j["owner"] == owner, (st, j)
    if j["done"]: break
    time.sleep(0.2)
assert j["done"] and j["failed"] == 0 and j["verified"] == j["segments"] == 6, j
assert all(len(t["outputs"]) >= 3 and t["phase"] == "verified" for t in j["tasks"]), j
print(f"  uploaded {up['size']} bytes as {up['cid'][:16]}… (non-media 422, another key's signature 401), job "
      f"{job['job']} (replay 401): {j['verified']} segments verified", file=sys.stderr)
print(job["job"])
PY
) || fail "the application API's upload and job"
out=$("$cli" content publish "$job" --price-per-second 1000 --key "$dir/node-4/node.key" \
        --verifier 127.0.0.1:7664 "${val[@]}") || fail "content publish: $out"
content=$(sed -n 's/^content \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
[ -n "$content" ] || fail "no content id in: $out"

echo "== a viewer (node-0's key) opens a channel to the gateway's node and makes a playback token"
gateway_id=$(id_of "$dir/node-5/node.pub")
out=$("$cli" channel open --payee "$gateway_id" --deposit 100000 --expiry-blocks 5000 \
        --key "$dir/node-0/node.key" "${val[@]}") || fail "channel open: $out"
channel=$(sed -n 's/^channel \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
for _ in $(seq 100); do "$cli" channel status "$channel" "${val[@]}" >/dev/null 2>&1 && break; sleep 0.2; done
token_url() { "$cli" channel token "$channel" --content "$content" --gateway "$gateway_id" --url "$gw" "$@"; }
master=$(token_url --key "$dir/node-0/node.key") || fail "channel token"
base=${master%/master.m3u8}
# A token good for one minute: used now, refused once it expired (checked at the end).
expiring=$(token_url --key "$dir/node-0/node.key" --lane 3 --minutes 1) || fail "channel token --minutes 1"
expiring_at=$(($(date +%s) + 61))

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

python3 -c 'import sys, urllib.request; assert urllib.request.urlopen(sys.argv[1], timeout=30).status == 200' \
  "$expiring" || fail "a fresh one-minute token was refused"

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
watched=$("$cli" watch "$master" --seconds 8 --key "$dir/node-0/node.key") || fail "poe-cli watch failed"
echo "  $watched"
grep -q "^watched 8 s of 720p: 4 segments, [0-9]* bytes; paid 8 ticks at 1000" <<<"$watched" || fail "watch: $watched"
held=$("$cli" channel status "$channel" --json --payee-node 127.0.0.1:7665 "${val[@]}" |
       python3 -c 'import json,sys; print(json.load(sys.stdin)["payee_view"]["owed"])')
[ "$held" = 8000 ] || fail "the gateway's channel role holds $held, not 8000"

echo "== the session ends: its playback receipt is signed, taken by a builder, notarized and proved"
receipt=$(python3 - "${base%%/content/*}/session" <<'PY'
import json, sys, time, urllib.request
last = None
for _ in range(300):
    last = json.load(urllib.request.urlopen(sys.argv[1], timeout=30))
    rs = [r for r in last["receipts"] if r["status"] == "accepted"]
    if rs:
        r = rs[0]
        assert last["ended"] and r["sequence"] == 0, last
        assert r["seconds"] == 8 and r["paid_seconds"] == 8 and r["segments"] == 4, last
        print(r["id"])
        sys.exit(0)
    time.sleep(0.1)
print(last, file=sys.stderr)
sys.exit(1)
PY
) || fail "no playback receipt was taken by a builder"
for _ in $(seq 150); do
  "$cli" receipt prove "$receipt" -o "$dir/playback.proof" --node 127.0.0.1:7664 >"$dir/prove.out" 2>&1 && break
  sleep 0.2
done
[ -s "$dir/playback.proof" ] || fail "the playback receipt was never proved: $(cat "$dir/prove.out")"
out=$("$cli" receipt verify "$dir/playback.proof" --genesis "$dir/genesis.json") || fail "receipt verify: $out"
grep -q "^valid: playback receipt $receipt" <<<"$out" || fail "receipt verify: $out"
grep -q "8 s of content ${content:0:16}.. played from 4 segments" <<<"$out" || fail "receipt verify: $out"
grep -q "tick 8 is w(8) of its hash chain: 8 s paid at 1000" <<<"$out" || fail "receipt verify: $out"
echo "  receipt $receipt: $(grep -o 'in block [0-9]*' "$dir/prove.out" | head -1), verified offline"
python3 - "$dir/playback.proof" <<'PY' || fail "a tampered playback proof verified"
import sys
p = bytearray(open(sys.argv[1], "rb").read())
i = p.find(b"poe/playback/v1") + 15 + 4 + 32 + 4 + 32 + 32 + 32 + 32 + 4 + 7  # the seconds' low byte
p[i] ^= 1
open(sys.argv[1] + ".bad", "wb").write(bytes(p))
PY
rc=0; out=$("$cli" receipt verify "$dir/playback.proof.bad" --genesis "$dir/genesis.json") || rc=$?
[ "$rc" -ne 0 ] && grep -q "^INVALID" <<<"$out" || fail "a tampered proof passed: $out"

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
  python3 -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - 12.0) < 0.3 else 1)' "$d" ||
    fail "$v lasts $d s, not 12"
  frames=$(ffmpeg -nostdin -v error -i "$url" -map 0:v -f null - -progress - 2>&1 | sed -n 's/^frame=//p' | tail -1)
  [ "${frames:-0}" -ge 350 ] || fail "$v decoded $frames frames, expected about 360"
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
assert abs(sum(durs) - 12.0) < 0.3, durs
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

echo "== the application API (docs/gateway-api.json): content, details, opening a session"
link1=$(token_url --key "$dir/node-0/node.key" --lane 7 --player --price 1000 --seconds 30) || fail "channel token --player"
link2=$(token_url --key "$dir/node-0/node.key" --lane 7 --player --price 1000 --seconds 30) || fail "channel token --player"
python3 - "$gw" "$content" "$link1" "$link2" "$src/docs/gateway-api.json" "$job" <<'PY' || fail "the application API"
import http.client, json, sys, urllib.parse
host, content, link1, link2, doc, job = sys.argv[1].removeprefix("http://"), *sys.argv[2:7]
def call(method, path, body=None):
    c = http.client.HTTPConnection(host, timeout=60)
    c.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    r = c.getresponse()
    data = r.read()
    return r, (json.loads(data) if data and "json" in (r.getheader("Content-Type") or "") else data)
r, j = call("GET", "/api/v1/content")
assert r.status == 200 and r.getheader("Content-Type") == "application/json", r.status
assert j["total"] == 1 and j["content"][0]["id"] == content and j["content"][0]["price_per_second"] == "1000", j
assert sorted(j["content"][0]["renditions"]) == ["360p", "480p", "720p"] and j["content"][0]["segments"] == 6, j
r, j = call("GET", f"/api/v1/content/{content}")
assert r.status == 200 and abs(j["duration_ms"] - 12000) < 300, j
assert sorted((v["width"], v["height"]) for v in j["variants"]) == [(640, 360), (854, 480), (1280, 720)], j
assert all(v["bandwidth"] >= v["average_bandwidth"] > 0 and v["codecs"].startswith("avc1.") for v in j["variants"]), j
for path, want in ((f"/api/v1/content/{'ab' * 32}", 404), ("/api/v1/content/xyz", 400), ("/api/v1/content?limit=x", 400),
                   ("/api/v1/nothing", 404)):
    r, j = call("GET", path)
    assert r.status == want and r.getheader("Content-Type") == "application/problem+json", (path, r.status)
frag = lambda link: dict(urllib.parse.parse_qsl(link.split("#", 1)[1]))
one, two = frag(link1), frag(link2)
r, j = call("POST", "/api/v1/sessions", json.dumps({"token": one["token"], "commit": one["commit"]}))
assert r.status == 201 and j["lane"] == 7 and j["content"] == content and j["paid_seconds"] == 0, (r.status, j)
assert r.getheader("Location") == j["status"] and j["master"].endswith(f"/content/{content}/master.m3u8"), j
r, j = call("GET", j["status"])
assert r.status == 404 or r.status == 200, r.status  # the session starts with its first paid request
r, j = call("POST", "/api/v1/sessions", json.dumps({"token": two["token"], "commit": two["commit"]}))
assert r.status == 409, (r.status, j)  # another commitment on a committed lane
r, j = call("POST", "/api/v1/sessions", json.dumps({"token": one["token"], "commit": two["commit"][:-2] + "00"}))
assert r.status in (400, 409), (r.status, j)
r, j = call("POST", "/api/v1/sessions", "{not json")
assert r.status == 400 and j["status"] == 400, (r.status, j)
forged = one["token"][:40] + ("A" if one["token"][40] != "A" else "B") + one["token"][41:]
r, j = call("POST", "/api/v1/sessions", json.dumps({"token": forged, "commit": one["commit"]}))
assert r.status == 401, (r.status, j)
# The document names what the gateway serves: every operation is answered (not 404 for its path).
d = json.load(open(doc))
assert d["openapi"].startswith("3.") and len({op["operationId"] for p in d["paths"].values() for op in p.values()}) == \
    sum(len(p) for p in d["paths"].values())
fill = {"{id}": content, "{token}": one["token"], "{rendition}": "720p", "{k}": "0", "{cid}": "b" * 10,
        "{job}": job}
for path, ops in d["paths"].items():
    for method in ops:
        concrete = path
        for k, v in fill.items(): concrete = concrete.replace(k, v)
        r, _ = call(method.upper(), concrete, "{}" if method == "post" else None)
        assert r.status != 404 or path in ("/t/{token}/session", "/api/v1/uploads/{cid}"), (method, path, r.status)
print(f"  content listed and detailed (3 variants, 12 s), a session opened (201), a second commitment on its lane 409,"
      f" bad input 400/401/404; the {sum(len(p) for p in d['paths'].values())} documented operations answered")
PY

echo "== headless Chromium plays the player page from a session link and pays per second"
ticks_before=$(python3 -c 'import sys,urllib.request
print(sum(float(l.split()[-1]) for l in urllib.request.urlopen("http://127.0.0.1:9665/metrics").read().decode().splitlines()
          if l.startswith("poe_gateway_ticks_total")))')
out=$("$cli" channel open --payee "$gateway_id" --deposit 100000 --expiry-blocks 5000 --key "$dir/node-0/node.key" \
        --player-content "$content" --gateway-url "$gw" --price 1000 --seconds 60 "${val[@]}") ||
  fail "channel open --player-content: $out"
channel2=$(sed -n 's/^channel \([0-9a-f]\{64\}\).*/\1/p' <<<"$out")
link=$(sed -n 's/^session //p' <<<"$out")
[[ "$link" == "$gw/player/#token="* ]] || fail "no session link in: $out"
for _ in $(seq 100); do "$cli" channel status "$channel2" "${val[@]}" >/dev/null 2>&1 && break; sleep 0.2; done
played=$(node "$src/web/test/play.js" "$link" "$dir/player.png" 10) || fail "the player page did not play: $played"
echo "  $played" | cut -c1-300
python3 - "$played" "$dir/player.png" <<'PY' || fail "the player page's playback is not as expected"
import json, struct, sys, zlib
p = json.loads(sys.argv[1])
assert p["currentTime"] > 10 and p["width"] == 1280 and p["height"] == 720, p
assert p["brightness"] > 20, p           # the frame drawn from the video is not black
assert p["paid"] >= 11 and p["ticksSent"] >= 11, p
# The screenshot (PNG: 8-bit RGB or RGBA, not interlaced) is not black either.
raw = open(sys.argv[2], "rb").read()
assert raw[:8] == b"\x89PNG\r\n\x1a\n"
at, idat, width = 8, b"", 0
while at < len(raw):
    n, kind = struct.unpack(">I4s", raw[at:at + 8])
    body = raw[at + 8:at + 8 + n]
    if kind == b"IHDR":
        width, height, depth, color = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and color in (2, 6), (depth, color)
        bpp = 3 if color == 2 else 4
    elif kind == b"IDAT":
        idat += body
    at += 12 + n
data, stride, prev, total, count = zlib.decompress(idat), width * bpp, bytearray(width * bpp), 0, 0
for y in range(height):
    f, row = data[y * (stride + 1)], bytearray(data[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = row[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: row[i] = (row[i] + a) & 255
        elif f == 2: row[i] = (row[i] + b) & 255
        elif f == 3: row[i] = (row[i] + (a + b) // 2) & 255
        elif f == 4:
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    total += sum(row[i] for i in range(stride) if i % bpp < 3)
    count += width * 3
    prev = row
mean = total / count
assert mean > 20, f"the screenshot is black (mean {mean:.1f})"
print(f"  played {p['currentTime']:.1f} s at {p['width']}x{p['height']}, paid {p['paid']} s; "
      f"frame brightness {p['brightness']:.0f}, screenshot {width}x{height} mean {mean:.0f}")
PY
held=$("$cli" channel status "$channel2" --json --payee-node 127.0.0.1:7665 "${val[@]}" |
       python3 -c 'import json,sys; print(json.load(sys.stdin)["payee_view"]["owed"])')
python3 - "$held" "$ticks_before" <<'PY' || fail "the ticks the page paid were not counted and held"
import sys, urllib.request
held, before = int(sys.argv[1]), float(sys.argv[2])
after = sum(float(l.split()[-1]) for l in urllib.request.urlopen("http://127.0.0.1:9665/metrics").read().decode().splitlines()
            if l.startswith("poe_gateway_ticks_total"))
assert held >= 11000 and held % 1000 == 0, held
assert after - before >= held // 1000, (after, before, held)
print(f"  the gateway counted {after - before:.0f} ticks; its channel role holds {held} on the page's channel")
PY

echo "== the one-minute token, expired, is refused (403) and counted"
now=$(date +%s)
[ "$now" -ge "$expiring_at" ] || sleep $((expiring_at - now))
python3 - "$expiring" <<'PY' || fail "an expired token was not refused"
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=30)
    sys.exit(1)
except urllib.error.HTTPError as e:
    body = e.read().decode()
    assert e.code == 403 and "expired_token" in body, (e.code, body)
body = urllib.request.urlopen("http://127.0.0.1:9665/metrics").read().decode()
got = {l.split('reason="')[1].split('"')[0]: float(l.split()[-1]) for l in body.splitlines()
       if l.startswith("poe_gateway_refused_total{")}
assert got.get("expired_token", 0) >= 1, got
PY

echo "== down"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "gateway devnet test: ok"
