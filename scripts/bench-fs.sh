#!/usr/bin/env bash
# Measures rowfs as a file system beside real peers, in one run on this
# machine, and prints a table of medians with the issue's targets:
#
#   rowfs        build-bench/rowfs on a fresh database (default options:
#                entry/attr timeouts 60 s, versions shown)
#   passthrough  libfuse's example passthrough_ll, built from
#                /usr/share/doc/libfuse3-dev/examples, over an ext4 directory,
#                in its default cache mode (cache=auto: 1 s entry/attr
#                timeouts, page cache dropped at open, no writeback cache):
#                the cost of FUSE itself
#   ext4         a plain directory on ext4 (under WORK_PARENT)
#   tmpfs        a tmpfs (size=2g) mounted for the run
#   db_bench     RocksDB's own ceiling: fillrandom, overwrite, readrandom and
#                deleterandom, 24-byte keys, 100-byte values
#
# Every system gets the same single-threaded system calls from fs_bench
# (tests/bench/fs_bench.cc) with 100-byte files, in two shapes:
#   grid  100 directories of 100 files (rowfs: 100 rows of one dataset)
#   row   one directory of 10,000 files (rowfs: one row of 10,000 columns)
# and, per shape, in this order: create, stat warm (after an untimed pass),
# stat cold (after sync + drop_caches), readdir names only, ls -l (getdents +
# lstat; both right after the cold stat pass), cat warm (after an untimed
# pass), cat cold, overwrite (O_TRUNC; rowfs stores a new version), unlink.
# Then: 256 MiB written sequentially in 1 MiB requests (timed through close,
# no fsync), read back cold and warm; 4 threads creating 2,500 files each in
# their own directory (rowfs: row). Each timed phase starts after a sync (no
# phase pays for the write-back of the one before; nothing is fsynced). Each
# run starts rowfs and passthrough_ll afresh on empty directories, then again
# with 60 s entry/attr timeouts for warm stat and cat of the row shape
# (informational: rowfs's default is 60 s already, passthrough_ll's 1 s,
# so this gives passthrough the same caching); RUNS runs; each figure is
# the median.
#
# Then the listing phase, set up once per system: LS_ROWS empty directories
# in one directory (rowfs: rows of one dataset made by fs_bench's mkdir loop,
# the fastest honest way through the mount: one mkdir per row, timed and
# reported; then a flush so the rows are read from SST files; ext4: made
# directly on ext4 and listed both directly and through passthrough_ll;
# tmpfs: directly), then RUNS times: drop caches, `ls -f DIR >/dev/null`,
# `ls -l DIR >/dev/null` (the real ls, wall time). The rowfs daemon's peak
# RSS (VmHWM, reset through /proc/PID/clear_refs after the set-up) is
# compared with its RSS before the listings.
#
# Versions: rowfs runs with versions shown (its default) in every phase;
# every listing phase runs before any overwrite, so listings hold latest
# values only either way. ROWFS_OPTS=versions=hidden changes that.
#
# rowfs's request counters (user.rowfs.stats, read by fs_bench around each
# timed pass) give the FUSE requests each rowfs phase caused, per operation.
#
#   scripts/bench-fs.sh                       3 runs, 100k-row listing
#   ROWS_1M=1 scripts/bench-fs.sh             the listing phase with 1M rows
#   RUNS=1 SYSTEMS="rowfs passthrough" scripts/bench-fs.sh
#
# Environment:
#   RUNS         runs of every phase (default 3); figures are medians
#   ROWS_1M      1: the listing phase uses 1,000,000 rows (slow: ~20 min more)
#   LS_ROWS      rows of the listing phase (default 100000, or 1M with ROWS_1M)
#   SYSTEMS      subset of "rowfs passthrough ext4 tmpfs" (default: all)
#   ROWFS_OPTS   extra rowfs -o options, e.g. entry_timeout=10,attr_timeout=10
#   DB_BENCH_NUM keys per db_bench benchmark (default 100000)
#   BUILD_DIR    build tree (default build-bench, configured without tests)
#   ROWFS_BIN    the rowfs binary to measure (default BUILD_DIR/rowfs, built
#                here); e.g. an older release's, built in its own tree
#   WORK_PARENT  where the temporary directory goes; must be ext4 (/var/tmp)
#
# rowfs keeps its default max_file_size (1G), enough for the 256 MiB file.
#
# Needs root (drop_caches, tmpfs), /dev/fuse, fusermount3, db_bench, gcc and
# pkg-config fuse3. Everything temporary lives under one directory, unmounted
# and removed on exit, also on failure. A missed target is reported, not an
# error: the exit status is 0 once the table is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

