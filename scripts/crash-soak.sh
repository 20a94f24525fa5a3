#!/usr/bin/env bash
# Crash-safety soak: many rounds of "writers on the mount, kill -9 of the
# daemon at a random moment, remount, check" (tests/crash_test.cc).
#
#   scripts/crash-soak.sh [ROUNDS]      default 200 rounds
#
# ROWFS_CRASH_SEED=N replays a run (every run prints its seed); BUILD_DIR
# picks the build directory (default build). Needs root or a user allowed
# to mount FUSE filesystems.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-200}
case "$rounds" in
  ''|*[!0-9]*) echo "usage: $0 [ROUNDS]" >&2; exit 2 ;;
esac
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DROWFS_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target crash_test
ROWFS_CRASH_ROUNDS=$rounds exec "$build/tests/crash_test" \
  --gtest_filter='CrashTest.*'
