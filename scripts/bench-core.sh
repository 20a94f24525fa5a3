#!/usr/bin/env bash
# Compares rowfs's core Store with raw RocksDB (db_bench) on this machine, in
# one run: RUNS rounds of db_bench fillrandom + readrandom and core_bench's
# put/get/listing benchmarks, then one bounded-memory listing of a 1M-row
# dataset. Prints the medians and whether put/get meet the target of being
# within 1.5x of raw RocksDB per operation. A report: a miss does not fail.
#
#   scripts/bench-core.sh                 3 rounds, 200k cells, lz4
#   RUNS=5 NUM=500000 scripts/bench-core.sh
#   COMPRESSION=none scripts/bench-core.sh
#
# Environment:
#   RUNS         rounds (default 3); each value shown is the median
#   NUM          cells written/read per put/get benchmark (default 200000)
#   COMPRESSION  none|snappy|lz4|zstd|zlib for both sides (default lz4, rowfs's
#                default)
#   RSS_ROWS     rows of the bounded-memory listing (default 1000000)
#   TARGET       the acceptable slowdown factor (default 1.5)
#   BUILD_DIR    build tree (default build-bench, configured without tests)
#   DB_BENCH     the db_bench binary (default: db_bench on PATH)
#   TMPDIR       where the temporary databases go (default /tmp)
#
# Both sides get the same settings: WAL on and not synced per write (rowfs's
# default WriteOptions), a 256 MiB LRU block cache, 10-bit whole-key bloom
# filters, 16 KiB blocks with index/filter blocks in the cache (L0's pinned),
# format_version 5, 64 MiB write buffers, dynamic level bytes, 2 background
# jobs, bytes_per_sync 1 MiB, unlimited open files, 24-byte keys (rowfs's cell
# key for its bench names) and 100-byte values that compress to half.
# readrandom reuses fillrandom's seed, so it reads exactly the keys written
# (every read hits), as core_bench's GetLatest reads existing columns; both
# read a flushed database reopened with a cold block cache.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

RUNS=${RUNS:-3}
NUM=${NUM:-200000}
COMPRESSION=${COMPRESSION:-lz4}
RSS_ROWS=${RSS_ROWS:-1000000}
TARGET=${TARGET:-1.5}
KEY_SIZE=24    # core_bench: "row%07u" 0x00 "c%03u" 0x00 + 8-byte timestamp
VALUE_SIZE=100

build_args=()
if [[ -z ${BUILD_DIR:-} ]]; then
  BUILD_DIR=build-bench
  build_args+=(-DROWFS_BUILD_TESTS=OFF)
fi
build_args+=(-DROWFS_BUILD_BENCH=ON)

DB_BENCH=${DB_BENCH:-$(command -v db_bench || true)}
if [[ -z $DB_BENCH || ! -x $DB_BENCH ]]; then
  echo "bench-core: db_bench not found (Debian: apt-get install rocksdb-tools)" >&2
  exit 1
fi

echo "bench-core: building in $BUILD_DIR" >&2
BUILD_DIR="$BUILD_DIR" scripts/build.sh "${build_args[@]}" >/dev/null
CORE_BENCH=$BUILD_DIR/tests/bench/core_bench
if [[ ! -x $CORE_BENCH ]]; then
  echo "bench-core: $CORE_BENCH was not built (is libbenchmark-dev installed?)" >&2
  exit 1
fi

LOG_DIR=$BUILD_DIR/bench-core/$(date +%Y%m%d-%H%M%S)
mkdir -p "$LOG_DIR"
RESULTS=$LOG_DIR/results.txt  # "metric value" lines, one per run
: >"$RESULTS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rowfs-bench-core-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=scripts/db-bench-flags.sh
source scripts/db-bench-flags.sh  # the cwd is the repository root
DB_BENCH_FLAGS=(
  --num="$NUM" --reads="$NUM" --threads=1
  --key_size="$KEY_SIZE" --value_size="$VALUE_SIZE" --compression_ratio=0.5
  --compression_type="$COMPRESSION"
  "${ROWFS_MATCHED_DB_BENCH_FLAGS[@]}"
)

# Prints the ops/sec of db_bench's result line for benchmark $1 in file $2.
dbbench_ops() {
  awk -v b="$1" '$1 == b && $2 == ":" {
    for (i = 3; i <= NF; i++) if ($i == "ops/sec") print $(i - 1)
  }' "$2"
}

