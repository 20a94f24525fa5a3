// Mount tests: a real rowfs daemon on a temporary database and mountpoint,
// used through real system calls and real shell tools.
#ifndef ROWFS_TESTS_MOUNT_FIXTURE_H_
#define ROWFS_TESTS_MOUNT_FIXTURE_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "testutil.h"

namespace rowfs {

// Runs `command` with /bin/sh; captures stdout and stderr together.
struct CommandResult {
  int status = -1;  // exit status, or -1 when it did not exit normally
  std::string output;
};
CommandResult RunShell(const std::string& command);
// Single-quotes a string for /bin/sh.
std::string ShellQuote(const std::string& s);

// Reads a whole file into *out; returns 0 or the errno of the failing call.
int ReadWhole(const std::string& path, std::string* out);

// Whether this machine can mount FUSE filesystems at all.
bool FuseAvailable();
// Whether `path` is a mountpoint right now (per /proc/self/mountinfo).
bool IsMounted(const std::string& path);

// One rowfs process in the foreground (-f), serving `mountpoint`.
class Daemon {
 public:
  Daemon(std::string db, std::string mountpoint,
         std::vector<std::string> args = {});
  ~Daemon();
  // Starts it and waits until the mount is live. On failure returns the
  // daemon's output as the error and leaves nothing mounted.
  ::testing::AssertionResult Start();
  // Unmounts with fusermount3 -u and waits for a clean exit (status 0).
  ::testing::AssertionResult Stop();
  // SIGKILL, then detaches the dead mount.
  void Kill9();
  // Sends `sig` (e.g. SIGTERM) and waits for the daemon to exit. Returns its
  // exit status, 128 + N when signal N killed it, or -2 when it was still
  // running after 20 s (it is then killed with Kill9).
  int Terminate(int sig);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::string Log() const;
  const std::string& mountpoint() const { return mountpoint_; }

 private:
  std::string db_, mountpoint_, log_path_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
};

// Mounts a fresh database for every test; `mnt_` is the mountpoint.
// Tests skip (with the reason) only where /dev/fuse is absent.
class MountTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Extra daemon arguments for a subclass (e.g. {"-o", "versions=hidden"}).
  virtual std::vector<std::string> DaemonArgs() const { return {}; }

  std::string P(const std::string& rel) const { return mnt_ + "/" + rel; }
  // Writes `content` as open(O_WRONLY|O_CREAT|O_TRUNC) + write + close;
  // returns 0 or the errno of the failing call.
  int WriteFile(const std::string& rel, const std::string& content);
  // The file's bytes, or "<errno N>" when it cannot be read.
  std::string ReadFile(const std::string& rel);
  // Directory entries (without . and ..), sorted; empty on error.
  std::vector<std::string> List(const std::string& rel);
  // Runs a shell command with the mountpoint as working directory.
  CommandResult Sh(const std::string& command);
  // Remounts the same database (stop + start).
  void Remount();

  TempDir dir_{"rowfs-mount"};
  std::string db_, mnt_;
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace rowfs

#endif  // ROWFS_TESTS_MOUNT_FIXTURE_H_
