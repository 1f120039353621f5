#!/usr/bin/env bash
# Installs every Debian 12 package poe needs to build, test, fuzz and benchmark.
# Idempotent: when every package is already installed it does not touch apt at all.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git python3 openssl
  # clang + libFuzzer for the fuzz targets
  clang libclang-rt-14-dev
  # protocol core and wire layer
  libssl-dev libsodium-dev capnproto libcapnp-dev
  # runtime, store, metrics
  libcaf-dev librocksdb-dev prometheus-cpp-dev prometheus
  # media
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev ffmpeg
  # support libraries
  libfmt-dev libspdlog-dev libcli11-dev nlohmann-json3-dev libcpp-httplib-dev libboost1.81-dev
  # tests and benchmarks
  catch2 libbenchmark-dev
  # browser code: the gateway's player page (hls.js from npm) and the headless-Chromium test;
  # nginx is the benchmarks' bar for serving bytes
  npm chromium nginx-light
  # tools/cluster: network namespaces, links and a bridge; the package (CPack's dependency
  # list) and its unit check; a fresh Debian root to install the package in
  iproute2 dpkg-dev systemd debootstrap
)

missing=()
for p in "${packages[@]}"; do
  # An npm already on the PATH (e.g. with a newer Node.js than Debian's) will do.
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

# The npm packages pinned in web/package-lock.json (hls.js, puppeteer-core), once.
web_deps() {
  local web
  web="$(cd "$(dirname "${BASH_SOURCE[0]}")/../web" && pwd)"
  if [ -f "$web/node_modules/hls.js/package.json" ] && [ -f "$web/node_modules/puppeteer-core/package.json" ] &&
     [ "$web/node_modules/.package-lock.json" -nt "$web/package-lock.json" ]; then
    return 0
  fi
  echo "install-deps: npm ci in $web"
  (cd "$web" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  web_deps
  exit 0
fi

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
web_deps
echo "install-deps: done"