RUNS=${RUNS:-3}
ROWS_1M=${ROWS_1M:-0}
if [[ $ROWS_1M == 1 ]]; then LS_ROWS=${LS_ROWS:-1000000}; else LS_ROWS=${LS_ROWS:-100000}; fi
SYSTEMS=${SYSTEMS:-"rowfs passthrough ext4 tmpfs"}
ROWFS_OPTS=${ROWFS_OPTS:-}
DB_BENCH_NUM=${DB_BENCH_NUM:-100000}
BUILD_DIR=${BUILD_DIR:-build-bench}
WORK_PARENT=${WORK_PARENT:-/var/tmp}
EXAMPLES=${EXAMPLES:-/usr/share/doc/libfuse3-dev/examples}
VALUE_BYTES=100
SEQ_MIB=256
PAR_THREADS=4
PAR_FILES=10000   # in total
GRID_DIRS=100 GRID_FILES=100 ROW_FILES=10000

BENCH_NAME=bench-fs
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh  # the cwd is the repository root

bench_require_root_fuse ls
DB_BENCH=${DB_BENCH:-$(command -v db_bench || true)}
[[ -n $DB_BENCH && -x $DB_BENCH ]] || die "db_bench not found (apt-get install rocksdb-tools)"
LS=$(command -v ls)
for s in $SYSTEMS; do
  case $s in rowfs | passthrough | ext4 | tmpfs) ;; *) die "unknown system '$s'" ;; esac
done
has() { [[ " $SYSTEMS " == *" $1 "* ]]; }

# ---------------------------------------------------------------- build

note "building rowfs and fs_bench in $BUILD_DIR"
mkdir -p "$BUILD_DIR"
BUILD_DIR="$BUILD_DIR" scripts/build.sh -DROWFS_BUILD_TESTS=OFF \
  >"$BUILD_DIR/bench-fs-build.log" 2>&1 ||
  { tail -n 30 "$BUILD_DIR/bench-fs-build.log" >&2; die "build failed"; }
ROWFS=${ROWFS_BIN:-$BUILD_DIR/rowfs}
[[ -x $ROWFS ]] || die "$ROWFS is not an executable"
build_fs_bench
build_passthrough

# ---------------------------------------------------------------- state

LOG_DIR=$BUILD_DIR/bench-fs/$(date +%Y%m%d-%H%M%S)
mkdir -p "$LOG_DIR"
RESULTS=$LOG_DIR/results.txt   # "system phase key value" lines, one per run
: >"$RESULTS"
bench_work_setup rowfs-bench-fs

# passthrough_ll keeps an O_PATH descriptor per inode the kernel knows.
ulimit -n "$(cat /proc/sys/fs/nr_open)" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

TMPFS=$WORK/tmpfs
mkdir -p "$TMPFS"

if has tmpfs; then
  mount -t tmpfs -o size=2g,mode=0755 rowfs-bench "$TMPFS"
  MOUNTS+=("$TMPFS")
fi

# The directory each system's phases work in.
root_of() {
  case $1 in
    rowfs) echo "$ROWFS_MNT" ;;
    passthrough) echo "$PT_MNT/files" ;;
    ext4) echo "$EXT4/files" ;;
    tmpfs) echo "$TMPFS/files" ;;
  esac
}

# The small-file, sequential and parallel phases of one system, one run.
suite() {
  local sys=$1 root shape dir
  root=$(root_of "$sys")
  mkdir -p "$root/seq/r" "$root/par"
  small_file_phases "$sys" "$root"
  bench "$sys" seq.write seqwrite "$root/seq/r" --size-mib "$SEQ_MIB" --block-kib 1024
  drop_caches
  bench "$sys" seq.read_cold seqread "$root/seq/r" --size-mib "$SEQ_MIB" --block-kib 1024
  bench "$sys" seq.read_warm seqread "$root/seq/r" --size-mib "$SEQ_MIB" --block-kib 1024 --warmup
  bench "$sys" par.create par-create "$root/par" --threads "$PAR_THREADS" --files "$PAR_FILES"
}

