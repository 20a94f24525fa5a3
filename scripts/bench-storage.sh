#!/usr/bin/env bash
# Measures the storage-format-2 targets of rowfs (content as chunks shared
# between versions, open files streamed in bounded memory, range reads)
# beside its peers in the same run, and prints one table: rowfs's figure,
# the peers', the ratio, the target and whether it is met.
#
# Systems (all under one temporary directory on ext4, WORK_PARENT):
#   rowfs        BUILD_DIR/rowfs (built here) on a fresh database per phase,
#                default options
#   passthrough  libfuse's example passthrough_ll (built from EXAMPLES) over
#                an ext4 directory, default cache mode: the cost of FUSE
#   ext4         a plain directory on ext4
#   rowfs old    the release before format 2 (OLD_REV, c2bd32e), built from a
#                git worktree in OLD_SRC, for the small-file phases only
#
# File contents are random bytes (incompressible: rowfs compresses with
# lz4, ext4 does not), copied with dd from a file in a tmpfs so that reading
# the source costs nothing and drop_caches does not drop it.
#
# Phases, each run (RUNS, default 3; every figure is the median over runs,
# or over all samples where a phase takes several per run):
#   seq      256 MiB and 1 GiB written with `dd bs=1M` into a new file, timed
#            through close (no fsync; a sync before, not timed), then read
#            back cold with dd (drop_caches first; rowfs: ctl.flush first, so
#            the bytes come from SST files, not memtables); rowfs,
#            passthrough, ext4 in turn for each size. The rowfs daemon's
#            VmRSS before the write (idle, after mkdir of its row) and its
#            VmHWM after it (reset via /proc/PID/clear_refs) give the peak.
#   sparse   five new files, opened at once by storage_probe, one 1-byte
#            pwrite at offset 1 GiB-1 in each, held open 3 s, closed;
#            the daemon's VmHWM (reset after start) is the peak.
#   cold     a 512 MiB column (rowfs: written, flushed, daemon restarted so
#            its block cache is empty; ext4: a file; passthrough: another
#            file on the same ext4), then COLD_SAMPLES times: drop caches,
#            one stat(2) of the path; drop caches, open + one 4 KiB pread
#            at a random offset (the same offsets for every system).
#   append   rowfs: a 10 MiB column, then 200 `echo line >> f`; ctl.flush,
#            ctl.compact '*'; `du -sb` of the database directory against the
#            file's size. Then the daemon is restarted, caches dropped, and
#            `ls -l` of that row (the column and its 200 older versions: one
#            10 MiB write then 200 appends) is run; the daemon's
#            /proc/PID/io read_bytes difference is what it read from disk.
#            Then, same daemon, 200 appends each to a 1 MiB and a 100 MiB
#            column: median time per append (also on ext4 and passthrough).
#   sqlite   sqlite3 CLI: a table of 1,100 rows of 400-character text
#            (~0.5 MB), then 500 autocommit UPDATEs of random rows (one
#            sqlite3 process; each is one transaction), timed; rowfs:
#            ctl.flush + ctl.compact '*', `du -sb` of the database directory
#            against the SQLite file's final size; `PRAGMA integrity_check`.
#            journal_mode=DELETE (the target) and WAL (information); rowfs,
#            ext4 and passthrough for the time.
#   small    bench-fs.sh's small-file phases (fs_bench: grid 100x100 and row
#            1x10000 of 100-byte files: create, stat warm/cold, readdir,
#            ls -l, cat warm/cold, overwrite, unlink) with the old and the
#            new rowfs binary, alternating which goes first; ratios new/old:
#            the median of the runs' ratios (each run pairs the two binaries
#            back to back, which cancels most of the host's drift), and the
#            ratio of the medians. "No slower" is taken as >= 0.9.
# Once, after the runs:
#   datasets DATASETS (default 10000) datasets made with mkdir (storage_probe
#            mkdirs, one mkdir each), the first 1,000 and the last 1,000
#            timed (within DATASETS_BUDGET); unmount; mount again with `ulimit -n 1024` (soft and
#            hard) in the daemon's shell: start time (until the mount is
#            live), VmRSS, the datasets listed, a column written and read.
#
#   scripts/bench-storage.sh
#   RUNS=1 DATASETS=2000 PHASES="seq cold" scripts/bench-storage.sh
#
# Environment:
#   RUNS          runs (default 3)
#   PHASES        subset of "seq sparse cold append sqlite small datasets"
#   DATASETS      datasets of the datasets phase (default 10000)
#   DATASETS_BUDGET  seconds the mkdirs may take (default 1800): past it,
#                 mkdir stops after the current 1,000, and the last 1,000
#                 made are compared with the first (the table says how many)
#   COLD_SAMPLES  cold stat/pread samples per run (default 5)
#   SEED          seed of the random offsets and rows (default 1)
#   BUILD_DIR     build tree (default build-bench)
#   OLD_REV       the release compared in the small-file phases (c2bd32e)
#   OLD_SRC       its git worktree (default /tmp/rowfs-format1; made and
#                 removed here unless it exists). The old binary is kept as
#                 BUILD_DIR/rowfs-<full OLD_REV> and reused when present.
#   OLD_ROWFS_BIN the old binary to use instead of building one
#   WORK_PARENT   where the temporary directory goes; must be ext4 (/var/tmp)
#   REPORT_ONLY   a run's log directory: print its table again (from its
#                 results.txt and meta.sh) without measuring
#
# Needs root (drop_caches, tmpfs), /dev/fuse, fusermount3, gcc, g++,
# pkg-config fuse3, sqlite3, setfattr (attr), git. Everything temporary lives
# under one directory, unmounted and removed on exit, also on failure. A
# missed target is reported, not an error: the exit status is 0 once the
# table is printed.
# shellcheck disable=SC2119  # start_rowfs/start_passthrough: options optional
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

