// rowfs_fsx: the fsx exerciser (tests/fsx.h) on any directory, any seed.
//
//   rowfs_fsx DIR [--seed N] [--ops M] [--files K] [--fds K] [--maxlen B]
//             [--maxio B] [--no-mmap] [--no-append-mmap] [--hold-open]
//             [--settle-before-listing]
//             [--versions | --no-versions]
//             [--checkpoint-every N] [--history N] [--progress N]
//
// DIR must exist; on rowfs it is a row directory (MNT/dataset/row). Exit
// status 0 when every check passed, 1 on a mismatch (the report names the
// seed, the operation and the last operations), 2 on bad usage.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "fsx.h"

namespace {

int Usage(const char* argv0, const std::string& error) {
  if (!error.empty()) std::cerr << argv0 << ": " << error << "\n";
  std::cerr
      << "usage: " << argv0
      << " DIR [--seed N] [--ops M] [--files K] [--fds K] [--maxlen BYTES]\n"
         "       [--maxio BYTES] [--no-mmap] [--no-append-mmap] [--hold-open]\n"
         "       [--settle-before-listing]\n"
         "       [--versions | --no-versions]\n"
         "       [--checkpoint-every N] [--history N] [--progress N]\n"
         "Runs M random file operations (default 10000) with seed N (default\n"
         "1) on K files (default 3) in DIR, checking every result against a\n"
         "model. On rowfs (a FUSE mount; --versions forces, --no-versions\n"
         "skips) it also checks that each close with changes stored one\n"
         "version.\n";
  return 2;
}

bool ParseU64(const char* s, uint64_t* v) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long x = std::strtoull(s, &end, 0);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-') return false;
  *v = x;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  uint64_t seed = 1, ops = 10000;
  rowfs::FsxOptions o;
  o.log = &std::cerr;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](uint64_t* v) {
      if (i + 1 >= argc || !ParseU64(argv[i + 1], v)) return false;
      ++i;
      return true;
    };
    uint64_t v = 0;
    if (a == "-h" || a == "--help") return Usage(argv[0], ""), 0;
    if (a == "--seed") {
      if (!value(&seed)) return Usage(argv[0], "--seed needs a number");
    } else if (a == "--ops") {
      if (!value(&ops)) return Usage(argv[0], "--ops needs a number");
    } else if (a == "--files") {
      if (!value(&v) || v < 1 || v > 16)
        return Usage(argv[0], "--files: 1 to 16");
      o.files = static_cast<int>(v);
    } else if (a == "--fds") {
      if (!value(&v) || v < 1 || v > 64)
        return Usage(argv[0], "--fds: 1 to 64");
      o.max_fds = static_cast<int>(v);
    } else if (a == "--maxlen") {
      if (!value(&o.max_len) || o.max_len < 2)
        return Usage(argv[0], "--maxlen: at least 2");
    } else if (a == "--maxio") {
      if (!value(&o.max_io) || o.max_io < 1)
        return Usage(argv[0], "--maxio: at least 1");
    } else if (a == "--no-mmap") {
      o.mmap = false;
    } else if (a == "--no-append-mmap") {
      o.append_mmap = false;
    } else if (a == "--hold-open") {
      o.hold_open = true;
    } else if (a == "--settle-before-listing") {
      o.settle_before_listing = true;
    } else if (a == "--versions") {
      o.versions = rowfs::FsxOptions::Versions::kOn;
    } else if (a == "--no-versions") {
      o.versions = rowfs::FsxOptions::Versions::kOff;
    } else if (a == "--checkpoint-every") {
      if (!value(&o.checkpoint_every))
        return Usage(argv[0], "--checkpoint-every needs a number");
    } else if (a == "--history") {
      if (!value(&v)) return Usage(argv[0], "--history needs a number");
      o.history = v;
    } else if (a == "--progress") {
      if (!value(&o.progress_every))
        return Usage(argv[0], "--progress needs a number");
    } else if (!a.empty() && a[0] == '-') {
      return Usage(argv[0], "unknown option " + a);
    } else if (dir.empty()) {
      dir = a;
    } else {
      return Usage(argv[0], "one directory only");
    }
  }
  if (dir.empty()) return Usage(argv[0], "no directory given");

  const auto start = std::chrono::steady_clock::now();
  const rowfs::FsxResult r = rowfs::RunFsx(dir, seed, ops, o);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!r.ok) {
    std::cerr << r.report;
    return 1;
  }
  std::cout << "fsx: seed " << seed << ": " << r.ops_done
            << " operations passed in " << secs << " s ("
            << static_cast<uint64_t>(secs > 0 ? r.ops_done / secs : 0)
            << " ops/s); " << r.versions_stored << " versions stored";
  if (r.versions_checked) {
    std::cout << ", " << r.checkpoints << " version checkpoints";
  } else {
    std::cout << ", versions not checked";
  }
  std::cout << "\n  ";
  for (const auto& [name, n] : r.op_counts)
    std::cout << " " << name << "=" << n;
  std::cout << "\n";
  return 0;
}
