// A file-operation exerciser in the spirit of xfstests' fsx: random reads,
// writes (at any offset, holes included), truncates, appends, mapped reads
// and writes, fsyncs, closes and re-opens on a few files at once, through
// several descriptors per file, each result checked against an in-memory
// model of the file. After every close the whole file is read back and
// compared with the model.
//
// On rowfs (a row directory of a mount) it also checks the versions: every
// close (or fsync) with changes stores exactly one version, so at a
// checkpoint the column's versions, newest first, are the model's stored
// contents (README: "Creation and O_TRUNC are stored at the last close,
// writes at every close").
//
// The same seed always runs the same operations. Used by fsx_test (a fixed
// seed against a mount) and by the rowfs_fsx command (any seed, any
// directory).
#ifndef ROWFS_TESTS_FSX_H_
#define ROWFS_TESTS_FSX_H_

#include <cstdint>
#include <map>
#include <ostream>
#include <string>

namespace rowfs {

struct FsxOptions {
  // Files exercised at once ("fsx0", "fsx1", ... inside the directory; any
  // old ones are removed first).
  int files = 3;
  // Descriptors open on one file at most.
  int max_fds = 3;
  // Largest file size and largest single read or write, in bytes.
  uint64_t max_len = 128 * 1024;
  uint64_t max_io = 32 * 1024;
  // Mapped reads and writes (mmap MAP_SHARED, msync).
  bool mmap = true;
  // Shared mappings also through descriptors opened O_RDWR|O_APPEND (a
  // mapping writes at its offsets all the same; the kernel writes mapped
  // pages back through any descriptor of the file that was mapped shared
  // and writable, read-only mappings of an O_RDWR descriptor included).
  bool append_mmap = true;
  // Hold one more read-only descriptor on every file from its creation to
  // the end, so that no close before then is its last one (the path where
  // FUSE sends the release asynchronously, racing with the next open).
  bool hold_open = false;
  // Before a checkpoint lists the directory, store every other file's
  // pending changes (fsync), so that the listing never runs while a file
  // has changes not stored yet.
  bool settle_before_listing = false;
  // Version checks: kAuto checks them when the directory is on a FUSE
  // filesystem (taken to be a rowfs row).
  enum class Versions { kAuto, kOn, kOff };
  Versions versions = Versions::kAuto;
  // A version checkpoint every this many operations on average (0: none).
  uint64_t checkpoint_every = 400;
  // Operations shown when a check fails.
  size_t history = 20;
  // Progress lines to `log` every this many operations (0: none).
  uint64_t progress_every = 0;
  std::ostream* log = nullptr;
};

struct FsxResult {
  bool ok = false;
  uint64_t ops_done = 0;
  bool versions_checked = false;
  uint64_t checkpoints = 0;
  uint64_t versions_stored = 0;  // by the model
  std::map<std::string, uint64_t> op_counts;
  // After a successful run: each file's name and final content.
  std::map<std::string, std::string> final_contents;
  // On failure: the seed, the operation index, the last operations and
  // what did not match.
  std::string report;
};

// Runs `ops` operations with `seed` in `dir` (which must exist).
FsxResult RunFsx(const std::string& dir, uint64_t seed, uint64_t ops,
                 const FsxOptions& options = {});

}  // namespace rowfs

#endif  // ROWFS_TESTS_FSX_H_