RUNS=${RUNS:-3}
PHASES=${PHASES:-"seq sparse cold append sqlite small datasets"}
DATASETS=${DATASETS:-10000}
DATASETS_BUDGET=${DATASETS_BUDGET:-1800}
COLD_SAMPLES=${COLD_SAMPLES:-5}
SEED=${SEED:-1}
BUILD_DIR=${BUILD_DIR:-build-bench}
WORK_PARENT=${WORK_PARENT:-/var/tmp}
EXAMPLES=${EXAMPLES:-/usr/share/doc/libfuse3-dev/examples}
OLD_REV=${OLD_REV:-c2bd32e}
OLD_SRC=${OLD_SRC:-/tmp/rowfs-format1}
ROWFS_OPTS=${ROWFS_OPTS:-}
VALUE_BYTES=100
GRID_DIRS=100 GRID_FILES=100 ROW_FILES=10000
SEQ_SIZES=(256 1024)  # MiB
COLD_MIB=512
APPENDS=200
SQL_ROWS=1100 SQL_TX=500
MiB=1048576

BENCH_NAME=bench-storage
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh  # the cwd is the repository root

bench_require_root_fuse sqlite3 setfattr git dd du
for p in $PHASES; do
  case $p in seq | sparse | cold | append | sqlite | small | datasets) ;;
    *) die "unknown phase '$p'" ;; esac
done
want() { [[ " $PHASES " == *" $1 "* ]]; }
RANDOM=$SEED

# ---------------------------------------------------------------- report

# median_of: the median of the numbers on stdin, one a line ("" for none).
median_of() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2];
  else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mib_of() { awk -v v="$1" 'BEGIN { if (v == "") print ""; else printf "%.1f\n", v / 1024 }'; }  # KiB
mib_b() { awk -v v="$1" 'BEGIN { if (v == "") print ""; else printf "%.3f\n", v / 1048576 }'; }  # bytes
ms_of() { awk -v v="$1" 'BEGIN { if (v == "") print ""; else printf "%.3f\n", v * 1000 }'; }  # s
row() {  # MEASURE UNIT ROWFS PT EXT4 RATIO TARGET VERDICT
  printf '%-44s %-6s %9s %9s %9s  %-22s %-22s %s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8"
}
f() { fmt "$1"; }
# paired_ratio LABEL: the median over runs of rowfs_new/rowfs_old rates (the
# i-th value of each is run i's).
paired_ratio() {
  paste <(values rowfs_new "$1" rate) <(values rowfs_old "$1" rate) |
    awk -F'\t' '$1 != "" && $2 != "" && $2 > 0 { print $1 / $2 }' | median_of
}

