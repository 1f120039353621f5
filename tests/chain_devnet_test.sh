#!/usr/bin/env bash
# Four validator processes over loopback TLS (tools/devnet): the chain commits; one validator
# killed → the chain goes on; restarted → it replays its store, catches up and has the same
# block hashes; two of four stopped → no block is committed; restarted → progress resumes.
# Also: poe-cli signs a transfer and submits it (nonce read from the node), and a second one
# right after it without --nonce (the node counts the pending first); they are committed
# everywhere (account show), shows in its block (chain block N --json), its replay is refused;
# chain status reports the height and the four validators.
#
#   tests/chain_devnet_test.sh BUILD_DIR
#
# Ports 7700.. and 9700... The trap stops every node this test started, by recorded PID.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" chain
node_bin="$(cd "$build/tools" && pwd)/poe-node"

height() { # height I: last committed height in node-I's log (0 if none)
  local h
  h=$({ grep -o 'committed height [0-9]*' "$dir/node-$1/node.log" 2>/dev/null || true; } |
        tail -n 1 | awk '{print $3}')
  echo "${h:-0}"
}
block_at() { # block_at I H: block id prefix node-I committed at height H (empty if none yet)
  # `|| true`: under pipefail a grep that finds nothing (a node not at H yet) would end the
  # test without a message instead of yielding the empty answer the callers allow for.
  { grep -o "committed height $2 round [0-9]* block [0-9a-f]*" "$dir/node-$1/node.log" || true; } |
    tail -n 1 | awk '{print $6}'
}
wait_height() { # wait_height I H SECONDS
  local end=$((SECONDS + $3))
  while [ "$(height "$1")" -lt "$2" ]; do
    [ $SECONDS -lt "$end" ] || fail "node-$1 did not reach height $2 in $3 s (at $(height "$1"))"
    sleep 0.2
  done
}
restart() { # restart I: starts node-I again from its config, records its pid
  (cd "$dir/node-$1" && exec "$node_bin" --config-file="$dir/node-$1/node.ini" >> node.log 2>&1) &
  echo $! > "$dir/node-$1/pid"
  remember
}

echo "== 4 validators up (TLS) in $dir"
"$devnet" up -n 4 --dir "$dir" --build "$build" --base-port 7700 --metrics-base-port 9700 \
  --roles '["validator"]' || fail "devnet up failed"
remember
for i in 0 1 2 3; do wait_height "$i" 3 30; done

echo "== a transfer from the CLI: accepted, committed on every validator, its replay refused"
n0="$dir/node-0"
# A recipient that is no validator: a validator would also collect the fee when it proposes.
to=$(printf 'poe chain test recipient' | openssl dgst -sha256 -r | cut -c1-64)
export POE_TLS_KEY="$n0/node.key" POE_TLS_CERT="$n0/node.crt" POE_TLS_CA="$dir/ca/ca.crt"
cli() { "$build/tools/poe-cli" "$@"; }
out=$(cli tx transfer --key "$n0/node.key" --to "$to" --amount 777 --fee 3 --out "$dir/tx0" \
        --node 127.0.0.1:7700) || fail "poe-cli tx transfer failed: $out"
echo "$out" | grep -q '^accepted ' || fail "the transfer was not accepted: $out"
txid=$(echo "$out" | head -n 1)
# A second one right away, without --nonce: the node counts the first, still pending.
out=$(cli tx transfer --key "$n0/node.key" --to "$to" --amount 1 --fee 3 --node 127.0.0.1:7700) ||
  fail "a second transfer in a row was refused: $out"
echo "$out" | grep -q '^accepted ' || fail "the second transfer was not accepted: $out"
end=$((SECONDS + 30))
until cli account show "$to" --json --node 127.0.0.1:7703 | grep -q '"balance": "778"'; do
  [ $SECONDS -lt "$end" ] || fail "the transfer never reached node-3's ledger"
  sleep 0.5
done
cli account show "$to" --node 127.0.0.1:7703 | grep -q 'balance 778$' ||
  fail "account show does not print the balance"
out=$(cli tx submit "$dir/tx0" --node 127.0.0.1:7701 || true)
echo "$out" | grep -q 'rejected: stale_nonce' || fail "a replay was not refused: $out"
st=$(cli chain status --json --node 127.0.0.1:7702) || fail "chain status failed"
echo "$st" | grep -q '"chain_id": "poe-devnet"' || fail "chain status: $st"
[ "$(echo "$st" | grep -c '"stake"')" -eq 4 ] || fail "chain status lists not 4 validators: $st"
found=
for k in $(seq 1 "$(height 2)"); do
  if cli chain block "$k" --json --node 127.0.0.1:7702 | grep -q "\"id\": \"$txid\""; then
    found=$k; break
  fi
done
[ -n "$found" ] || fail "no block carries transaction $txid"
cli chain block "$found" --node 127.0.0.1:7702 | grep -q "transfer 777" ||
  fail "chain block $found does not show the transfer"
out=$(cli chain block 999999 --node 127.0.0.1:7702 2>&1 || true)
echo "$out" | grep -q 'no finalized block at height 999999' || fail "missing block: $out"
rc=0; cli chain status --node 127.0.0.1:7799 --timeout 2 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 3 ] || fail "an unreachable node must exit 3 (got $rc)"

echo "== kill node-3: the chain goes on"
kill -KILL "$(cat "$dir/node-3/pid")"
h=$(height 0)
wait_height 0 $((h + 3)) 30

echo "== restart node-3: it catches up with the same blocks"
restart 3
target=$(( $(height 0) + 1 ))
wait_height 3 "$target" 60
for k in $(seq 1 "$target"); do
  want=$(block_at 0 "$k")
  for i in 1 2 3; do
    got=$(block_at "$i" "$k")
    [ -z "$got" ] || [ "$got" = "$want" ] || fail "height $k: node-$i has $got, node-0 has $want"
  done
done
[ "$(block_at 3 "$target")" = "$(block_at 0 "$target")" ] || fail "node-3 differs at $target"

echo "== stop node-2 and node-3: no quorum, the chain halts"
kill -TERM "$(cat "$dir/node-2/pid")" "$(cat "$dir/node-3/pid")"
sleep 2
h=$(height 0)
sleep 5
[ "$(height 0)" -le $((h + 1)) ] || fail "the chain went on without a quorum ($h → $(height 0))"

echo "== restart them: progress resumes"
restart 2
restart 3
wait_height 0 $((h + 3)) 60
wait_height 2 $((h + 3)) 60
wait_height 3 $((h + 3)) 60

echo "== down"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "chain devnet test: ok"