# Warm stat and cat again with 60 s entry/attr timeouts (rowfs -o
# entry_timeout=60,attr_timeout=60; passthrough_ll -o timeout=60), row shape:
# what the kernel's caches save when entries do not expire during the pass.
suite_long_timeouts() {
  local sys=$1 dir
  dir=$(root_of "$sys")/long/r
  mkdir -p "$dir"
  bench "$sys" long.create create "$dir" --files "$ROW_FILES"
  bench "$sys" long.stat_warm stat "$dir" --files "$ROW_FILES" --warmup
  bench "$sys" long.cat_warm cat "$dir" --files "$ROW_FILES" --warmup
}

# shellcheck source=scripts/db-bench-flags.sh
source scripts/db-bench-flags.sh  # the cwd is the repository root
DB_BENCH_FLAGS=(
  --num="$DB_BENCH_NUM" --reads="$DB_BENCH_NUM" --threads=1
  --key_size=24 --value_size="$VALUE_BYTES" --compression_ratio=0.5
  --compression_type=lz4
  "${ROWFS_MATCHED_DB_BENCH_FLAGS[@]}"
)

run_db_bench() {
  local run=$1 log=$LOG_DIR/db_bench-$1.log b v
  "$DB_BENCH" "${DB_BENCH_FLAGS[@]}" --db="$WORK/dbbench" --seed="$run" \
    --benchmarks=fillrandom,overwrite,readrandom,deleterandom >"$log" 2>&1 ||
    { tail -n 5 "$log" >&2; die "db_bench failed"; }
  rm -rf "$WORK/dbbench"
  for b in fillrandom overwrite readrandom deleterandom; do
    v=$(awk -v b="$b" '$1 == b && $2 == ":" {
          for (i = 3; i <= NF; i++) if ($i == "ops/sec") print $(i - 1) }' "$log")
    [[ -n $v ]] || die "cannot parse db_bench $b in $log"
    echo "db_bench $b rate $v" >>"$RESULTS"
  done
}

# ---------------------------------------------------------------- runs

note "work directory $WORK (ext4), logs $LOG_DIR"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$EPOCHREALTIME
for ((run = 1; run <= RUNS; run++)); do
  for sys in $SYSTEMS; do
    note "run $run/$RUNS: $sys"
    case $sys in
      rowfs) start_rowfs ;;
      passthrough) start_passthrough ;;
    esac
    suite "$sys"
    case $sys in
      rowfs) stop_rowfs ;;
      passthrough) stop_passthrough; rm -rf "$EXT4/files" ;;
      ext4) rm -rf "$EXT4/files" ;;
      tmpfs) rm -rf "$TMPFS/files" ;;
    esac
  done
  for sys in rowfs passthrough; do
    has "$sys" || continue
    note "run $run/$RUNS: $sys with 60 s timeouts"
    if [[ $sys == rowfs ]]; then
      start_rowfs entry_timeout=60,attr_timeout=60
      suite_long_timeouts rowfs
      stop_rowfs
    else
      start_passthrough timeout=60
      suite_long_timeouts passthrough
      stop_passthrough
      rm -rf "$EXT4/files"
    fi
  done
  note "run $run/$RUNS: db_bench"
  run_db_bench "$run"
done

# ---------------------------------------------------------------- listing


# rowfs's ops_* counters as "kind count" lines.
rowfs_ops() {
  getfattr -n user.rowfs.stats --only-values "$ROWFS_MNT" 2>/dev/null |
    awk -F= '/^ops_/ { sub(/^ops_/, "", $1); print $1, $2 }'
}
# ops_diff BEFORE AFTER LABEL: records req_* differences for rowfs.
ops_diff() {
  awk -v l="$3" 'NR == FNR { b[$1] = $2; next }
    { d = $2 - b[$1]; if ($1 == "xattr") d--; if (d != 0) print "rowfs", l, "req_" $1, d }' \
    <(echo "$1") <(echo "$2") >>"$RESULTS"
}