# report: the table, from RESULTS and NOTES (and the run's META).
report() {
  echo
  echo "rowfs storage benchmark (format 2) on $CPUS CPUs, $KERNEL; $STAMP; rowfs $REV"
  echo "median of $RUNS runs; rowfs -o ${ROWFS_OPTS:-(defaults)}; passthrough_ll: default cache" \
    "mode over ext4; contents random (incompressible)"
  echo "load average before/after: $LOAD_BEFORE / $LOAD_AFTER; wall time ${TOTAL%.*} s"
  echo
  row measure unit rowfs passthru ext4 ratio target verdict
  for mib in "${SEQ_SIZES[@]}"; do
    name=$([[ $mib == 1024 ]] && echo "1 GiB" || echo "$mib MiB")
    r=$(median rowfs "seq$mib.write" rate); p=$(median passthrough "seq$mib.write" rate)
    e=$(median ext4 "seq$mib.write" rate)
    row "seq write $name (dd bs=1M, through close)" MiB/s "$(f "$r")" "$(f "$p")" "$(f "$e")" \
      "$(ratio "$r" "$p") r/pt" ">= 0.5x passthrough" "$(verdict "$(check 'a >= 0.5 * b' "$r" "$p")")"
  done
  for mib in "${SEQ_SIZES[@]}"; do
    name=$([[ $mib == 1024 ]] && echo "1 GiB" || echo "$mib MiB")
    r=$(median rowfs "seq$mib.read_cold" rate); p=$(median passthrough "seq$mib.read_cold" rate)
    e=$(median ext4 "seq$mib.read_cold" rate)
    row "seq read $name cold" MiB/s "$(f "$r")" "$(f "$p")" "$(f "$e")" \
      "$(ratio "$r" "$p") r/pt" ">= 1x passthrough" "$(verdict "$(check 'a >= b' "$r" "$p")")"
  done
  idle=$(median rowfs seq1024.rss_idle_kib value); hwm=$(median rowfs seq1024.rss_hwm_kib value)
  g=$(median rowfs seq1024.rss_growth_kib value)
  row "daemon RSS writing 1 GiB: peak - idle" MiB "$(f "$(mib_of "$g")")" - - \
    "idle $(f "$(mib_of "$idle")"), peak $(f "$(mib_of "$hwm")")" "<= 64 MiB above idle" \
    "$(verdict "$(check 'a <= 64 * 1024' "$g" 0)")"
  hwm=$(median rowfs sparse.rss_hwm_kib value); idle=$(median rowfs sparse.rss_idle_kib value)
  row "daemon peak RSS, 5 open files pwrite@1GiB-1" MiB "$(f "$(mib_of "$hwm")")" - - \
    "idle $(f "$(mib_of "$idle")")" "<= 256 MiB total" "$(verdict "$(check 'a <= 256 * 1024' "$hwm" 0)")"
  r=$(median rowfs cold.stat seconds); p=$(median passthrough cold.stat seconds)
  e=$(median ext4 cold.stat seconds)
  row "cold stat, 512 MiB column" ms "$(f "$(ms_of "$r")")" "$(f "$(ms_of "$p")")" \
    "$(f "$(ms_of "$e")")" "$(ratio "$r" "$e") r/ext4" "<= 2x ext4" "$(verdict "$(check 'a <= 2 * b' "$r" "$e")")"
  r=$(median rowfs cold.pread seconds); p=$(median passthrough cold.pread seconds)
  e=$(median ext4 cold.pread seconds)
  row "cold 4 KiB pread at random offset, 512 MiB" ms "$(f "$(ms_of "$r")")" "$(f "$(ms_of "$p")")" \
    "$(f "$(ms_of "$e")")" "$(ratio "$r" "$e") r/ext4" "<= 5x ext4" "$(verdict "$(check 'a <= 5 * b' "$r" "$e")")"
  r=$(median rowfs cold.open_pread seconds); p=$(median passthrough cold.open_pread seconds)
  e=$(median ext4 cold.open_pread seconds)
  row "  [info] cold stat, first after restart" ms "$(f "$(ms_of "$(median rowfs cold.stat_first seconds)")")" \
    "$(f "$(ms_of "$(median passthrough cold.stat_first seconds)")")" \
    "$(f "$(ms_of "$(median ext4 cold.stat_first seconds)")")" \
    "$(ratio "$(median rowfs cold.stat_first seconds)" "$(median ext4 cold.stat_first seconds)") r/ext4" "" ""
  row "  [info] cold pread, first after restart" ms "$(f "$(ms_of "$(median rowfs cold.pread_first seconds)")")" \
    "$(f "$(ms_of "$(median passthrough cold.pread_first seconds)")")" \
    "$(f "$(ms_of "$(median ext4 cold.pread_first seconds)")")" \
    "$(ratio "$(median rowfs cold.pread_first seconds)" "$(median ext4 cold.pread_first seconds)") r/ext4" "" ""
  row "  [info] same, open + pread + close" ms "$(f "$(ms_of "$r")")" "$(f "$(ms_of "$p")")" \
    "$(f "$(ms_of "$e")")" "$(ratio "$r" "$e") r/ext4" "" ""
  d=$(median rowfs append10.db_bytes value); s=$(median rowfs append10.file_bytes value)
  row "10 MiB + $APPENDS appends: DB bytes (du -sb)" MiB "$(f "$(mib_b "$d")")" - - \
    "$(ratio "$d" "$s") x file" "<= 3x file" "$(verdict "$(check 'a <= 3 * b' "$d" "$s")")"
  d=$(median rowfs append10u.db_bytes value); s=$(median rowfs append10u.file_bytes value)
  row "  [info] same, 10,000,000-byte column" MiB "$(f "$(mib_b "$d")")" - - \
    "$(ratio "$d" "$s") x file" "" ""
  a1=$(median rowfs append1.append_seconds value); a100=$(median rowfs append100.append_seconds value)
  row "time per append, 100 MiB vs 1 MiB column" ms "$(f "$(ms_of "$a100")")" \
    "$(f "$(ms_of "$(median passthrough append100.append_seconds value)")")" \
    "$(f "$(ms_of "$(median ext4 append100.append_seconds value)")")" \
    "$(ratio "$a100" "$a1") x 1 MiB" "<= 2x (1 MiB's)" "$(verdict "$(check 'a <= 2 * b' "$a100" "$a1")")"
  row "  [info] time per append, 1 MiB column" ms "$(f "$(ms_of "$a1")")" \
    "$(f "$(ms_of "$(median passthrough append1.append_seconds value)")")" \
    "$(f "$(ms_of "$(median ext4 append1.append_seconds value)")")" "" "" ""
  row "  [info] time per append, 10 MiB column" ms \
    "$(f "$(ms_of "$(median rowfs append10.append_seconds value)")")" - - "" "" ""
  for mode in delete wal; do
    d=$(median rowfs "sqlite_$mode.db_bytes" value); s=$(median rowfs "sqlite_$mode.file_bytes" value)
    M=${mode^^}
    if [[ $mode == delete ]]; then tg="<= 20x file"; v=$(verdict "$(check 'a <= 20 * b' "$d" "$s")")
    else tg="(information)"; v=""; fi
    row "sqlite $M, $SQL_TX tx: DB bytes" MiB "$(f "$(mib_b "$d")")" - - \
      "$(ratio "$d" "$s") x file ($(f "$(mib_b "$s")") MiB)" "$tg" "$v"
    r=$(median rowfs "sqlite_$mode.seconds" value); p=$(median passthrough "sqlite_$mode.seconds" value)
    e=$(median ext4 "sqlite_$mode.seconds" value)
    row "  [info] sqlite $M, $SQL_TX tx: time" s "$(f "$r")" "$(f "$p")" "$(f "$e")" \
      "$(ratio "$p" "$r") pt/r" "" ""
  done
  b=$(median rowfs ls_versions.read_bytes value)
  row "cold ls -l, row of 201 versions: read_bytes" KiB "$(f "$(mib_of "$b")")" - - \
    "$(f "$(ms_of "$(median rowfs ls_versions.seconds value)")") ms" "< 1 MiB from disk" \
    "$(verdict "$(check 'a < 1048576' "$b" 0)")"
  fs=$(median rowfs datasets.first_seconds value); ls_=$(median rowfs datasets.last_seconds value)
  bt=$(median rowfs datasets.batch value)
  md=$(median rowfs datasets.made value)
  row "mkdir of ${md:-?}/$DATASETS datasets: last vs first ${bt:-?}" s "$(f "$ls_")" - - \
    "$(ratio "$ls_" "$fs") x $(f "$fs")s" "<= 2x the first" "$(verdict "$(check 'a <= 2 * b' "$ls_" "$fs")")"
  m=$(median rowfs datasets.mounted value); st=$(median rowfs datasets.start_seconds value)
  rss=$(median rowfs datasets.rss_kib value)
  row "remount ${md:-?} datasets, ulimit -n 1024" s "$(f "$st")" - - \
    "RSS $(f "$(mib_of "$rss")") MiB" "mounts" "$(verdict "$(check 'a == 1' "$m" 0)")"
  if want small; then
    echo
    echo "small-file phases, old ($OLD_REV) vs new ($REV) rowfs binaries, alternating in each run" \
      "(fs_bench, $VALUE_BYTES-byte files; rates, higher is faster)"
    echo "(new, old: medians; ratio: the median of the runs' new/old, each run pairing the two" \
      "binaries back to back; the ratio of the medians beside it)"
    row phase unit new old "" "ratio (of medians)" target verdict
    for shape in grid row; do
      for l in "${SMALL_FILE_LABELS[@]}"; do
        [[ $shape == row && $l == mkdir ]] && continue
        n=$(median rowfs_new "$shape.$l" rate); o=$(median rowfs_old "$shape.$l" rate)
        [[ -n $n || -n $o ]] || continue
        pr=$(paired_ratio "$shape.$l")
        row "$shape: $l" "ops/s" "$(f "$n")" "$(f "$o")" "" "$(fmt "$pr") ($(ratio "$n" "$o")) new/old" \
          ">= 0.9 (10% noise)" "$(verdict "$(check 'a >= 0.9' "$pr" 0)")"
      done
    done
  fi
  echo
  echo "information"
  for mib in "${SEQ_SIZES[@]}"; do
    echo "  rowfs RSS, $mib MiB write: idle $(f "$(mib_of "$(median rowfs "seq$mib.rss_idle_kib" value)")")," \
      "peak $(f "$(mib_of "$(median rowfs "seq$mib.rss_hwm_kib" value)")")," \
      "after close $(f "$(mib_of "$(median rowfs "seq$mib.rss_after_write_kib" value)")")," \
      "after flush + cold read $(f "$(mib_of "$(median rowfs "seq$mib.rss_after_read_kib" value)")") MiB"
  done
  echo "  rowfs, 5 sparse files: close of all five $(f "$(median rowfs sparse.close_seconds value)") s;" \
    "RSS after close $(f "$(mib_of "$(median rowfs sparse.rss_after_kib value)")") MiB," \
    "2 s later $(f "$(mib_of "$(median rowfs sparse.rss_after_2s_kib value)")") MiB;" \
    "DB after flush $(f "$(mib_b "$(median rowfs sparse.db_bytes value)")") MiB"
  echo "  rowfs daemon's read_bytes (/proc/PID/io) per cold stat $(f "$(median rowfs cold.stat_read_bytes value)")," \
    "per cold 4 KiB pread $(f "$(median rowfs cold.pread_read_bytes value)") (medians)"
  echo "  rowfs ls -l of the 201-version row: $(median rowfs ls_versions.entries value) entries," \
    "$(f "$(ms_of "$(median rowfs ls_versions.seconds value)")") ms (fresh daemon, caches dropped;" \
    "one 10 MiB write then $APPENDS appends)"
  echo "  rowfs sqlite versions of the db column kept: DELETE $(median rowfs sqlite_delete.versions value)," \
    "WAL $(median rowfs sqlite_wal.versions value); SQLite file $(median rowfs sqlite_delete.file_bytes value) /" \
    "$(median rowfs sqlite_wal.file_bytes value) bytes"
  if want datasets; then
    echo "  datasets: fresh start $(f "$(median rowfs datasets.start_empty_seconds value)") s;" \
      "after $(median rowfs datasets.made value) mkdirs RSS $(f "$(mib_of "$(median rowfs datasets.rss_made_kib value)")") MiB," \
      "$(median rowfs datasets.fds_made value) fds; unmount $(f "$(median rowfs datasets.stop_seconds value)") s;" \
      "DB $(f "$(mib_b "$(median rowfs datasets.db_bytes value)")") MiB"
    echo "  datasets remount: limit $(values rowfs datasets.nofile value), $(median rowfs datasets.fds value) fds" \
      "after start, $(median rowfs datasets.fds_after_use value) after use; $(median rowfs datasets.listed value) listed;" \
      "usable $(median rowfs datasets.usable value)"
  fi
  echo "  (ratios: r/pt, r/ext4 = rowfs / peer; for times lower is better, for MiB/s higher)"
  if [[ -s $NOTES ]]; then
    echo
    echo "anomalies"
    sed 's/^/  /' "$NOTES"
  fi
  echo
  echo "logs and raw results: $LOG_DIR"
}

