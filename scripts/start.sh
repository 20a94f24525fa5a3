#!/usr/bin/env bash
# The README's start command: installs dependencies, builds rowfs and mounts
# a default database.
#   ROWFS_DB   database directory  (default /var/lib/rowfs/default)
#   ROWFS_MNT  mountpoint          (default /mnt/rowfs)
# Extra arguments are passed to rowfs (e.g. -o allow_other).
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${ROWFS_DB:-/var/lib/rowfs/default}
MNT=${ROWFS_MNT:-/mnt/rowfs}
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"

scripts/install-deps.sh
scripts/build.sh -DROWFS_BUILD_TESTS=OFF -DROWFS_BUILD_BENCH=OFF
BIN="$(pwd)/${BUILD_DIR:-build}/rowfs"

$SUDO mkdir -p "$DB" "$MNT"
[[ -n "$SUDO" ]] && $SUDO chown "$(id -u):$(id -g)" "$DB" "$MNT"
if mountpoint -q "$MNT"; then
  echo "rowfs: $MNT is already a mountpoint; unmount it first: fusermount3 -u $MNT" >&2
  exit 1
fi
"$BIN" "$DB" "$MNT" "$@"

cat <<EOT
rowfs is mounted: database $DB at $MNT

Try it:
  mkdir $MNT/people                 # a dataset (RocksDB column family)
  mkdir $MNT/people/alice           # a row
  echo 42 > $MNT/people/alice/age   # a column; every close stores a version
  echo 43 > $MNT/people/alice/age
  ls $MNT/people/alice              # age  age@<ms>   (older versions)
  cat $MNT/people/alice/age@*       # read an older version

Unmount: fusermount3 -u $MNT      (the binary is $BIN; see $BIN --help)
EOT
