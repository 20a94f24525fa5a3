# Helpers shared by scripts/bench-fs.sh and scripts/bench-storage.sh;
# sourced, not run. The caller sets, before the functions are used:
#
#   BENCH_NAME   prefix of messages ("bench-fs")
#   BUILD_DIR    build tree (rowfs, fs_bench, passthrough_ll go there)
#   EXAMPLES     libfuse's examples (passthrough_ll.c)
#   WORK_PARENT  where the temporary directory goes (must be ext4)
#   LOG_DIR      logs of this run; RESULTS: "system label key value" lines
#   ROWFS        the rowfs binary; ROWFS_OPTS: extra -o options
#   VALUE_BYTES  file size of fs_bench's small-file phases
#
# bench_work_setup makes WORK (EXT4, PT_MNT, ROWFS_DB, ROWFS_MNT under it)
# and installs the exit trap: every mountpoint in MOUNTS is unmounted, every
# daemon in PIDS stopped, WORK removed, and then the caller's
# bench_cleanup_hook (when defined) runs; the exit status is kept.
# shellcheck shell=bash

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
note() { echo "$BENCH_NAME: $*" >&2; }

bench_require_root_fuse() {
  [[ $EUID == 0 ]] || die "needs root (drop_caches, mounts)"
  [[ -c /dev/fuse ]] || die "/dev/fuse is missing"
  local tool
  for tool in fusermount3 gcc g++ pkg-config findmnt "$@"; do
    command -v "$tool" >/dev/null || die "$tool not found"
  done
}

# build_fs_bench: sets FS_BENCH (the CMake target when Google Benchmark made
# tests/bench configurable, else compiled here: it needs only the C++ library).
build_fs_bench() {
  FS_BENCH=$BUILD_DIR/tests/bench/fs_bench
  if [[ ! -x $FS_BENCH ]]; then
    FS_BENCH=$BUILD_DIR/fs_bench
    if [[ ! -x $FS_BENCH || tests/bench/fs_bench.cc -nt $FS_BENCH ]]; then
      g++ -std=c++20 -O2 -Wall -Wextra -Wpedantic -Wshadow -Werror \
        tests/bench/fs_bench.cc -o "$FS_BENCH" -pthread
    fi
  fi
}

# build_passthrough: sets PASSTHROUGH, libfuse's passthrough_ll example.
build_passthrough() {
  PASSTHROUGH=$BUILD_DIR/passthrough_ll
  if [[ ! -x $PASSTHROUGH || $EXAMPLES/passthrough_ll.c -nt $PASSTHROUGH ]]; then
    note "building passthrough_ll from $EXAMPLES"
    # shellcheck disable=SC2046
    gcc -O2 -Wall "$EXAMPLES/passthrough_ll.c" $(pkg-config fuse3 --cflags --libs) \
      -o "$PASSTHROUGH"
  fi
}

MOUNTS=()   # mountpoints to unmount on exit
PIDS=()     # daemons started here
WORK=

bench_cleanup() {
  local status=$? m pid i
  trap - EXIT INT TERM
  for m in "${MOUNTS[@]}"; do
    if mountpoint -q "$m" 2>/dev/null; then
      fusermount3 -u "$m" 2>/dev/null || umount "$m" 2>/dev/null ||
        fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    fi
  done
  for pid in "${PIDS[@]}"; do   # unmounted daemons exit by themselves
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
  done
  [[ -n $WORK ]] && rm -rf "$WORK"
  if declare -F bench_cleanup_hook >/dev/null; then bench_cleanup_hook || true; fi
  exit "$status"
}