if [[ -n ${REPORT_ONLY:-} ]]; then
  # The table of an earlier run, from its results (e.g. after a change to
  # the report).
  LOG_DIR=${REPORT_ONLY%/}
  RESULTS=$LOG_DIR/results.txt NOTES=$LOG_DIR/notes.txt
  [[ -f $RESULTS && -f $LOG_DIR/meta.sh ]] || die "$LOG_DIR has no results.txt and meta.sh"
  # shellcheck disable=SC1091
  source "$LOG_DIR/meta.sh"
  report
  exit 0
fi

# ---------------------------------------------------------------- build

note "building rowfs in $BUILD_DIR"
mkdir -p "$BUILD_DIR"
BUILD_DIR="$BUILD_DIR" scripts/build.sh -DROWFS_BUILD_TESTS=OFF -DROWFS_BUILD_BENCH=ON \
  >"$BUILD_DIR/bench-storage-build.log" 2>&1 ||
  { tail -n 30 "$BUILD_DIR/bench-storage-build.log" >&2; die "build failed"; }
NEW_ROWFS=$(realpath "$BUILD_DIR/rowfs")
ROWFS=$NEW_ROWFS
build_fs_bench
build_passthrough
PROBE=$BUILD_DIR/storage_probe
if [[ ! -x $PROBE || tests/bench/storage_probe.c -nt $PROBE ]]; then
  gcc -std=c11 -O2 -Wall -Wextra -Werror tests/bench/storage_probe.c -o "$PROBE"
fi

OLD_CREATED=   # the worktree this run made (removed on exit)
bench_cleanup_hook() {
  if [[ -n $OLD_CREATED ]]; then
    git worktree remove --force "$OLD_CREATED" 2>/dev/null || rm -rf "$OLD_CREATED"
    git worktree prune 2>/dev/null || true
  fi
}
trap 'bench_cleanup' EXIT   # before the work directory exists: the worktree

