#!/usr/bin/env bash
# End-to-end test of tools/devnet: 3 TLS nodes up and fully meshed, status, a second up refused,
# one node SIGKILLed (status must then fail), down; no recorded node may survive. Ports 7600.. and 9600.. keep it
# clear of a developer's devnet on the defaults (7400/9400).
#
#   tests/devnet_test.sh BUILD_DIR      (BUILD_DIR holds tools/poe-node and tools/poe-keygen)
#
# Whatever happens, the trap stops every node this test started, by the PIDs it recorded.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" devnet
ports=(--base-port 7600 --metrics-base-port 9600)
alive() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q poe-node &&
          ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

echo "== up -n 3 (TLS) in $dir"
"$devnet" up -n 3 --dir "$dir" --build "$build" "${ports[@]}" || fail "devnet up failed"
remember
[ "$(recorded_pids | wc -l)" -eq 3 ] || fail "expected 3 pid files"
for i in 0 1 2; do
  grep -q ' tls 127.0.0.1:760'"$i" "$dir/node-$i/node.log" || fail "node-$i did not start with TLS"
done

echo "== status (expect 0)"
"$devnet" status --dir "$dir" || fail "status of a healthy devnet returned $?"

echo "== up again while running (expect refusal)"
if "$devnet" up -n 3 --dir "$dir" --build "$build" "${ports[@]}" >/dev/null 2>&1; then
  fail "a second up on a running devnet succeeded"
fi

# The highest node: it only dials out, so the TIME_WAIT sockets its death leaves sit on
# ephemeral ports, not on a listening port (which would block a re-run for up to 60 s).
victim=$(cat "$dir/node-2/pid")
echo "== SIGKILL node-2 (pid $victim)"
kill -KILL "$victim"
for _ in $(seq 50); do alive "$victim" || break; sleep 0.1; done
alive "$victim" && fail "node-2 survived SIGKILL"

echo "== status (expect 1)"
set +e
"$devnet" status --dir "$dir"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "status with a dead node returned $rc, expected 1"

echo "== down"
"$devnet" down --dir "$dir" || fail "devnet down failed"
for p in "${all_pids[@]}"; do
  alive "$p" && fail "pid $p still runs after down"
done
[ -z "$(recorded_pids)" ] || fail "pid files left after down"

echo "== status after down (expect 1)"
if "$devnet" status --dir "$dir"; then fail "status after down returned 0"; fi
echo "PASS"
