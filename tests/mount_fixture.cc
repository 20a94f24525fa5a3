#include "mount_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace rowfs {
namespace {

using Clock = std::chrono::steady_clock;

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds max) {
  const auto deadline = Clock::now() + max;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// Reaps `pid` if it exited; returns its status or -2 while it runs.
int TryReap(pid_t pid) {
  int status = 0;
  const pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == 0) return -2;
  if (r < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

CommandResult RunShell(const std::string& command) {
  CommandResult r;
  FILE* p = popen(("(" + command + ") 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

int ReadWhole(const std::string& path, std::string* out) {
  out->clear();
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return errno;
  char buf[65536];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      const int err = errno;
      close(fd);
      return err;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  return close(fd) == 0 ? 0 : errno;
}

bool FuseAvailable() {
  const int fd = open("/dev/fuse", O_RDWR);
  if (fd < 0) return false;
  close(fd);
  return true;
}

bool IsMounted(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mountpoint;
    fields >> id >> parent >> dev >> root >> mountpoint;
    if (mountpoint == path) return true;
  }
  return false;
}

Daemon::Daemon(std::string db, std::string mountpoint,
               std::vector<std::string> args)
    : db_(std::move(db)),
      mountpoint_(std::move(mountpoint)),
      log_path_(mountpoint_ + ".log"),
      args_(std::move(args)) {}

Daemon::~Daemon() {
  if (running()) {
    (void)Stop();
  }
}

std::string Daemon::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

::testing::AssertionResult Daemon::Start() {
  std::vector<std::string> argv = {ROWFS_BINARY, "-f", db_, mountpoint_};
  argv.insert(argv.end(), args_.begin(), args_.end());
  const pid_t pid = fork();
  if (pid < 0) return ::testing::AssertionFailure() << "fork failed";
  if (pid == 0) {
    const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  pid_ = pid;
  int exited = -2;
  const bool up = WaitFor(
      [&] {
        exited = TryReap(pid_);
        return exited != -2 || IsMounted(mountpoint_);
      },
      std::chrono::seconds(20));
  if (exited != -2) {
    pid_ = -1;
    return ::testing::AssertionFailure()
           << "rowfs exited with " << exited << " during start-up:\n"
           << Log();
  }
  if (!up) {
    Kill9();
    return ::testing::AssertionFailure() << "mount did not appear:\n" << Log();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Daemon::Stop() {
  if (!running()) return ::testing::AssertionSuccess();
  const CommandResult r = RunShell("fusermount3 -u " + ShellQuote(mountpoint_));
  int exited = -2;
  const bool done = WaitFor(
      [&] {
        exited = TryReap(pid_);
        return exited != -2;
      },
      std::chrono::seconds(20));
  if (!done) {
    Kill9();
    return ::testing::AssertionFailure()
           << "rowfs did not exit after unmount (" << r.output << "):\n"
           << Log();
  }
  pid_ = -1;
  if (exited != 0) {
    return ::testing::AssertionFailure()
           << "rowfs exited with " << exited << ":\n"
           << Log();
  }
  return ::testing::AssertionSuccess();
}

void Daemon::Kill9() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  if (IsMounted(mountpoint_)) umount2(mountpoint_.c_str(), MNT_DETACH);
}

int Daemon::Terminate(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int exited = -2;
  WaitFor(
      [&] {
        exited = TryReap(pid_);
        return exited != -2;
      },
      std::chrono::seconds(20));
  if (exited == -2) {
    Kill9();
    return -2;
  }
  pid_ = -1;
  return exited;
}

void MountTest::SetUp() {
  if (!FuseAvailable()) {
    GTEST_SKIP() << "/dev/fuse cannot be opened on this machine: mount tests "
                    "need FUSE";
  }
  db_ = dir_.Sub("db");
  mnt_ = dir_.Sub("mnt");
  // Other users (permission tests) must be able to reach the mountpoint.
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
  daemon_ = std::make_unique<Daemon>(db_, mnt_, DaemonArgs());
  ASSERT_TRUE(daemon_->Start());
}

void MountTest::TearDown() {
  if (daemon_ != nullptr && daemon_->running()) {
    EXPECT_TRUE(daemon_->Stop());
  }
}

void MountTest::Remount() {
  ASSERT_TRUE(daemon_->Stop());
  daemon_ = std::make_unique<Daemon>(db_, mnt_, DaemonArgs());
  ASSERT_TRUE(daemon_->Start());
}

int MountTest::WriteFile(const std::string& rel, const std::string& content) {
  const int fd = open(P(rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return errno;
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      const int err = errno;
      close(fd);
      return err;
    }
    done += static_cast<size_t>(n);
  }
  return close(fd) == 0 ? 0 : errno;
}

std::string MountTest::ReadFile(const std::string& rel) {
  std::string out;
  const int err = ReadWhole(P(rel), &out);
  return err == 0 ? out : "<errno " + std::to_string(err) + ">";
}

std::vector<std::string> MountTest::List(const std::string& rel) {
  std::vector<std::string> names;
  DIR* d = opendir(P(rel).c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

CommandResult MountTest::Sh(const std::string& command) {
  return RunShell("cd " + ShellQuote(mnt_) + " && " + command);
}

}  // namespace rowfs