OLD_ROWFS=
if want small; then
  if [[ -n ${OLD_ROWFS_BIN:-} ]]; then
    OLD_ROWFS=$(realpath "$OLD_ROWFS_BIN")
  else
    rev=$(git rev-parse --verify "$OLD_REV^{commit}") || die "no commit $OLD_REV"
    OLD_ROWFS=$(realpath "$BUILD_DIR")/rowfs-$rev
    if [[ ! -x $OLD_ROWFS ]]; then
      if [[ ! -d $OLD_SRC ]]; then
        note "adding a worktree of $OLD_REV in $OLD_SRC"
        git worktree add --detach "$OLD_SRC" "$rev" >/dev/null 2>&1 ||
          die "git worktree add $OLD_SRC $OLD_REV failed"
        OLD_CREATED=$OLD_SRC
      fi
      [[ $(git -C "$OLD_SRC" rev-parse HEAD) == "$rev" ]] ||
        die "$OLD_SRC is not at $OLD_REV"
      note "building $OLD_REV in $OLD_SRC/build-bench (once; kept as $OLD_ROWFS)"
      BUILD_DIR="$OLD_SRC/build-bench" bash "$OLD_SRC/scripts/build.sh" \
        -DROWFS_BUILD_TESTS=OFF -DROWFS_BUILD_BENCH=OFF \
        >"$BUILD_DIR/bench-storage-old-build.log" 2>&1 ||
        { tail -n 30 "$BUILD_DIR/bench-storage-old-build.log" >&2; die "old build failed"; }
      cp "$OLD_SRC/build-bench/rowfs" "$OLD_ROWFS.tmp" && mv "$OLD_ROWFS.tmp" "$OLD_ROWFS"
    fi
  fi
  [[ -x $OLD_ROWFS ]] || die "$OLD_ROWFS is not an executable"
fi

# ---------------------------------------------------------------- state

LOG_DIR=$BUILD_DIR/bench-storage/$(date +%Y%m%d-%H%M%S)
mkdir -p "$LOG_DIR"
RESULTS=$LOG_DIR/results.txt   # "system label key value" lines
: >"$RESULTS"
bench_work_setup rowfs-bench-storage
NOTES=$LOG_DIR/notes.txt       # anomalies seen while measuring
: >"$NOTES"
anomaly() { note "$*"; echo "$*" >>"$NOTES"; }
record() { echo "$1 $2 $3 $4" >>"$RESULTS"; }   # SYSTEM LABEL KEY VALUE

# The random source: 1 GiB in a tmpfs (not dropped by drop_caches).
SRC_DIR=$WORK/src
mkdir -p "$SRC_DIR"
mount -t tmpfs -o size=1100m,mode=0755 rowfs-bench-src "$SRC_DIR"
MOUNTS+=("$SRC_DIR")
RAND=$SRC_DIR/random
head -c $((1024 * MiB)) /dev/urandom >"$RAND"

# put MIB DEST: writes the first MIB MiB of the random source into DEST.
put() { dd if="$RAND" of="$2" bs=1M count="$1" status=none; }
field() {  # KEY LINE: the value of KEY=VALUE in LINE
  awk -v k="$1" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' <<<"$2"
}
ctl() { setfattr -n "user.rowfs.ctl.$1" -v "$2" "$ROWFS_MNT"; }
io_read_bytes() { awk '$1 == "read_bytes:" { print $2 }' "/proc/$1/io"; }
size_of() { stat -c %s "$1"; }
# time_cmd CMD...: runs CMD, prints its wall time in seconds.
time_cmd() {
  local t0 t1
  t0=$EPOCHREALTIME
  "$@"
  t1=$EPOCHREALTIME
  elapsed "$t0" "$t1"
}
rand_offset() {  # MAX: a random offset in [0, MAX)
  echo $((((RANDOM << 30) | (RANDOM << 15) | RANDOM) % $1))
}
db_breakdown() {  # LABEL: the database directory's bytes by kind, in the log
  {
    echo "$1: du -sb $(du -sb "$ROWFS_DB" | cut -f1)"
    find "$ROWFS_DB" -type f -printf '%s %f\n' | awk '{
      k = "other"; if ($2 ~ /\.sst$/) k = "sst"; else if ($2 ~ /\.log$/) k = "wal";
      else if ($2 ~ /^LOG/) k = "info-log"; else if ($2 ~ /^MANIFEST/) k = "manifest";
      else if ($2 ~ /\.blob$/) k = "blob"; b[k] += $1; n[k]++ }
      END { for (k in b) printf "  %-9s %12d bytes in %d files\n", k, b[k], n[k] }'
  } >>"$LOG_DIR/db-sizes.txt"
}
# rowfs_settle: waits for the daemon to be idle (its CPU time still for
# 0.3 s) so that an idle RSS is idle.
rowfs_settle() {
  local a b i
  for ((i = 0; i < 50; i++)); do
    a=$(awk '{ print $14 + $15 }' "/proc/$ROWFS_PID/stat")
    sleep 0.3
    b=$(awk '{ print $14 + $15 }' "/proc/$ROWFS_PID/stat")
    [[ $a == "$b" ]] && return 0
  done
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$EPOCHREALTIME

# ---------------------------------------------------------------- phases

phase_seq() {  # RUN
  local run=$1 mib sys f t hwm idle n
  for mib in "${SEQ_SIZES[@]}"; do
    for sys in rowfs passthrough ext4; do
      case $sys in
        rowfs)
          start_rowfs
          mkdir -p "$ROWFS_MNT/seq/r"
          f=$ROWFS_MNT/seq/r/c
          rowfs_settle
          idle=$(vm_kib "$ROWFS_PID" VmRSS)
          echo 5 >"/proc/$ROWFS_PID/clear_refs"   # VmHWM := VmRSS
          ;;
        passthrough)
          mkdir -p "$EXT4/seq"
          start_passthrough
          f=$PT_MNT/seq/f
          ;;
        ext4)
          mkdir -p "$EXT4/seq"
          f=$EXT4/seq/f
          ;;
      esac
      sync
      t=$(time_cmd put "$mib" "$f")
      record "$sys" "seq$mib.write" rate "$(awk -v m="$mib" -v t="$t" 'BEGIN { print m / t }')"
      if [[ $sys == rowfs ]]; then
        hwm=$(vm_kib "$ROWFS_PID" VmHWM)
        record rowfs "seq$mib.rss_idle_kib" value "$idle"
        record rowfs "seq$mib.rss_hwm_kib" value "$hwm"
        record rowfs "seq$mib.rss_growth_kib" value $((hwm - idle))
        record rowfs "seq$mib.rss_after_write_kib" value "$(vm_kib "$ROWFS_PID" VmRSS)"
        ctl flush 1
      fi
      n=$(size_of "$f")
      [[ $n == $((mib * MiB)) ]] || anomaly "run $run: $sys: $f has $n bytes after writing $mib MiB"
      drop_caches
      t=$(time_cmd dd if="$f" of=/dev/null bs=1M status=none)
      record "$sys" "seq$mib.read_cold" rate "$(awk -v m="$mib" -v t="$t" 'BEGIN { print m / t }')"
      case $sys in
        rowfs)
          if ((run == 1)) && ! cmp -s -n $((mib * MiB)) "$f" "$RAND"; then
            anomaly "run $run: rowfs: $mib MiB file read back differs from what was written"
          fi
          record rowfs "seq$mib.rss_after_read_kib" value "$(vm_kib "$ROWFS_PID" VmRSS)"
          stop_rowfs
          ;;
        passthrough) stop_passthrough; rm -rf "$EXT4/seq" ;;
        ext4) rm -rf "$EXT4/seq" ;;
      esac
    done
  done
}

