// ThreadSanitizer suppressions compiled into every binary of a
// -DROWFS_SANITIZE=thread build (CMakeLists.txt adds this file to each
// target that links rowfs_core), so the daemon the mount tests start needs
// no TSAN_OPTIONS.
//
// Debian's librocksdb is not instrumented: its write-group commit and its
// lock-free memtable publish data through atomics TSan cannot see, so every
// read of memtable or WAL memory through an intercepted memcpy/memcmp looks
// like a race. Reports with a librocksdb frame in either stack are
// therefore RocksDB's own business; races between rowfs threads are still
// reported. (Writes whose racing access happens in libstdc++ code called by
// librocksdb leave no librocksdb frame: WriteToRocksDB in src/store.cc
// serialises them in this build instead.)
extern "C" const char* __tsan_default_suppressions() {
  return "race:librocksdb.so\n";
}
