// A CHECK for fuzz targets: prints the failed condition and aborts, so that
// libFuzzer saves the input as a crash artifact.
#ifndef ROWFS_TESTS_FUZZ_FUZZ_CHECK_H_
#define ROWFS_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                               \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                   \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

#endif  // ROWFS_TESTS_FUZZ_FUZZ_CHECK_H_