phase_sparse() {  # RUN
  local run=$1 idle out i files=()
  start_rowfs
  mkdir -p "$ROWFS_MNT/sparse/r"
  for i in 1 2 3 4 5; do files+=("$ROWFS_MNT/sparse/r/f$i"); done
  rowfs_settle
  idle=$(vm_kib "$ROWFS_PID" VmRSS)
  echo 5 >"/proc/$ROWFS_PID/clear_refs"
  if out=$("$PROBE" hold $((1024 * MiB - 1)) 3 "${files[@]}" 2>>"$LOG_DIR/probe.err"); then
    echo "run $run sparse: $out" >>"$LOG_DIR/probe.log"
    record rowfs sparse.close_seconds value "$(field close_seconds "$out")"
  else
    anomaly "run $run: rowfs: five sparse 1 GiB files failed: $(tail -n 1 "$LOG_DIR/probe.err")"
  fi
  record rowfs sparse.rss_idle_kib value "$idle"
  record rowfs sparse.rss_hwm_kib value "$(vm_kib "$ROWFS_PID" VmHWM)"
  record rowfs sparse.rss_after_kib value "$(vm_kib "$ROWFS_PID" VmRSS)"
  ctl flush 1
  record rowfs sparse.db_bytes value "$(du -sb "$ROWFS_DB" | cut -f1)"
  sleep 2
  record rowfs sparse.rss_after_2s_kib value "$(vm_kib "$ROWFS_PID" VmRSS)"
  # The last byte of each file is the one written.
  for f in "${files[@]}"; do
    [[ $(tail -c 1 "$f") == x ]] || anomaly "run $run: rowfs: $f does not end in the byte written"
  done
  stop_rowfs
}

phase_cold() {  # RUN
  local run=$1 s off sys f out rb=0
  start_rowfs
  mkdir -p "$ROWFS_MNT/big/r"
  put "$COLD_MIB" "$ROWFS_MNT/big/r/c"
  ctl flush 1
  halt_rowfs
  launch_rowfs   # the same database, an empty block cache
  mkdir -p "$EXT4/big/e" "$EXT4/big/p"
  put "$COLD_MIB" "$EXT4/big/e/c"
  put "$COLD_MIB" "$EXT4/big/p/c"
  start_passthrough
  for ((s = 1; s <= COLD_SAMPLES; s++)); do
    off=$(rand_offset $((COLD_MIB * MiB - 4096)))
    for sys in rowfs ext4 passthrough; do
      case $sys in
        rowfs) f=$ROWFS_MNT/big/r/c ;;
        ext4) f=$EXT4/big/e/c ;;
        passthrough) f=$PT_MNT/big/p/c ;;
      esac
      drop_caches
      [[ $sys == rowfs ]] && rb=$(io_read_bytes "$ROWFS_PID")
      out=$("$PROBE" stat "$f") || die "$sys: stat $f failed"
      record "$sys" cold.stat seconds "$(field seconds "$out")"
      ((s == 1)) && record "$sys" cold.stat_first seconds "$(field seconds "$out")"
      [[ $sys == rowfs ]] && record rowfs cold.stat_read_bytes value $(($(io_read_bytes "$ROWFS_PID") - rb))
      [[ $out == *" size=$((COLD_MIB * MiB))" ]] || anomaly "run $run: $sys: stat of $f: $out"
      drop_caches
      [[ $sys == rowfs ]] && rb=$(io_read_bytes "$ROWFS_PID")
      out=$("$PROBE" pread "$f" "$off" 4096) || die "$sys: pread $f $off failed"
      [[ $sys == rowfs ]] && record rowfs cold.pread_read_bytes value $(($(io_read_bytes "$ROWFS_PID") - rb))
      echo "run $run $sys offset=$off $out" >>"$LOG_DIR/probe.log"
      record "$sys" cold.pread seconds "$(field pread_seconds "$out")"
      ((s == 1)) && record "$sys" cold.pread_first seconds "$(field pread_seconds "$out")"
      record "$sys" cold.open_pread seconds "$(field total_seconds "$out")"
    done
    if ((run == 1 && s == 1)) &&
      ! cmp -s <(tail -c +$((off + 1)) "$ROWFS_MNT/big/r/c" | head -c 4096) \
        <(tail -c +$((off + 1)) "$EXT4/big/e/c" | head -c 4096); then
      anomaly "run $run: rowfs: 4 KiB at $off differs from what was written"
    fi
  done
  stop_passthrough
  rm -rf "$EXT4/big"
  stop_rowfs
}

