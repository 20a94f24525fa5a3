#include <cstdio>
#include <exception>

#include "daemon.h"

int main(int argc, char** argv) {
  try {
    return rowfs::RunDaemon(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rowfs: fatal: %s\n", e.what());
    return 1;
  }
}
