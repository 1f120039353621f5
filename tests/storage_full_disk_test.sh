#!/usr/bin/env bash
# A storage node whose disk fills up. Its data directory is a 200 MB tmpfs (mounted in a private
# mount namespace made with `unshare -rm`, so no root is needed where user namespaces are
# allowed), 100 MB of it taken by a ballast file; the node keeps its default 64 MiB reserve
# (store.min-free-mib), so some 17 MiB are usable. An 8 MB file is put; a 40 MB file does not
# fit: the put fails with "no space left", no manifest of it becomes visible, the first file
# still reads back identical and the node keeps running. Once the ballast is removed, puts
# work again (RocksDB's error state is resumed) without a restart.
#
#   tests/storage_full_disk_test.sh BUILD_DIR
#
# Ports 7970 and 9970. Exits 77 (skipped) where no mount namespace can be made.
set -euo pipefail

if [ -z "${POE_IN_MOUNT_NS:-}" ]; then
  if ! unshare -rm true 2>/dev/null; then
    echo "skipped: this machine cannot make a private mount namespace (unshare -rm)"
    exit 77
  fi
  POE_IN_MOUNT_NS=1 exec unshare -rm "$BASH" "$0" "$@"
fi

source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
devnet_test_init "${1:-}" fulldisk
cli="$(cd "$build/tools" && pwd)/poe-cli"
node=(--node 127.0.0.1:7970)
up() {
  "$devnet" up -n 1 --dir "$dir" --build "$build" --base-port 7970 --metrics-base-port 9970 \
    --roles '["storage"]' >/dev/null || fail "devnet up failed"
  remember
}

echo "== one storage node, its data directory on a 200 MB tmpfs with a 100 MB ballast"
up # makes the keys, certificates and node.ini
"$devnet" down --dir "$dir" >/dev/null
data="$dir/node-0/data"
rm -rf "$data" && mkdir "$data"
mount -t tmpfs -o size=200m tmpfs "$data" || fail "cannot mount a tmpfs"
devnet_cleanup_extra='umount -l "$data"'
head -c 100000000 /dev/zero > "$data/ballast"
up
export POE_TLS_KEY="$dir/node-0/node.key" POE_TLS_CERT="$dir/node-0/node.crt" POE_TLS_CA="$dir/ca/ca.crt"
python3 -c 'import hashlib,sys
for name, mb in (("f8", 8), ("f40", 40), ("f1", 1)):
    with open(sys.argv[1] + "/" + name, "wb") as f:
        for i in range(mb * 1024 * 1024 // 32): f.write(hashlib.sha256(name.encode() + i.to_bytes(8, "big")).digest())' "$dir"

echo "== 8 MB fits; 40 MB does not: a clear error and no manifest of it"
first=$("$cli" put "$dir/f8" "${node[@]}" 2>"$dir/f8.err") || fail "put of 8 MB failed: $(cat "$dir/f8.err")"
rc=0; out=$("$cli" put "$dir/f40" "${node[@]}" 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 1 ] || fail "put of 40 MB must fail with exit 1 (got $rc): $out"
echo "$out" | grep -q "no space left" || fail "the error does not say the disk is full: $out"
echo "  $(echo "$out" | grep -o 'error: .*' | cut -c1-110)..."
listed=$("$cli" storage ls "${node[@]}" | python3 -c 'import json,sys; print(" ".join(e["cid"] for e in json.load(sys.stdin)))')
[ "$listed" = "$first" ] || fail "the node lists [$listed], expected only $first"
"$cli" get "$first" -o "$dir/f8.out" "${node[@]}" 2>/dev/null || fail "get of the first file failed"
cmp -s "$dir/f8" "$dir/f8.out" || fail "the first file came back different"
"$devnet" status --dir "$dir" >/dev/null || fail "the node did not survive the full disk"

echo "== room again (ballast removed): puts work without a restart"
rm "$data/ballast"
end=$((SECONDS + 60))
until small=$("$cli" put "$dir/f1" "${node[@]}" 2>/dev/null); do
  [ $SECONDS -lt "$end" ] || fail "puts still refused 60 s after space was freed"
  sleep 1
done
"$cli" get "$small" -o "$dir/f1.out" "${node[@]}" 2>/dev/null || fail "get of the new file failed"
cmp -s "$dir/f1" "$dir/f1.out" || fail "the new file came back different"

echo "== down"
"$devnet" down --dir "$dir" >/dev/null || fail "devnet down failed"
echo "storage full-disk test: ok"
