#!/usr/bin/env bash
# The transport under a handshake flood (issue 16): one TLS node (probe role) on port 8150.
#   - 3,000 TCP connections from 127.0.0.2 that never finish a TLS handshake (half of them
#     send nothing, half a ClientHello cut short): the node holds at most 32 pending
#     handshakes per source address, refuses the rest at once and shuts every pending one down
#     after net.handshake-timeout (5 s by default); the attacker sees every socket closed;
#   - poe-status from 127.0.0.1 reaches the node during the flood, within its timeout;
#   - the node's memory stays bounded during the flood and returns after it;
#   - the refusals and timeouts are counted in poe_connection_events_total.
#
#   tests/tls_flood_test.sh BUILD_DIR
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" tls-flood
flood_pid=""
devnet_cleanup_extra='[ -n "$flood_pid" ] && kill -KILL "$flood_pid" 2>/dev/null'

echo "== one TLS node (probe) on 127.0.0.1:8150 (net.handshake-timeout 5 s)"
"$devnet" up -n 1 --dir "$dir" --build "$build" --base-port 8150 --metrics-base-port 10150 \
  --roles '["probe"]' >/dev/null || fail "devnet up failed"
remember
pid=$(cat "$dir/node-0/pid")
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
status() {
  timeout 20 "$build/tools/poe-status" --target 127.0.0.1:8150 --key "$dir/node-0/node.key" \
    --cert "$dir/node-0/node.crt" --ca "$dir/ca/ca.crt" --timeout 5 >/dev/null 2>&1
}
status || fail "poe-status cannot reach the idle node"
before=$(rss)
echo "  idle RSS ${before} kB"

echo "== 3,000 half-open TLS connections from 127.0.0.2"
python3 - "$dir/flood.out" <<'PY' &
import select, socket, sys, time
# A real ClientHello's first bytes (record header + start of the handshake), then nothing.
cut = bytes.fromhex("160301020001000200")
socks, refused = [], 0
for i in range(3000):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.setblocking(True)
    try:
        s.connect(("127.0.0.1", 8150))
        if i % 2: s.send(cut)
        socks.append(s)
    except OSError:
        refused += 1
opened = time.time()
# Wait (at most 20 s) until the node has closed every socket.
alive = {s.fileno(): s for s in socks}
poll = select.poll()
for fd in alive: poll.register(fd, select.POLLIN)
while alive and time.time() - opened < 20:
    for fd, _ in poll.poll(500):
        s = alive.get(fd)
        if s is None: continue
        try:
            gone = not s.recv(4096)
        except OSError:
            gone = True
        if gone:
            poll.unregister(fd)
            del alive[fd]
with open(sys.argv[1], "w") as f:
    f.write(f"{len(socks)} {refused} {len(alive)} {time.time() - opened:.1f}\n")
PY
flood_pid=$!
sleep 1
during=$(rss)
status || fail "poe-status from 127.0.0.1 could not reach the node during the flood"
echo "  poe-status answered during the flood; RSS ${during} kB"
wait "$flood_pid" || fail "the flood client failed"
flood_pid=""
read -r opened refused left secs < "$dir/flood.out"
echo "  opened $opened, refused at connect $refused, still open after ${secs} s: $left"
[ "$left" -eq 0 ] || fail "$left half-open connections were never closed by the node"
# Bounded: 32 pending sessions of ~200 kB each, not 3,000 (~650 MB before the guard).
[ "$(( during - before ))" -lt 100000 ] || fail "the flood grew the node by $(( during - before )) kB"
sleep 1
after=$(rss)
echo "  RSS after the flood ${after} kB (idle ${before} kB)"
[ "$(( after - before ))" -lt 30000 ] || fail "memory not returned: ${after} kB vs ${before} kB idle"

echo "== counted"
metrics=$(python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:10150/metrics").read().decode())')
per=$(echo "$metrics" | awk '/^poe_connection_events_total\{.*event="tls_refused_per_address"/ {print $2}')
late=$(echo "$metrics" | awk '/^poe_connection_events_total\{.*event="tls_handshake_timeout"/ {print $2}')
echo "  refused over the per-address cap: $per, timed out: $late"
python3 -c "import sys; sys.exit(0 if float('${per:-0}') > 2000 and float('${late:-0}') >= 32 else 1)" ||
  fail "refusals/timeouts not counted (per-address $per, timeouts $late)"
status || fail "poe-status cannot reach the node after the flood"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "PASS"
