#!/usr/bin/env bash
# The .deb installed on a fresh Debian 12: debootstrap lays a minimal bookworm root (from
# Debian's archive), apt installs the package there with the dependencies CPack derived from
# the binaries (nothing from this machine's build or libraries), and then, inside that root, in
# a network and mount namespace of its own:
#   - postinst made the poe user, /etc/poe/<profile>.ini and /var/lib/poe/<profile>/;
#   - as poe, a node identity and certificates are made with the packaged poe-keygen and poe-ca,
#     the packaged storage profile is checked and run (`poe-node --config-file=/etc/poe/storage.ini`
#     from /var/lib/poe/storage, as the unit does), `poe-status` sees it, a file put with
#     `poe-cli` comes back byte for byte, and SIGTERM stops it with exit 0;
#   - `apt-get remove` takes the binaries and leaves the profiles (configuration files) and the
#     node's directory; `purge` takes the profiles and still leaves the node's keys and data.
# Needs root and debootstrap; skips (77) without them or when Debian's archive is unreachable.
# POE_CHROOT_CACHE=FILE keeps the debootstrapped root as a tarball between runs.
#
#   tests/package_install_test.sh BUILD_DIR
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/poe-package-install.XXXXXX")
root="$dir/root"
cleanup() {
  # Nothing is mounted outside the test's own mount namespace; only files remain.
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (chroot, namespaces)"; exit 77; }
for tool in debootstrap cpack unshare ip; do
  command -v "$tool" >/dev/null || { echo "SKIP: no $tool (tools/install-deps.sh installs it)"; exit 77; }
done

echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB --config CPackConfig.cmake -B "$dir/out" >/dev/null) || fail "cpack failed"
deb=$(ls "$dir"/out/poe_*_amd64.deb)
echo "  $(basename "$deb")"

echo "== a fresh Debian 12 root (debootstrap --variant=minbase bookworm)"
start=$(date +%s)
if [ -n "${POE_CHROOT_CACHE:-}" ] && [ -s "$POE_CHROOT_CACHE" ]; then
  mkdir -p "$root" && tar -xf "$POE_CHROOT_CACHE" -C "$root"
  echo "  from $POE_CHROOT_CACHE"