# timed_ls SYSTEM LABEL LS-FLAG DIR: one wall-clock timed ls; a failure is
# recorded (and reported in the table), not fatal.
timed_ls() {
  local t0 t1
  t0=$(now)
  if ! "$LS" "$3" "$4" >/dev/null 2>>"$LOG_DIR/ls.err"; then
    note "$1: ls $3 $4 failed: $(tail -n 1 "$LOG_DIR/ls.err")"
    echo "$1 $2 failed 1" >>"$RESULTS"
    return 1
  fi
  t1=$(now)
  echo "$1 $2 seconds $(elapsed "$t0" "$t1")" >>"$RESULTS"
}

# list_rows SYSTEM DIR: RUNS x (drop caches, ls -f, ls -l) of DIR.
list_rows() {
  local sys=$1 dir=$2 run before after n
  for ((run = 1; run <= RUNS; run++)); do
    drop_caches
    [[ $sys == rowfs ]] && before=$(rowfs_ops)
    timed_ls "$sys" rows.ls_f -f "$dir" || return 0
    if [[ $sys == rowfs ]]; then
      after=$(rowfs_ops); ops_diff "$before" "$after" rows.ls_f
      if ((run == 1)); then
        # VmHWM was reset before the first listing: the peak of ls -f alone.
        echo "rowfs rows.rss_hwm_ls_f_kib value $(vm_kib "$ROWFS_PID" VmHWM)" >>"$RESULTS"
      fi
      before=$after
    fi
    timed_ls "$sys" rows.ls_l -l "$dir" || return 0
    if [[ $sys == rowfs ]]; then
      after=$(rowfs_ops); ops_diff "$before" "$after" rows.ls_l
    fi
  done
  n=$("$LS" -f "$dir" | grep -cvx '\.\{1,2\}' || true)
  if [[ $n != "$LS_ROWS" ]]; then
    note "$sys: $dir lists $n rows, expected $LS_ROWS"
    echo "$sys rows.count failed 1" >>"$RESULTS"
  fi
}

make_rows() {  # SYSTEM DIR: the LS_ROWS directories, timed as set-up
  bench "$1" rows.setup mkdir "$2" --shape grid --dirs "$LS_ROWS"
}

if has rowfs; then
  note "listing: rowfs, making $LS_ROWS rows (mkdir through the mount)"
  start_rowfs
  mkdir "$ROWFS_MNT/rows"
  make_rows rowfs "$ROWFS_MNT/rows"
  setfattr -n user.rowfs.ctl.flush -v 1 "$ROWFS_MNT"
  drop_caches
  echo 5 >"/proc/$ROWFS_PID/clear_refs"   # VmHWM := VmRSS
  echo "rowfs rows.rss_base_kib value $(vm_kib "$ROWFS_PID" VmRSS)" >>"$RESULTS"
  note "listing: rowfs, ls -f and ls -l x $RUNS"
  list_rows rowfs "$ROWFS_MNT/rows"
  echo "rowfs rows.rss_hwm_kib value $(vm_kib "$ROWFS_PID" VmHWM)" >>"$RESULTS"
  stop_rowfs
fi
if has ext4 || has passthrough; then
  note "listing: ext4, making $LS_ROWS directories"
  mkdir "$EXT4/rows"
  make_rows ext4 "$EXT4/rows"
  if has ext4; then
    note "listing: ext4, ls -f and ls -l x $RUNS"
    list_rows ext4 "$EXT4/rows"
  fi
  if has passthrough && ((LS_ROWS + 1000 > $(ulimit -Hn))); then
    # passthrough_ll holds an O_PATH descriptor for every inode the kernel
    # knows (readdirplus looks up every entry); without CAP_SYS_RESOURCE the
    # hard limit cannot be raised, and its listing would fail with EMFILE.
    note "listing: passthrough skipped: $LS_ROWS entries need more descriptors than" \
      "the hard limit of $(ulimit -Hn) allows"
    echo "passthrough rows.skipped_nofile $(ulimit -Hn)" >>"$RESULTS"
  elif has passthrough; then
    note "listing: passthrough, ls -f and ls -l x $RUNS"
    start_passthrough
    list_rows passthrough "$PT_MNT/rows"
    stop_passthrough
  fi
  note "listing: removing the ext4 directories"
  rm -rf "$EXT4/rows"
fi
if has tmpfs; then
  note "listing: tmpfs"
  mkdir "$TMPFS/rows"
  make_rows tmpfs "$TMPFS/rows"
  list_rows tmpfs "$TMPFS/rows"
  rm -rf "$TMPFS/rows"
