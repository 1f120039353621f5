# Shared by the multi-process tests that run tools/devnet (sourced, not executed):
#
#   source "$(dirname "${BASH_SOURCE[0]}")/devnet_lib.sh"
#   devnet_test_init BUILD_DIR NAME     sets build, src, devnet, dir (a fresh temp directory)
#
# and installs the trap: at exit every node this test ever started is SIGKILLed by the PIDs
# it recorded (`remember` after each start), the logs are printed if the test failed, and the
# directory is removed (after `devnet_cleanup_extra`, a command the test may set, e.g. to
# unmount what it mounted). `fail MESSAGE` ends the test.

devnet_test_init() {
  build=${1:?usage: $0 BUILD_DIR}
  src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  devnet="$src/tools/devnet"
  dir=$(mktemp -d "${TMPDIR:-/tmp}/poe-$2-test.XXXXXX")
  all_pids=() # every PID ever recorded, so the trap can reach nodes whose pid file is gone
  devnet_cleanup_extra=""
  trap devnet_test_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

recorded_pids() { cat "$dir"/node-*/pid 2>/dev/null || true; }

remember() {
  local p
  for p in $(recorded_pids); do all_pids+=("$p"); done
}

devnet_test_cleanup() {
  local rc=$? p
  remember
  local killed=()
  for p in "${all_pids[@]+"${all_pids[@]}"}"; do
    if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' < "/proc/$p/cmdline" | grep -q poe-node; then
      kill -KILL "$p" 2>/dev/null || true
      killed+=("$p")
    fi
  done
  # Until they are gone (at most 5 s): their listening ports close with them, and the next
  # test may use the same ports.
  for _ in $(seq 50); do
    local alive=0
    for p in "${killed[@]+"${killed[@]}"}"; do [ -e "/proc/$p" ] && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  if [ "$rc" -ne 0 ]; then
    echo "--- node logs ---"
    "$devnet" logs --dir "$dir" || true
  fi
  if [ -n "$devnet_cleanup_extra" ]; then eval "$devnet_cleanup_extra" || true; fi
  rm -rf "$dir"
  exit "$rc"
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# id_of PUB_PEM: the node id of a public key file (SHA-256 of its DER SubjectPublicKeyInfo).
id_of() { openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-64; }

# wait_for SECONDS COMMAND...: runs COMMAND until it succeeds; fails after SECONDS.
wait_for() {
  local until=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt $until ] || return 1; sleep 0.3; done
}

# node_metric PORT NAME: the integer value of metric NAME (unlabelled) of the node whose
# metrics listen on 127.0.0.1:PORT; 0 when it has none. Fails when the node does not answer.
node_metric() {
  python3 -c 'import sys,urllib.request
for l in urllib.request.urlopen("http://127.0.0.1:%d/metrics" % int(sys.argv[1]), timeout=5).read().decode().splitlines():
    if l.startswith(sys.argv[2]+" "): print(int(float(l.split()[1]))); break
else: print(0)' "$1" "$2"
}