else
  mirror=$(awk '/^URIs:/ {print $2; exit} /^deb / {print $2; exit}' \
    /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
  if ! debootstrap --variant=minbase bookworm "$root" "${mirror:-http://deb.debian.org/debian}" \
      >"$dir/debootstrap.log" 2>&1; then
    tail -5 "$dir/debootstrap.log"
    echo "SKIP: debootstrap could not fetch Debian 12 (archive unreachable?)"
    exit 77
  fi
  [ -n "${POE_CHROOT_CACHE:-}" ] && tar -cf "$POE_CHROOT_CACHE" -C "$root" .
fi
echo "  $(du -sh "$root" | cut -f1) in $(( $(date +%s) - start )) s"
[ -e "$root/usr/bin/poe-node" ] && fail "the fresh root already has poe-node"

echo "== apt-get install ./$(basename "$deb") in it"
cp "$deb" "$root/tmp/poe.deb"
cp /etc/resolv.conf "$root/etc/resolv.conf"
start=$(date +%s)
chroot "$root" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/poe.deb' \
  >"$dir/install.log" 2>&1 || { tail -20 "$dir/install.log"; fail "apt-get install of the package failed"; }
echo "  installed with $(grep -c '^Setting up' "$dir/install.log") packages in $(( $(date +%s) - start )) s"

# Everything below runs inside the root, in a fresh network namespace (its own loopback, so no
# port of this machine is touched) and mount namespace (/proc for the node, gone with it).
cat >"$root/tmp/inside.sh" <<'EOF'
set -eu
fail() { echo "FAIL: $*" >&2; exit 1; }
id poe >/dev/null || fail "no poe user"
[ -f /etc/poe/storage.ini ] || fail "no /etc/poe/storage.ini"
[ -x /usr/bin/poe-node ] || fail "no /usr/bin/poe-node"
[ -f /lib/systemd/system/poe-node@.service ] || fail "no unit"
[ "$(stat -c %U /var/lib/poe/storage/keys)" = poe ] || fail "/var/lib/poe/storage/keys is not poe's"
as_poe() { su -s /bin/sh poe -c "$*"; }
n=/var/lib/poe/storage
as_poe "poe-keygen --type ed25519 --out $n/keys" >/dev/null
# The operator's cluster CA (root's, elsewhere in practice) issues the node's certificate.
poe-ca init --dir /root/ca >/dev/null
poe-ca issue --dir /root/ca --key $n/keys/node.key --out $n/certs/node.crt --host 127.0.0.1 >/dev/null
cp /root/ca/ca.crt $n/certs/
chown poe:poe $n/certs/node.crt $n/certs/ca.crt
# A client identity for poe-cli and poe-status, allowed by the node.
client=$(poe-keygen --type ed25519 --out /tmp/client)
poe-ca issue --dir /root/ca --key /tmp/client/node.key --out /tmp/client/node.crt >/dev/null
out=$(as_poe "cd $n && poe-node --config-file=/etc/poe/storage.ini --check-config") || fail "check-config: $out"
echo "  check-config: $out"
# As the unit runs it: user poe, in the profile's directory (setpriv execs: $! is poe-node).
(cd $n && exec setpriv --reuid=poe --regid=poe --init-groups \
   poe-node --config-file=/etc/poe/storage.ini --node.allowed-peers="[\"$client\"]" >$n/node.log 2>&1) &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT
tls="--tls-key /tmp/client/node.key --tls-cert /tmp/client/node.crt --tls-ca $n/certs/ca.crt"
for i in $(seq 1 100); do
  if poe-status --target 127.0.0.1:7150 --key /tmp/client/node.key --cert /tmp/client/node.crt \
       --ca $n/certs/ca.crt --timeout 2 >/tmp/status.txt 2>&1; then break; fi
  kill -0 $pid 2>/dev/null || { cat $n/node.log; fail "poe-node exited"; }
  sleep 0.2
done
[ "$(ps -o user= -p $pid 2>/dev/null || stat -c %U /proc/$pid)" = poe ] || fail "poe-node does not run as poe"
grep -q storage /tmp/status.txt || { cat /tmp/status.txt $n/node.log; fail "poe-status does not list the storage role"; }
echo "  poe-status: the storage role is up ($(grep -c . /tmp/status.txt) lines)"
head -c 1000000 /dev/urandom >/tmp/blob
cid=$(poe-cli put /tmp/blob --node 127.0.0.1:7150 $tls 2>/dev/null) || fail "poe-cli put failed"
poe-cli get "$cid" -o /tmp/back --node 127.0.0.1:7150 $tls 2>/dev/null || fail "poe-cli get failed"
cmp -s /tmp/blob /tmp/back || fail "the file came back different"
echo "  poe-cli put/get: 1 MB stored and read back as $cid"
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ $rc = 0 ] || { tail -5 $n/node.log; fail "poe-node exited $rc on SIGTERM"; }
echo "  SIGTERM: exit 0"
EOF
echo "== inside: the poe user, the storage profile run as the unit runs it, poe-cli against it"
unshare --net --mount sh -c "ip link set lo up && mount -t proc proc '$root/proc' && chroot '$root' sh /tmp/inside.sh" ||
  fail "inside the fresh root"

echo "== remove, then purge"
chroot "$root" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get remove -y -q poe' >"$dir/remove.log" 2>&1 || fail "remove failed"
[ -e "$root/usr/bin/poe-node" ] && fail "remove left /usr/bin/poe-node"
[ -f "$root/etc/poe/storage.ini" ] || fail "remove took the profiles (configuration files)"
chroot "$root" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q poe' >"$dir/purge.log" 2>&1 || fail "purge failed"
[ -e "$root/etc/poe/storage.ini" ] && fail "purge left /etc/poe/storage.ini"
[ -f "$root/var/lib/poe/storage/keys/node.key" ] || fail "purge took the node's key"
echo "  remove: binaries gone, profiles kept; purge: profiles gone, the node's keys and data kept"
echo "PASS"