# append_loop FILE: APPENDS x `echo line >> FILE`; prints each one's seconds.
append_loop() {
  local i t0 t1
  for ((i = 0; i < APPENDS; i++)); do
    t0=$EPOCHREALTIME
    echo line >>"$1"
    t1=$EPOCHREALTIME
    echo "$t0 $t1"
  done | awk '{ printf "%.6f\n", $2 - $1 }'
}

phase_append() {  # RUN
  local run=$1 f size before after t n mib sys dir
  start_rowfs
  mkdir -p "$ROWFS_MNT/app/r10"
  f=$ROWFS_MNT/app/r10/c
  put 10 "$f"
  sync
  record rowfs append10.append_seconds value "$(append_loop "$f" | median_of)"
  size=$(size_of "$f")
  ctl flush 1
  ctl compact '*'
  record rowfs append10.file_bytes value "$size"
  record rowfs append10.db_bytes value "$(du -sb "$ROWFS_DB" | cut -f1)"
  db_breakdown "run $run: 10 MiB + $APPENDS appends, after flush + compact"
  # ls -l of the row, cold: a fresh daemon, caches dropped.
  halt_rowfs
  launch_rowfs
  drop_caches
  before=$(io_read_bytes "$ROWFS_PID")
  t=$EPOCHREALTIME
  ls -l "$ROWFS_MNT/app/r10" >"$LOG_DIR/ls-versions.txt"
  t=$(elapsed "$t" "$EPOCHREALTIME")
  after=$(io_read_bytes "$ROWFS_PID")
  record rowfs ls_versions.read_bytes value $((after - before))
  record rowfs ls_versions.seconds value "$t"
  n=$(grep -c ' c@\?[0-9]*$' "$LOG_DIR/ls-versions.txt" || true)
  record rowfs ls_versions.entries value "$n"
  ((n == APPENDS + 1)) || anomaly "run $run: rowfs: ls -l of the row lists $n entries, expected $((APPENDS + 1))"
  # Time per append, 1 MiB and 100 MiB columns, the same daemon.
  for mib in 1 100; do
    mkdir -p "$ROWFS_MNT/app/r$mib"
    put "$mib" "$ROWFS_MNT/app/r$mib/c"
    sync
    record rowfs "append$mib.append_seconds" value "$(append_loop "$ROWFS_MNT/app/r$mib/c" | median_of)"
  done
  stop_rowfs
  # The same with a size that is not a multiple of the chunk: every append
  # rewrites the partial last chunk (10,000,000 = 152 x 64 KiB + 37.6 KiB).
  start_rowfs
  mkdir -p "$ROWFS_MNT/app/u"
  head -c 10000000 "$RAND" >"$ROWFS_MNT/app/u/c"
  append_loop "$ROWFS_MNT/app/u/c" >/dev/null
  ctl flush 1
  ctl compact '*'
  record rowfs append10u.file_bytes value "$(size_of "$ROWFS_MNT/app/u/c")"
  record rowfs append10u.db_bytes value "$(du -sb "$ROWFS_DB" | cut -f1)"
  stop_rowfs
  start_passthrough
  for sys in ext4 passthrough; do
    [[ $sys == ext4 ]] && dir=$EXT4/app || dir=$PT_MNT/app
    mkdir -p "$dir"
    for mib in 1 100; do
      put "$mib" "$dir/c$mib"
      sync
      record "$sys" "append$mib.append_seconds" value "$(append_loop "$dir/c$mib" | median_of)"
    done
  done
  stop_passthrough
  rm -rf "$EXT4/app"
}

phase_sqlite() {  # RUN
  local run=$1 mode sys dir db t i out
  local init=$LOG_DIR/sqlite-init.sql updates=$LOG_DIR/sqlite-updates-$run.sql
  {
    echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
    echo "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $SQL_ROWS)"
    echo "  INSERT INTO t SELECT x, hex(randomblob(200)) FROM n;"
  } >"$init"
  for ((i = 0; i < SQL_TX; i++)); do
    echo "UPDATE t SET v = hex(randomblob(200)) WHERE id = $((RANDOM % SQL_ROWS + 1));"
  done >"$updates"
  for mode in delete wal; do
    for sys in rowfs ext4 passthrough; do
      case $sys in
        rowfs) start_rowfs; dir=$ROWFS_MNT/sql/r ;;
        ext4) dir=$EXT4/sql ;;
        passthrough) start_passthrough; dir=$PT_MNT/sql ;;
      esac
      mkdir -p "$dir"
      db=$dir/db
      sqlite3 -bail "$db" "PRAGMA journal_mode=$mode;" >/dev/null
      sqlite3 -bail "$db" <"$init" || die "$sys: sqlite3 set-up failed"
      sync
      t=$(time_cmd sqlite3 -bail "$db" <"$updates") || die "$sys: sqlite3 updates failed"
      record "$sys" "sqlite_$mode.seconds" value "$t"
      record "$sys" "sqlite_$mode.file_bytes" value "$(size_of "$db")"
      out=$(sqlite3 "$db" "PRAGMA integrity_check;" 2>&1 || true)
      [[ $out == ok ]] || anomaly "run $run: $sys: sqlite $mode integrity_check: $out"
      case $sys in
        rowfs)
          ctl flush 1
          ctl compact '*'
          record rowfs "sqlite_$mode.db_bytes" value "$(du -sb "$ROWFS_DB" | cut -f1)"
          db_breakdown "run $run: sqlite $mode, after flush + compact"
          ls -l "$dir" >>"$LOG_DIR/sqlite-ls.txt"
          record rowfs "sqlite_$mode.versions" value \
            "$(find "$dir" -maxdepth 1 -name 'db@*' | wc -l)"
          stop_rowfs
          ;;
        ext4) rm -rf "$dir" ;;
        passthrough) stop_passthrough; rm -rf "$EXT4/sql" ;;
      esac
    done
  done
}

