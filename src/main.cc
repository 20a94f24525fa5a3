#include <malloc.h>
#include <sys/stat.h>

#include <cstdio>
#include <exception>

#include "daemon.h"

int main(int argc, char** argv) {
  // Everything rowfs creates on disk (the database's files, backups,
  // checkpoints) is private to the user running it: the files hold every
  // column's bytes, whatever modes the columns have.
  umask(077);
  // FUSE requests are served by many threads, and glibc gives each thread
  // its own heap arena: chunk buffers allocated by one request and freed by
  // another then strand memory in a dozen arenas. A few arenas keep the
  // daemon's memory near what it holds.
  mallopt(M_ARENA_MAX, 2);
  try {
    return rowfs::RunDaemon(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rowfs: fatal: %s\n", e.what());
    return 1;
  }
}
