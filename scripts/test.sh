#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, runs every test.
#   scripts/test.sh               the whole suite (unit + mount tests)
#   BUILD_DIR=build-asan scripts/test.sh -DROWFS_SANITIZE=address
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DROWFS_BUILD_TESTS=ON -DROWFS_BUILD_BENCH=ON "$@"
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)" --timeout 600