fi
TOTAL=$(elapsed "$START" "$(now)")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

# Ratios of rates are rowfs/peer (>1: rowfs faster); for times (seconds)
# they are peer/rowfs, so >1 means rowfs is faster there too.
speedup() {  # KEY ROWFS PEER
  if [[ $1 == seconds ]]; then ratio "$3" "$2"; else ratio "$2" "$3"; fi
}

ROWS_ROW=(
  "grid.mkdir|grid 100x100: mkdir (dirs)|ops/s|rate|"
  "grid.create|grid: create|ops/s|rate|fillrandom"
  "grid.stat_warm|grid: stat warm|ops/s|rate|"
  "grid.stat_cold|grid: stat cold|ops/s|rate|"
  "grid.readdir|grid: readdir names|entries/s|rate|"
  "grid.ls_l|grid: ls -l (readdir+lstat)|entries/s|rate|"
  "grid.cat_warm|grid: cat warm|ops/s|rate|readrandom"
  "grid.cat_cold|grid: cat cold|ops/s|rate|"
  "grid.overwrite|grid: overwrite|ops/s|rate|overwrite"
  "grid.unlink|grid: unlink|ops/s|rate|deleterandom"
  "row.create|row 1x10000: create|ops/s|rate|fillrandom"
  "row.stat_warm|row: stat warm|ops/s|rate|"
  "row.stat_cold|row: stat cold|ops/s|rate|"
  "row.readdir|row: readdir names|entries/s|rate|"
  "row.ls_l|row: ls -l (readdir+lstat)|entries/s|rate|"
  "row.cat_warm|row: cat warm|ops/s|rate|readrandom"
  "row.cat_cold|row: cat cold|ops/s|rate|"
  "row.overwrite|row: overwrite|ops/s|rate|overwrite"
  "row.unlink|row: unlink|ops/s|rate|deleterandom"
  "seq.write|seq write 256 MiB|MiB/s|rate|"
  "seq.read_cold|seq read 256 MiB cold|MiB/s|rate|"
  "seq.read_warm|seq read 256 MiB warm|MiB/s|rate|"
  "par.create|4 threads create|ops/s|rate|"
  "long.stat_warm|row, 60 s timeouts: stat warm|ops/s|rate|"
  "long.cat_warm|row, 60 s timeouts: cat warm|ops/s|rate|readrandom"
  "rows.setup|$LS_ROWS rows: make (set-up)|s|seconds|"
  "rows.ls_f|$LS_ROWS rows: ls -f|s|seconds|"
  "rows.ls_l|$LS_ROWS rows: ls -l|s|seconds|"
)

req_per_op() {  # LABEL KINDS...: median requests of those kinds per operation
  local label=$1 ops total=0 k v
  shift
  ops=$(median rowfs "$label" ops)
  [[ -n $ops ]] || { echo ""; return; }
  for k in "$@"; do
    v=$(median rowfs "$label" "req_$k")
    total=$(awk -v t="$total" -v v="${v:-0}" 'BEGIN { print t + v }')
  done
  awk -v t="$total" -v o="$ops" 'BEGIN { printf "%.3f\n", t / o }'
}

