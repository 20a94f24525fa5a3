// Helpers shared by the reliability suites (crash_test, fault_test,
// concurrency_test, bad_input_test): plain system calls that report errno
// values instead of throwing or asserting, so that callers can assert on the
// exact error and use them from threads and forked children alike.
#ifndef ROWFS_TESTS_RELIABILITY_UTIL_H_
#define ROWFS_TESTS_RELIABILITY_UTIL_H_

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "mount_fixture.h"

namespace rowfs::reliability {

// CLOCK_MONOTONIC in milliseconds: comparable across processes.
inline int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// `len` pseudo-random (incompressible) bytes, the same for the same seed.
inline std::string Pseudo(uint64_t seed, size_t len) {
  std::mt19937_64 rng(seed);
  std::string out;
  out.reserve(len + 8);
  while (out.size() < len) {
    const uint64_t r = rng();
    out.append(reinterpret_cast<const char*>(&r), sizeof(r));
  }
  out.resize(len);
  return out;
}

// strerror(err), "success" for 0.
inline std::string Errno(int err) {
  return err == 0 ? "success" : std::string(strerror(err));
}

// Reads the whole file; returns 0 or the errno of the failing call.
using ::rowfs::ReadWhole;  // mount_fixture.h

// Writes all of `data` at the current offset; 0 or errno.
inline int WriteAllFd(int fd, const std::string& data, size_t chunk = 65536) {
  size_t done = 0;
  while (done < data.size()) {
    const size_t want = std::min(chunk, data.size() - done);
    const ssize_t n = write(fd, data.data() + done, want);
    if (n < 0) return errno;
    done += static_cast<size_t>(n);
  }
  return 0;
}

// open(O_WRONLY|O_CREAT|O_TRUNC) + write + close. Returns 0 or the errno
// of the failing call; `*failed_call` (if given) names it.
inline int WriteWhole(const std::string& path, const std::string& data,
                      std::string* failed_call = nullptr) {
  auto fail = [&](const char* call, int err) {
    if (failed_call != nullptr) *failed_call = call;
    return err;
  };
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return fail("open", errno);
  const int werr = WriteAllFd(fd, data);
  if (werr != 0) {
    close(fd);
    return fail("write", werr);
  }
  if (close(fd) != 0) return fail("close", errno);
  return 0;
}

// Directory entries without "." and "..", in readdir order. Returns 0 or
// errno.
inline int ListDir(const std::string& path, std::vector<std::string>* names) {
  names->clear();
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return errno;
  errno = 0;
  while (dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names->push_back(n);
    errno = 0;
  }
  const int err = errno;
  closedir(d);
  return err;
}

inline bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Number of lines of `text` that contain every one of `needles`.
inline int CountLinesWith(const std::string& text,
                          const std::vector<std::string>& needles) {
  int count = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    bool all = true;
    for (const std::string& n : needles) {
      if (line.find(n) == std::string::npos) {
        all = false;
        break;
      }
    }
    if (all) ++count;
    start = end + 1;
  }
  return count;
}

}  // namespace rowfs::reliability

#endif  // ROWFS_TESTS_RELIABILITY_UTIL_H_
