#!/usr/bin/env bash
# libFuzzer runs of the key codec and name parsers (tests/fuzz/).
#
#   scripts/fuzz.sh [SECONDS]   build with clang in build-fuzz, run each
#                               target for SECONDS (default 60)
#   scripts/fuzz.sh --smoke     CI mode: build, then replay the committed
#                               corpus plus 20000 fixed-seed runs per target
#                               (ctest -L fuzz; a few seconds)
#
# Long runs keep what they find in build-fuzz/corpus/<target> (seeded from
# tests/fuzz/corpus/<target>, which is never written); a crash leaves its
# input in build-fuzz/artifacts/ and makes the script fail. Reproduce one
# with: build-fuzz/tests/fuzz/<target> build-fuzz/artifacts/<file>
# BUILD_DIR overrides build-fuzz; CXX a clang++ other than clang++.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=run
seconds=60
case "${1:-}" in
  --smoke) mode=smoke ;;
  "") ;;
  *[!0-9]*) echo "usage: $0 [SECONDS | --smoke]" >&2; exit 2 ;;
  *) seconds=$1 ;;
esac

build=${BUILD_DIR:-build-fuzz}
cxx=${CXX:-clang++}
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found (install clang and libclang-rt-dev)" >&2
  exit 1
fi
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DROWFS_BUILD_FUZZ=ON \
  -DROWFS_BUILD_TESTS=ON -DROWFS_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(key_codec_fuzz names_fuzz)
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

if [ "$mode" = smoke ]; then
  cd "$build"
  exec ctest --output-on-failure -L fuzz
fi

mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  echo "== $t: ${seconds}s"
  if ! "$build/tests/fuzz/$t" -max_total_time="$seconds" -max_len=1024 \
      -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
      "$corpus" "tests/fuzz/corpus/$t"; then
    echo "== $t FAILED: see $build/artifacts/" >&2
    status=1
  fi
done
exit $status
