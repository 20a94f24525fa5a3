# Sourced by the benchmark scripts: db_bench settings that match what rowfs
# configures in RocksDB (src/store_options.cc), so the two compare fairly.
ROWFS_MATCHED_DB_BENCH_FLAGS=(
  --sync=false --disable_wal=false --enable_pipelined_write=false
  --cache_size=$((256 << 20)) --cache_high_pri_pool_ratio=0.5
  --bloom_bits=10 --whole_key_filtering=true
  --block_size=16384 --format_version=5
  --cache_index_and_filter_blocks=true
  --pin_l0_filter_and_index_blocks_in_cache=true
  --write_buffer_size=$((64 << 20)) --max_write_buffer_number=2
  --level_compaction_dynamic_level_bytes=true
  --max_background_jobs=2 --bytes_per_sync=$((1 << 20)) --open_files=-1
  --progress_reports=false --histogram=false --statistics=false
)
