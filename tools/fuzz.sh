#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a while.
#
#   tools/fuzz.sh [--seconds N] [--runs N] [--build-dir DIR] [TARGET...]
#
# Defaults: 60 s per target (--runs N: N inputs per target instead, however long it takes), build in build-fuzz/, every target (see tests/fuzz/). A crash
# leaves its input in DIR/artifacts/ and makes the script exit non-zero. The corpus grows in
# DIR/corpus/<target>/ across runs; seeds are valid encodings written by poe-fuzz-seeds.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=60
runs=
build="$root/build-fuzz"
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (tools/install-deps.sh installs it)" >&2; exit 1; }

flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DPOE_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
fi
if ! cmake --build "$build" -j2 >"$build/build.log" 2>&1; then
  echo "fuzz.sh: the fuzz build failed — see $build/build.log" >&2
  grep -E "error|FAILED" "$build/build.log" | head -20 >&2
  exit 1
fi

if [ ${#targets[@]} -eq 0 ]; then read -r -a targets < "$build/fuzz_targets.txt"; fi

seeds="$build/seeds"
"$build/tests/fuzz/poe-fuzz-seeds" "$seeds"
mkdir -p "$build/artifacts"
failed=0
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz.sh: no target '$t'" >&2; exit 1; }
  mkdir -p "$build/corpus/$t"
  log="$build/fuzz_$t.log"
  if [ -n "$runs" ]; then limit=(-runs="$runs"); what="$runs runs"; else limit=(-max_total_time="$seconds"); what="${seconds}s"; fi
  start=$(date +%s)
  if "$bin" "$build/corpus/$t" "$seeds/$t" "${limit[@]}" -max_len=4096 \
       -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$build/artifacts/$t-" >"$log" 2>&1; then
    done_runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1 || true)
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 || true)
    echo "fuzz: $t ok (${done_runs:-no summary} in $(( $(date +%s) - start ))s, ${cov:-cov ?}, asked: $what)"
  else
    echo "fuzz: $t FAILED — see $log and $build/artifacts/" >&2
    tail -30 "$log" >&2
    failed=1
  fi
done
exit $failed