{
  echo
  echo "rowfs file-system benchmark on $(nproc) CPUs, $(uname -r); $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "median of $RUNS runs; $VALUE_BYTES-byte files; listing phase: $LS_ROWS rows" \
       "$([[ $LS_ROWS == 1000000 ]] && echo "(ROWS_1M=1)" || echo "(default; ROWS_1M=1 for 1M)")"
  echo "rowfs: -o ${ROWFS_OPTS:-(defaults)}, versions shown (listings run before any overwrite);" \
       "passthrough_ll: default cache mode (cache=auto, timeout 1 s) over ext4"
  echo "db_bench $("$DB_BENCH" --version 2>/dev/null | head -n1 | awk '{print $NF}'):" \
       "$DB_BENCH_NUM keys, key 24 B, value $VALUE_BYTES B, WAL on without sync, lz4"
  echo "load average before/after: $LOAD_BEFORE / $LOAD_AFTER; wall time ${TOTAL%.*} s"
  echo
  printf '%-30s %-9s %9s %9s %9s %9s %9s %8s %8s %8s\n' phase unit rowfs passthru ext4 tmpfs \
    db_bench rowfs/pt rowfs/ext4 rowfs/db
  for spec in "${ROWS_ROW[@]}"; do
    IFS='|' read -r label title unit key dbb <<<"$spec"
    r=$(median rowfs "$label" "$key"); p=$(median passthrough "$label" "$key")
    e=$(median ext4 "$label" "$key"); t=$(median tmpfs "$label" "$key")
    d=""; [[ -n $dbb ]] && d=$(median db_bench "$dbb" rate)
    printf '%-30s %-9s %9s %9s %9s %9s %9s %8s %8s %8s\n' "$title" "$unit" "$(fmt "$r")" \
      "$(fmt "$p")" "$(fmt "$e")" "$(fmt "$t")" "$(fmt "$d")" "$(speedup "$key" "$r" "$p")" \
      "$(speedup "$key" "$r" "$e")" "$(speedup "$key" "$r" "$d")"
  done
  echo "(ratios > 1: rowfs is faster; for times, the peer's time / rowfs's time;"
  echo " db_bench columns: fillrandom, readrandom, overwrite, deleterandom ops/s)"
  echo "(passthrough's listing reads the ext4 directories made for ext4; its set-up is ext4's)"
  nofile=$(awk '$2 == "rows.skipped_nofile" { print $3 }' "$RESULTS" | head -n1)
  [[ -n $nofile ]] && echo "(passthrough's $LS_ROWS-row listing not run: passthrough_ll keeps one descriptor" \
    "per known inode and RLIMIT_NOFILE's hard limit is $nofile here, not raisable without CAP_SYS_RESOURCE)"
  failed=$(awk '$2 ~ /^rows\./ && $3 == "failed" { print $1 " " $2 }' "$RESULTS" | sort -u | tr '\n' ' ')
  [[ -n $failed ]] && echo "(failed listings, see $LOG_DIR/ls.err: $failed)"

  if has rowfs; then
    echo
    echo "rowfs FUSE requests per operation (medians of user.rowfs.stats differences over each timed pass)"
    for spec in "${ROWS_ROW[@]}"; do
      IFS='|' read -r label title unit key dbb <<<"$spec"
      ops=$(median rowfs "$label" ops)
      kinds=$(awk -v l="$label" '$1 == "rowfs" && $2 == l && $3 ~ /^req_/ { sub(/^req_/, "", $3); print $3 }' \
        "$RESULTS" | sort -u)
      [[ -n $kinds ]] || continue
      line=""
      for k in $kinds; do
        v=$(median rowfs "$label" "req_$k")
        if [[ $label == rows.* ]]; then
          line+=" $k=$(awk -v v="$v" -v n="$LS_ROWS" 'BEGIN { printf "%.3f", v / n }')"
        else
          line+=" $k=$(awk -v v="${v:-0}" -v o="$ops" 'BEGIN { printf "%.3f", v / o }')"
        fi
      done
      printf '  %-30s%s\n' "$title" "$line"
    done
    echo "  (per file, per directory entry, per 1 MiB request or per row; seq/par: per request and per file)"
  fi

  echo
  echo "targets"
  printf '  %-56s %-34s %s\n' target measured verdict
  t() { printf '  %-56s %-34s %s\n' "$1" "$2" "$(verdict "$3")"; }
  for op in create overwrite unlink stat_cold; do
    for shape in grid row; do
      r=$(median rowfs "$shape.$op" rate); p=$(median passthrough "$shape.$op" rate)
      t "$op ($shape) >= passthrough" "rowfs/pt = $(ratio "$r" "$p")" "$(check 'a >= b' "$r" "$p")"
    done
  done
  for shape in grid row; do
    rq=$(req_per_op "$shape.stat_warm" lookup getattr)
    t "stat warm ($shape): no daemon round trip" "lookup+getattr/stat = ${rq:--}" \
      "$(check 'a <= 0.01' "$rq" 0)"
  done
  rq=$(req_per_op long.stat_warm lookup getattr)
  t "  [info] same, row, 60 s timeouts" "lookup+getattr/stat = ${rq:--}" \
    "$(check 'a <= 0.01' "$rq" 0)"
  for shape in grid row; do
    r=$(median rowfs "$shape.ls_l" rate)
    t "ls -l ($shape) >= 40k entries/s" "$(fmt "$r") entries/s" "$(check 'a >= 40000' "$r" 0)"
  done
  s=$(median rowfs rows.ls_l seconds)
  r=$([[ -n $s ]] && awk -v s="$s" -v n="$LS_ROWS" 'BEGIN { print n / s }')
  t "ls -l of $LS_ROWS rows >= 40k entries/s" "$(fmt "$r") entries/s" "$(check 'a >= 40000' "$r" 0)"
  for shape in grid row; do
    r=$(median rowfs "$shape.readdir" rate)
    t "readdir names ($shape) >= 250k entries/s" "$(fmt "$r") entries/s" "$(check 'a >= 250000' "$r" 0)"
  done
  s=$(median rowfs rows.ls_f seconds)
  r=$([[ -n $s ]] && awk -v s="$s" -v n="$LS_ROWS" 'BEGIN { print n / s }')
  t "ls -f of $LS_ROWS rows >= 250k entries/s" "$(fmt "$r") entries/s" "$(check 'a >= 250000' "$r" 0)"
  if [[ $LS_ROWS == 1000000 ]]; then
    t "ls -f of 1M rows < 5 s" "$(fmt "$s") s" "$(check 'a < 5' "$s" 0)"
  else
    x=$([[ -n $s ]] && awk -v s="$s" -v n="$LS_ROWS" 'BEGIN { print s * 1000000 / n }')
    t "ls -f of 1M rows < 5 s (extrapolated)" "$(fmt "$s") s x $((1000000 / LS_ROWS)) = $(fmt "$x") s" \
      "$(check 'a < 5' "$x" 0)"
  fi
  base=$(median rowfs rows.rss_base_kib value)
  hf=$(median rowfs rows.rss_hwm_ls_f_kib value)
  hl=$(median rowfs rows.rss_hwm_kib value)
  g=$([[ -n $base && -n $hf ]] && awk -v a="$hf" -v b="$base" 'BEGIN { print (a - b) / 1024 }')
  t "daemon RSS growth in ls -f < 64 MiB" "$(fmt "$g") MiB (base $(fmt "$([[ -n $base ]] && awk -v b="$base" 'BEGIN { print b / 1024 }')") MiB)" \
    "$(check 'a < 64' "$g" 0)"
  for shape in grid row; do
    r=$(median rowfs "$shape.cat_warm" rate); p=$(median passthrough "$shape.cat_warm" rate)
    t "cat warm ($shape) >= 2x passthrough" "rowfs/pt = $(ratio "$r" "$p")" "$(check 'a >= 2 * b' "$r" "$p")"
  done
  r=$(median rowfs seq.write rate)
  t "seq write 256 MiB >= 300 MiB/s" "$(fmt "$r") MiB/s (close: $(fmt "$(median rowfs seq.write close_seconds)") s)" \
    "$(check 'a >= 300' "$r" 0)"
  r=$(median rowfs seq.read_cold rate)
  t "seq read 256 MiB (cold) >= 500 MiB/s" "$(fmt "$r") MiB/s" "$(check 'a >= 500' "$r" 0)"
  r=$(median rowfs seq.read_warm rate)
  t "seq read 256 MiB (warm) >= 500 MiB/s" "$(fmt "$r") MiB/s" "$(check 'a >= 500' "$r" 0)"
  for pair in create:fillrandom overwrite:overwrite cat_warm:readrandom unlink:deleterandom; do
    op=${pair%%:*} dbb=${pair#*:}
    d=$(median db_bench "$dbb" rate)
    for shape in grid row; do
      r=$(median rowfs "$shape.$op" rate)
      t "$op ($shape) within 1.5x of db_bench $dbb" "slowdown $(ratio "$d" "$r")x" \
        "$(check 'b / a <= 1.5' "$r" "$d")"
    done
  done
  echo "  (stat warm: ~0 taken as <= 0.01 requests per stat; the stats read itself is not counted)"
  if [[ -n $hl && -n $base ]]; then
    echo "  daemon peak RSS over all $RUNS ls -f + ls -l runs: $(fmt "$(awk -v a="$hl" 'BEGIN { print a / 1024 }')") MiB" \
      "(growth $(fmt "$(awk -v a="$hl" -v b="$base" 'BEGIN { print (a - b) / 1024 }')") MiB)"
  fi
  echo
  echo "logs and raw results: $LOG_DIR"
} | tee "$LOG_DIR/summary.txt"