# Flattens core_bench's JSON output to "core.<benchmark>.<field> <value>"
# lines (benchmark = the name up to its first '/'); numeric fields only.
core_metrics() {
  awk '
    /^ *"name": "/ {
      name = $0
      sub(/^ *"name": "/, "", name); sub(/".*$/, "", name); sub(/\/.*$/, "", name)
      next
    }
    name != "" && /^ *"[A-Za-z_0-9]+": -?[0-9.]+([eE][-+]?[0-9]+)?,?$/ {
      line = $0; gsub(/[ ",]/, "", line)
      split(line, kv, ":")
      print "core." name "." kv[1], kv[2]
    }
    /^ *}/ { name = "" }
  ' "$1"
}

run_core_bench() {  # $1 = filter, $2 = JSON output file, $3 = console log
  ROWFS_BENCH_NUM=$NUM ROWFS_BENCH_COMPRESSION=$COMPRESSION \
  ROWFS_BENCH_RSS_ROWS=$RSS_ROWS ROWFS_BENCH_DIR=$WORK \
    "$CORE_BENCH" --benchmark_filter="$1" --benchmark_out="$2" \
    --benchmark_out_format=json >"$3" 2>&1
}

CORE_FILTER='^BM_(Put|PutExplicitTs|GetLatest|RowCursor|ListRowsPaged|ListVersions|StatColumnAll|StatColumnLatest|ListColumns)/'

for ((run = 1; run <= RUNS; run++)); do
  echo "bench-core: round $run/$RUNS: db_bench fillrandom + readrandom" >&2
  db="$WORK/dbbench-$run"
  fill_log=$LOG_DIR/db_bench-fillrandom-$run.log
  read_log=$LOG_DIR/db_bench-readrandom-$run.log
  "$DB_BENCH" "${DB_BENCH_FLAGS[@]}" --db="$db" --seed="$run" \
    --benchmarks=fillrandom >"$fill_log" 2>&1
  "$DB_BENCH" "${DB_BENCH_FLAGS[@]}" --db="$db" --seed="$run" \
    --benchmarks=readrandom --use_existing_db=true >"$read_log" 2>&1
  rm -rf "$db"
  fill=$(dbbench_ops fillrandom "$fill_log")
  read=$(dbbench_ops readrandom "$read_log")
  if [[ -z $fill || -z $read ]]; then
    echo "bench-core: could not parse db_bench output, see $LOG_DIR" >&2
    exit 1
  fi
  found=$(grep -o '([0-9]* of [0-9]* found)' "$read_log" | tr -d '()' |
    sed 's/ found$//' || true)
  echo "dbbench.fillrandom $fill" >>"$RESULTS"
  echo "dbbench.readrandom $read" >>"$RESULTS"

  echo "bench-core: round $run/$RUNS: core_bench put/get/listing" >&2
  json=$LOG_DIR/core_bench-$run.json
  run_core_bench "$CORE_FILTER" "$json" "$LOG_DIR/core_bench-$run.log"
  if grep -q '"error_occurred": true' "$json"; then
    echo "bench-core: a core benchmark failed, see $LOG_DIR/core_bench-$run.log" >&2
    exit 1
  fi
  core_metrics "$json" >>"$RESULTS"
done

echo "bench-core: bounded-memory listing of $RSS_ROWS rows" >&2
json=$LOG_DIR/core_bench-rss.json
run_core_bench '^BM_RowCursorRss/' "$json" "$LOG_DIR/core_bench-rss.log"
core_metrics "$json" >>"$RESULTS"

# ---------------------------------------------------------------- report