# bench_work_setup PREFIX: the temporary directory and the exit trap.
bench_work_setup() {
  mkdir -p "$WORK_PARENT"
  WORK=$(mktemp -d "$WORK_PARENT/$1-XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  [[ $(findmnt -n -o FSTYPE --target "$WORK") == ext4 ]] ||
    die "$WORK_PARENT is not on ext4 ($(findmnt -n -o FSTYPE --target "$WORK")); set WORK_PARENT"
  EXT4=$WORK/ext4          # the ext4 peer and passthrough_ll's source
  PT_MNT=$WORK/pt          # passthrough_ll over $EXT4
  ROWFS_DB=$WORK/rowfs-db
  ROWFS_MNT=$WORK/rowfs
  mkdir -p "$EXT4" "$PT_MNT" "$ROWFS_MNT"
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
vm_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# mount_wait MNT PID: 0 once MNT is mounted, 1 when the daemon exited
# first, 2 after 60 s.
mount_wait() {
  local i
  for ((i = 0; i < 6000; i++)); do
    mountpoint -q "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.01
  done
  return 2
}
# wait_mounted MNT PID LOG: mount_wait, or dies with the log's tail.
wait_mounted() {
  local s=0
  mount_wait "$1" "$2" || s=$?
  case $s in
    0) return 0 ;;
    1) tail -n 20 "$3" >&2; die "daemon for $1 exited" ;;
    *) die "$1 was not mounted within 60 s" ;;
  esac
}

# stop_daemon MNT PID: unmounts and waits for the daemon to exit.
stop_daemon() {
  local i
  fusermount3 -u "$1" || die "cannot unmount $1"
  for ((i = 0; i < 1200; i++)); do
    kill -0 "$2" 2>/dev/null || { wait "$2" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  die "daemon $2 of $1 did not exit within 120 s"
}

# launch_rowfs [-o options beyond ROWFS_OPTS]: starts $ROWFS on the database
# as it is (ROWFS_NOFILE: the open-file limit, soft and hard, it starts
# under) and waits until the mount is live.
ROWFS_PID=
launch_rowfs() {
  spawn_rowfs "$@"
  wait_mounted "$ROWFS_MNT" "$ROWFS_PID" "$LOG_DIR/rowfs.log"
}
# spawn_rowfs [-o options]: launch_rowfs without the wait (mount_wait next).
spawn_rowfs() {
  local o=${1:-}${1:+${ROWFS_OPTS:+,}}$ROWFS_OPTS opts=()
  [[ -n $o ]] && opts=(-o "$o")
  if [[ -n ${ROWFS_NOFILE:-} ]]; then
    (ulimit -n "$ROWFS_NOFILE" && exec "$ROWFS" -f "$ROWFS_DB" "$ROWFS_MNT" "${opts[@]}") \
      >>"$LOG_DIR/rowfs.log" 2>&1 &
  else
    "$ROWFS" -f "$ROWFS_DB" "$ROWFS_MNT" "${opts[@]}" >>"$LOG_DIR/rowfs.log" 2>&1 &
  fi
  ROWFS_PID=$!
  PIDS+=("$ROWFS_PID")
  MOUNTS+=("$ROWFS_MNT")
}
start_rowfs() { rm -rf "$ROWFS_DB"; launch_rowfs "$@"; }   # on a fresh database
halt_rowfs() { stop_daemon "$ROWFS_MNT" "$ROWFS_PID"; }     # keeps the database
stop_rowfs() { halt_rowfs; rm -rf "$ROWFS_DB"; }

PT_PID=
start_passthrough() {  # [more -o options]
  "$PASSTHROUGH" -f -o "source=$EXT4${1:+,$1}" "$PT_MNT" >>"$LOG_DIR/passthrough.log" 2>&1 &
  PT_PID=$!
  PIDS+=("$PT_PID")
  MOUNTS+=("$PT_MNT")
  wait_mounted "$PT_MNT" "$PT_PID" "$LOG_DIR/passthrough.log"
}
stop_passthrough() { stop_daemon "$PT_MNT" "$PT_PID"; }

# bench SYSTEM LABEL PHASE DIR [fs_bench options]: one timed fs_bench phase;
# records "SYSTEM LABEL key value" for rate, seconds, ops and, for SYSTEM
# rowfs, its req_* counts (user.rowfs.stats around the timed part).
bench() {
  local sys=$1 label=$2 phase=$3 dir=$4 out
  shift 4
  local extra=()
  [[ $sys == rowfs ]] && extra=(--stats "$ROWFS_MNT")
  sync   # no phase pays for the write-back of the one before
  if ! out=$("$FS_BENCH" "$phase" "$dir" --value-bytes "$VALUE_BYTES" "$@" "${extra[@]}" \
    2>>"$LOG_DIR/fs_bench.err"); then
    tail -n 5 "$LOG_DIR/fs_bench.err" >&2
    die "$sys: $label ($phase $dir) failed"
  fi
  echo "$sys $label: $out" >>"$LOG_DIR/fs_bench.log"
  awk -v s="$sys" -v l="$label" '{
    for (i = 1; i <= NF; i++) {
      split($i, kv, "=")
      if (kv[1] ~ /^(rate|seconds|ops|close_seconds|req_.*)$/)
        print s, l, kv[1], kv[2]
    }
  }' <<<"$out" >>"$RESULTS"
}

