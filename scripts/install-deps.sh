#!/usr/bin/env bash
# Installs every Debian package rowfs needs to build, run, test and benchmark.
# Idempotent: it only calls apt-get when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-dev clang-format
  librocksdb-dev rocksdb-tools
  libfuse3-dev fuse3
  libspdlog-dev libfmt-dev libcxxopts-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  attr rsync tar coreutils sed psmisc procps util-linux
  # Tools the history acceptance tests run on mounts (history_tools_test).
  cpio unzip zip nano vim borgbackup restic
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