values() { awk -v m="$1" '$1 == m { print $2 }' "$RESULTS"; }
median() {
  values "$1" | sort -g | awk '{ a[NR] = $1 }
    END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
          else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# fmt VALUE PRINTF-FORMAT
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { printf f, v }'; }

compare() {  # label, rowfs metric, db_bench label, db_bench metric
  local rowfs dbb slow verdict
  rowfs=$(median "$2")
  dbb=$(median "$4")
  slow=$(awk -v r="$rowfs" -v d="$dbb" 'BEGIN { printf "%.2f", d / r }')
  verdict=$(awk -v s="$slow" -v t="$TARGET" 'BEGIN { print (s <= t ? "MET" : "MISSED") }')
  printf '%-24s %10.0f %8.2f  %-11s %10.0f %8.2f  %7.2fx  %s\n' \
    "$1" "$rowfs" "$(awk -v r="$rowfs" 'BEGIN { print 1e6 / r }')" \
    "$3" "$dbb" "$(awk -v d="$dbb" 'BEGIN { print 1e6 / d }')" "$slow" "$verdict"
}

rate_line() {  # label, metric (ops/s), unit, per-call metric (ns) or ""
  local v
  v=$(median "$2")
  if [[ -n ${4:-} ]]; then
    printf '%-30s %12.0f %-11s %8.1f us/call\n' "$1" "$v" "$3" \
      "$(awk -v n="$(median "$4")" 'BEGIN { print n / 1000 }')"
  else
    printf '%-30s %12.0f %-11s %8.2f us/row\n' "$1" "$v" "$3" \
      "$(awk -v r="$v" 'BEGIN { print 1e6 / r }')"
  fi
}

{
  echo
  echo "rowfs core vs RocksDB $("$DB_BENCH" --version 2>/dev/null | head -n1 || true) on $(nproc) CPUs, $(uname -r)"
  echo "median of $RUNS runs; $NUM ops each; key ${KEY_SIZE} B, value ${VALUE_SIZE} B;" \
       "compression $COMPRESSION; WAL on, no sync; 256 MiB block cache; bloom 10"
  echo "db_bench readrandom found ${found:-? of ?} keys (last run; same seed as fillrandom)"
  echo
  printf '%-24s %10s %8s  %-11s %10s %8s  %8s  %s\n' \
    "rowfs operation" "ops/s" "us/op" "db_bench" "ops/s" "us/op" "slowdown" \
    "target <=${TARGET}x"
  compare "put (server ts)" core.BM_Put.ops_per_s fillrandom dbbench.fillrandom
  compare "get latest" core.BM_GetLatest.ops_per_s readrandom dbbench.readrandom
  compare "put (explicit ts) [info]" core.BM_PutExplicitTs.ops_per_s fillrandom \
    dbbench.fillrandom
  echo "(slowdown = rowfs time per op / db_bench time per op = db_bench ops/s / rowfs ops/s)"
  echo
  echo "per-run ops/s:"
  for m in core.BM_Put.ops_per_s dbbench.fillrandom core.BM_GetLatest.ops_per_s \
           dbbench.readrandom core.BM_PutExplicitTs.ops_per_s; do
    printf '  %-34s %s\n' "$m" "$(values "$m" | awk '{ printf "%.0f ", $1 }')"
  done
  echo
  echo "listing (median, warm block cache)"
  rate_line "RowCursor, $(fmt "$(median core.BM_RowCursor.rows)" '%.0f') rows" \
    core.BM_RowCursor.ops_per_s "rows/s"
  rate_line "ListRows pages of 1000" core.BM_ListRowsPaged.ops_per_s "rows/s"
  vers=$(fmt "$(median core.BM_ListVersions.versions)" '%.0f')
  rate_line "ListVersions ($vers, values)" core.BM_ListVersions.versions_per_s \
    "versions/s" core.BM_ListVersions.ns_per_op
  rate_line "StatColumn (all $vers)" core.BM_StatColumnAll.versions_per_s \
    "versions/s" core.BM_StatColumnAll.ns_per_op
  rate_line "StatColumn (latest)" core.BM_StatColumnLatest.calls_per_s \
    "calls/s" core.BM_StatColumnLatest.ns_per_op
  rate_line "ListColumns (row)" core.BM_ListColumns.versions_per_s \
    "versions/s" core.BM_ListColumns.ns_per_op
  echo
  echo "bounded memory: RowCursor over $(fmt "$(median core.BM_RowCursorRss.rows)" '%.0f')" \
       "rows x 3 cells (one run, cold cache)"
  printf '  %-40s %10.0f rows/s\n' "listing rate" "$(median core.BM_RowCursorRss.ops_per_s)"
  printf '  %-40s %10.1f MiB\n' "baseline RSS" "$(median core.BM_RowCursorRss.baseline_rss_MiB)"
  printf '  %-40s %10.1f MiB\n' "peak RSS growth (256 MiB block cache)" \
    "$(median core.BM_RowCursorRss.rss_growth_MiB)"
  printf '  %-40s %10.1f MiB\n' "  of which block cache" \
    "$(median core.BM_RowCursorRss.block_cache_growth_MiB)"
  printf '  %-40s %10.1f MiB\n' "  excluding block cache" \
    "$(median core.BM_RowCursorRss.rss_growth_excl_cache_MiB)"
  printf '  %-40s %10.1f MiB\n' "peak RSS growth (8 MiB block cache)" \
    "$(median core.BM_RowCursorRss.rss_growth_cache8M_MiB)"
  echo
  echo "logs: $LOG_DIR"
} | tee "$LOG_DIR/summary.txt"