phase_small() {  # RUN: old and new binaries, alternating which goes first
  local run=$1 order b
  if ((run % 2)); then order=(old new); else order=(new old); fi
  for b in "${order[@]}"; do
    [[ $b == old ]] && ROWFS=$OLD_ROWFS || ROWFS=$NEW_ROWFS
    start_rowfs
    small_file_phases "rowfs_$b" "$ROWFS_MNT"
    stop_rowfs
  done
  ROWFS=$NEW_ROWFS
}

phase_datasets() {
  local batch=1000 out n t0 pid made
  ((DATASETS >= 2 * batch)) || batch=$((DATASETS / 2))
  ((batch >= 1)) || die "DATASETS must be at least 2"
  t0=$EPOCHREALTIME
  start_rowfs
  record rowfs datasets.start_empty_seconds value "$(elapsed "$t0" "$EPOCHREALTIME")"
  out=$("$PROBE" mkdirs "$ROWFS_MNT" "$DATASETS" "$batch" "$DATASETS_BUDGET" \
    2>>"$LOG_DIR/probe.err") ||
    { anomaly "mkdir of $DATASETS datasets failed: $(tail -n 1 "$LOG_DIR/probe.err")"; }
  echo "$out" >"$LOG_DIR/datasets-mkdir.txt"
  made=$(awk '/^stopped/ { split($2, kv, "="); print kv[2] }' <<<"$out")
  if [[ -n $made ]]; then
    anomaly "datasets: mkdir stopped at the ${DATASETS_BUDGET} s budget after $made of $DATASETS" \
      "(per $batch: $(awk '/^batch=/ { split($3, kv, "="); printf "%.1f ", kv[2] }' <<<"$out")s)"
  else
    made=$DATASETS
  fi
  record rowfs datasets.made value "$made"
  # The first batch, and the last complete one.
  record rowfs datasets.first_seconds value "$(awk -F'seconds=' 'NR == 1 && /^batch=/ { print $2 }' <<<"$out")"
  if ((made / batch >= 2)); then
    record rowfs datasets.last_seconds value \
      "$(awk -F'seconds=' -v n=$((made / batch)) 'NR == n && /^batch=/ { print $2 }' <<<"$out")"
  fi
  record rowfs datasets.batch value "$batch"
  record rowfs datasets.rss_made_kib value "$(vm_kib "$ROWFS_PID" VmRSS)"
  record rowfs datasets.fds_made value "$(find "/proc/$ROWFS_PID/fd" -mindepth 1 | wc -l)"
  t0=$EPOCHREALTIME
  halt_rowfs
  record rowfs datasets.stop_seconds value "$(elapsed "$t0" "$EPOCHREALTIME")"
  record rowfs datasets.db_bytes value "$(du -sb "$ROWFS_DB" | cut -f1)"
  # Again under 1024 open files, soft and hard.
  t0=$EPOCHREALTIME
  ROWFS_NOFILE=1024 spawn_rowfs
  pid=$ROWFS_PID
  if mount_wait "$ROWFS_MNT" "$pid"; then
    record rowfs datasets.start_seconds value "$(elapsed "$t0" "$EPOCHREALTIME")"
    record rowfs datasets.mounted value 1
    record rowfs datasets.nofile value "$(awk '/^Max open files/ { print $4 "/" $5 }' "/proc/$pid/limits")"
    rowfs_settle
    record rowfs datasets.rss_kib value "$(vm_kib "$pid" VmRSS)"
    record rowfs datasets.fds value "$(find "/proc/$pid/fd" -mindepth 1 | wc -l)"
    n=$(find "$ROWFS_MNT" -mindepth 1 -maxdepth 1 | wc -l)
    record rowfs datasets.listed value "$n"
    ((n == made)) || anomaly "datasets: $n listed after the remount, expected $made"
    local last
    last=$ROWFS_MNT/$(printf 'd%06d' $((made - 1)))
    # A column in the last dataset, and a new dataset.
    if mkdir "$last/r" && echo hello >"$last/r/c" && [[ $(cat "$last/r/c") == hello ]] &&
      mkdir -p "$ROWFS_MNT/extra/r" && echo x >"$ROWFS_MNT/extra/r/c"; then
      record rowfs datasets.usable value 1
    else
      record rowfs datasets.usable value 0
      anomaly "datasets: writing after the remount under ulimit -n 1024 failed"
    fi
    record rowfs datasets.fds_after_use value "$(find "/proc/$pid/fd" -mindepth 1 | wc -l)"
    stop_rowfs
  else
    record rowfs datasets.mounted value 0
    anomaly "datasets: rowfs did not mount $made datasets under ulimit -n 1024:" \
      "$(tail -n 3 "$LOG_DIR/rowfs.log" | tr '\n' ' ')"
    kill "$pid" 2>/dev/null || true
    rm -rf "$ROWFS_DB"
  fi
}

for ((run = 1; run <= RUNS; run++)); do
  for p in seq sparse cold append sqlite small; do
    want "$p" || continue
    note "run $run/$RUNS: $p"
    "phase_$p" "$run"
  done
done
if want datasets; then
  note "datasets: $DATASETS"
  phase_datasets
fi
TOTAL=$(elapsed "$START" "$EPOCHREALTIME")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
CPUS=$(nproc) KERNEL=$(uname -r) STAMP=$(date -u +%Y-%m-%dT%H:%MZ) REV=$(git rev-parse --short HEAD)
for v in RUNS PHASES DATASETS OLD_REV ROWFS_OPTS TOTAL LOAD_BEFORE LOAD_AFTER CPUS KERNEL STAMP REV; do
  printf '%s=%q\n' "$v" "${!v}"
done >"$LOG_DIR/meta.sh"   # for REPORT_ONLY
report | tee "$LOG_DIR/summary.txt"

