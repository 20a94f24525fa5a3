// storage_probe: timed single system calls for scripts/bench-storage.sh,
// the same on rowfs and its peers (ext4, passthrough_ll). Plain C, no
// dependency; the script compiles it with gcc.
//
//   storage_probe stat PATH
//       one stat(2); prints "seconds=S size=N"
//   storage_probe pread PATH OFFSET LEN
//       open(O_RDONLY), one pread(2) of LEN bytes at OFFSET, close; prints
//       "open_seconds=S pread_seconds=S total_seconds=S bytes=N"
//   storage_probe hold OFFSET SECONDS PATH...
//       opens every PATH (O_WRONLY|O_CREAT|O_TRUNC) at once, writes one byte
//       at OFFSET in each (pwrite), keeps them all open SECONDS, closes them
//       and checks each size is OFFSET + 1; prints "write_seconds=S
//       close_seconds=S files=N"
//   storage_probe mkdirs DIR COUNT BATCH [BUDGET]
//       mkdir DIR/d000000 .. DIR/d<COUNT-1>; prints one line per BATCH
//       directories: "batch=I first=N seconds=S"; with BUDGET (seconds),
//       stops after the batch that ends past BUDGET and prints
//       "stopped made=N seconds=S"
//
// Any failed call prints the path and errno on stderr and exits 1.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char* what, const char* path) {
  fprintf(stderr, "storage_probe: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

static unsigned long long number(const char* s) {
  char* end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') {
    fprintf(stderr, "storage_probe: not a number: %s\n", s);
    exit(2);
  }
  return v;
}

static int cmd_stat(const char* path) {
  struct stat st;
  double t0 = now();
  if (stat(path, &st) != 0) fail("stat", path);
  double t1 = now();
  printf("seconds=%.6f size=%lld\n", t1 - t0, (long long)st.st_size);
  return 0;
}

static int cmd_pread(const char* path, unsigned long long offset, unsigned long long len) {
  char* buf = malloc(len ? len : 1);
  if (buf == NULL) fail("malloc", path);
  double t0 = now();
  int fd = open(path, O_RDONLY);
  if (fd < 0) fail("open", path);
  double t1 = now();
  ssize_t n = pread(fd, buf, len, (off_t)offset);
  if (n < 0) fail("pread", path);
  double t2 = now();
  if (close(fd) != 0) fail("close", path);
  double t3 = now();
  if ((unsigned long long)n != len) {
    fprintf(stderr, "storage_probe: %s: short read %zd of %llu\n", path, n, len);
    return 1;
  }
  printf("open_seconds=%.6f pread_seconds=%.6f total_seconds=%.6f bytes=%zd\n", t1 - t0,
         t2 - t1, t3 - t0, n);
  free(buf);
  return 0;
}

static int cmd_hold(unsigned long long offset, double seconds, int n, char** paths) {
  int* fds = calloc((size_t)n, sizeof *fds);
  if (fds == NULL) fail("calloc", "");
  double t0 = now();
  for (int i = 0; i < n; i++) {
    fds[i] = open(paths[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fds[i] < 0) fail("open", paths[i]);
  }
  for (int i = 0; i < n; i++) {
    if (pwrite(fds[i], "x", 1, (off_t)offset) != 1) fail("pwrite", paths[i]);
  }
  double t1 = now();
  struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  nanosleep(&ts, NULL);
  double t2 = now();
  for (int i = 0; i < n; i++) {
    if (close(fds[i]) != 0) fail("close", paths[i]);
  }
  double t3 = now();
  for (int i = 0; i < n; i++) {
    struct stat st;
    if (stat(paths[i], &st) != 0) fail("stat", paths[i]);
    if ((unsigned long long)st.st_size != offset + 1) {
      fprintf(stderr, "storage_probe: %s: size %lld, expected %llu\n", paths[i],
              (long long)st.st_size, offset + 1);
      return 1;
    }
  }
  printf("write_seconds=%.6f close_seconds=%.6f files=%d\n", t1 - t0, t3 - t2, n);
  free(fds);
  return 0;
}

static int cmd_mkdirs(const char* dir, unsigned long long count, unsigned long long batch,
                      double budget) {
  char path[4096];
  if (batch == 0) batch = count;
  const double start = now();
  for (unsigned long long first = 0; first < count; first += batch) {
    if (budget > 0 && now() - start > budget) {
      printf("stopped made=%llu seconds=%.6f\n", first, now() - start);
      return 0;
    }
    unsigned long long end = first + batch < count ? first + batch : count;
    double t0 = now();
    for (unsigned long long i = first; i < end; i++) {
      snprintf(path, sizeof path, "%s/d%06llu", dir, i);
      if (mkdir(path, 0755) != 0) fail("mkdir", path);
    }
    double t1 = now();
    printf("batch=%llu first=%llu seconds=%.6f\n", first / batch, first, t1 - t0);
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "stat") == 0) return cmd_stat(argv[2]);
  if (argc == 5 && strcmp(argv[1], "pread") == 0) {
    return cmd_pread(argv[2], number(argv[3]), number(argv[4]));
  }
  if (argc >= 5 && strcmp(argv[1], "hold") == 0) {
    return cmd_hold(number(argv[2]), atof(argv[3]), argc - 4, argv + 4);
  }
  if ((argc == 5 || argc == 6) && strcmp(argv[1], "mkdirs") == 0) {
    return cmd_mkdirs(argv[2], number(argv[3]), number(argv[4]), argc == 6 ? atof(argv[5]) : 0);
  }
  fprintf(stderr,
          "usage: storage_probe stat PATH | pread PATH OFFSET LEN |"
          " hold OFFSET SECONDS PATH... | mkdirs DIR COUNT BATCH [BUDGET]\n");
  return 2;
}
