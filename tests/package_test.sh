#!/usr/bin/env bash
# The Debian package and its systemd unit: CPack builds poe_<version>_amd64.deb from the build;
#   - its control data: package poe, dependencies found from the binaries' shared libraries
#     (CAF, RocksDB, FFmpeg, ...), every profile a configuration file, postinst making the poe
#     user and /var/lib/poe/<profile>;
#   - its contents: the binaries in /usr/bin, the profiles in /etc/poe, the template unit
#     poe-node@.service, the player page in /usr/share/poe/web, the docs;
#   - extracted into a root (with this machine's systemd units beside it), `systemd-analyze
#     verify` passes for poe-node@<profile>.service of every profile, and fails for a unit
#     whose binary is missing (so it checks something);
#   - the packaged poe-node checks the packaged storage profile (--check-config) from a node
#     directory laid out as configs/README.md says.
#
#   tests/package_test.sh BUILD_DIR
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/poe-package-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in cpack dpkg-deb systemd-analyze; do
  command -v "$tool" >/dev/null || { echo "SKIP: no $tool"; exit 77; }
done

echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB --config CPackConfig.cmake -B "$dir/out" >/dev/null) || fail "cpack failed"
deb=$(ls "$dir"/out/poe_*_amd64.deb)
echo "  $(basename "$deb"): $(du -h "$deb" | cut -f1)"

echo "== control data"
info=$(dpkg-deb -I "$deb")
grep -q "^ Package: poe$" <<<"$info" || fail "not package poe: $info"
for dep in libcaf-core0.17 libcaf-openssl0.17 librocksdb libavcodec libssl3 adduser; do
  grep -q "^ Depends: .*$dep" <<<"$info" || fail "Depends lacks $dep"
done
dpkg-deb -e "$deb" "$dir/control"
for p in "$src"/configs/*.ini; do
  grep -qx "/etc/poe/$(basename "$p")" "$dir/control/conffiles" || fail "$(basename "$p") is not a conffile"
done
grep -q "adduser --system" "$dir/control/postinst" || fail "postinst makes no poe user"
[ -x "$dir/control/postinst" ] || fail "postinst is not executable"

echo "== contents"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in usr/bin/poe-node usr/bin/poe-cli usr/bin/poe-keygen usr/bin/poe-status usr/bin/poe-ca \
         lib/systemd/system/poe-node@.service usr/share/poe/web/index.html usr/share/poe/web/player.js \
         usr/share/doc/poe/operations.md; do
  grep -qx "./$f" <<<"$contents" || fail "the package lacks /$f"
done
for p in "$src"/configs/*.ini; do grep -qx "./etc/poe/$(basename "$p")" <<<"$contents" || fail "no /etc/poe/$(basename "$p")"; done
if grep -qx "./usr/share/poe/web/hls.min.js" <<<"$contents"; then web="with hls.js"; else web="without hls.js (web/node_modules missing)"; fi
echo "  $(wc -l <<<"$contents") entries: binaries, $(ls "$src"/configs/*.ini | wc -l) profiles, the unit, the player page $web, docs"

echo "== systemd-analyze verify, every profile's instance"
root="$dir/root"
dpkg-deb -x "$deb" "$root"
cp -rn /lib/systemd/system/. "$root/lib/systemd/system/" # the targets the unit names
for p in "$src"/configs/*.ini; do
  unit="poe-node@$(basename "$p" .ini).service"
  out=$(systemd-analyze verify --root="$root" "$unit" 2>&1) || fail "$unit: $out"
  [ -z "$out" ] || fail "$unit: $out"
done
mv "$root/usr/bin/poe-node" "$root/usr/bin/poe-node.moved"
if systemd-analyze verify --root="$root" poe-node@validator.service >/dev/null 2>&1; then
  fail "verify passed a unit whose binary is missing"
fi
mv "$root/usr/bin/poe-node.moved" "$root/usr/bin/poe-node"
echo "  clean for $(ls "$src"/configs/*.ini | wc -l) profiles; a unit without its binary refused"

echo "== the packaged poe-node checks the packaged storage profile"
node="$dir/node"
mkdir -p "$node/certs"
"$root/usr/bin/poe-keygen" --type ed25519 --out "$node/keys" >/dev/null
"$root/usr/bin/poe-ca" init --dir "$dir/ca" >/dev/null
"$root/usr/bin/poe-ca" issue --dir "$dir/ca" --key "$node/keys/node.key" --out "$node/certs/node.crt" >/dev/null
cp "$dir/ca/ca.crt" "$node/certs/"
out=$(cd "$node" && "$root/usr/bin/poe-node" --config-file="$root/etc/poe/storage.ini" --check-config) ||
  fail "--check-config: $out"
echo "  $out"
echo "package test: ok"