# The small-file phases, grid and row shapes: grid = GRID_DIRS directories
# of GRID_FILES files under ROOT/grid (rowfs: rows of a dataset), row =
# ROW_FILES files in ROOT/row/r (rowfs: columns of one row). In order:
# create, stat warm, stat cold, readdir, ls -l, cat warm, cat cold,
# overwrite, unlink. SMALL_FILE_SHAPES chooses the shapes (default both).
# shellcheck disable=SC2034  # used by the callers' reports
SMALL_FILE_LABELS=(mkdir create stat_warm stat_cold readdir ls_l cat_warm cat_cold overwrite unlink)
small_file_phases() {  # SYSTEM ROOT
  local sys=$1 root=$2 shape dir
  mkdir -p "$root/grid" "$root/row/r"
  for shape in ${SMALL_FILE_SHAPES:-grid row}; do
    local opts=(--shape "$shape")
    if [[ $shape == grid ]]; then
      dir=$root/grid
      opts+=(--dirs "$GRID_DIRS" --files "$GRID_FILES")
      bench "$sys" grid.mkdir mkdir "$dir" "${opts[@]}"
    else
      dir=$root/row/r
      opts+=(--files "$ROW_FILES")
    fi
    bench "$sys" "$shape.create" create "$dir" "${opts[@]}"
    bench "$sys" "$shape.stat_warm" stat "$dir" "${opts[@]}" --warmup
    drop_caches
    bench "$sys" "$shape.stat_cold" stat "$dir" "${opts[@]}"
    bench "$sys" "$shape.readdir" readdir "$dir" "${opts[@]}"
    bench "$sys" "$shape.ls_l" ls-l "$dir" "${opts[@]}"
    bench "$sys" "$shape.cat_warm" cat "$dir" "${opts[@]}" --warmup
    drop_caches
    bench "$sys" "$shape.cat_cold" cat "$dir" "${opts[@]}"
    bench "$sys" "$shape.overwrite" overwrite "$dir" "${opts[@]}"
    bench "$sys" "$shape.unlink" unlink "$dir" "${opts[@]}"
  done
}

# ---------------------------------------------------------------- figures

values() { awk -v s="$1" -v l="$2" -v k="$3" '$1 == s && $2 == l && $3 == k { print $4 }' "$RESULTS"; }
median() {  # SYSTEM LABEL KEY; "" when nothing was measured
  values "$1" "$2" "$3" | sort -g | awk '{ a[NR] = $1 }
    END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2];
          else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# fmt VALUE: a figure with sensible precision, "-" when missing.
fmt() {
  awk -v v="$1" 'BEGIN { if (v == "") print "-"; else if (v >= 1000) printf "%.0f\n", v;
    else if (v >= 10) printf "%.1f\n", v; else printf "%.3f\n", v }'
}
ratio() {  # A / B, "-" when either is missing
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-";
    else printf "%.2f\n", a / b }'
}
verdict() { awk -v c="$1" 'BEGIN { print (c == "" ? "n/a" : (c ? "MET" : "MISSED")) }'; }
# check EXPR A B: EXPR evaluated by awk with a, b bound; "" when either is empty.
check() {
  awk -v a="$2" -v b="$3" "BEGIN { if (a == \"\" || b == \"\") print \"\"; else print ($1) ? 1 : 0 }"
}
