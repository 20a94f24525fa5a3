#include "daemon.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "backup_cli.h"
#include "check_cli.h"
#include "filesystem.h"
#include "fs_counters.h"
#include "logging.h"
#include "mount_options.h"
#include "rowfs/store.h"

namespace rowfs {
namespace {

// Start-up result channel from the serving child to the waiting parent:
// one line, "OK" or the reason of the failure.
class StartupReport {
 public:
  explicit StartupReport(int fd) : fd_(fd) {}
  void Ok() { Send("OK"); }
  void Fail(const std::string& reason) {
    if (fd_ < 0) std::fprintf(stderr, "rowfs: %s\n", reason.c_str());
    Send(reason);
  }

 private:
  void Send(const std::string& line) {
    if (fd_ < 0) return;
    std::string msg = line + "\n";
    ssize_t unused = write(fd_, msg.data(), msg.size());
    (void)unused;
    close(fd_);
    fd_ = -1;
  }
  int fd_;
};

// systemd's readiness protocol (sd_notify(3)): one datagram to the socket
// named by $NOTIFY_SOCKET. A no-op outside a Type=notify service.
void NotifySystemd(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@')) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract socket
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const socklen_t addr_len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  if (sendto(fd, state, std::strlen(state), MSG_NOSIGNAL,
             reinterpret_cast<sockaddr*>(&addr), addr_len) < 0) {
    spdlog::warn("sd_notify {}: {}", state, strerror(errno));
  }
  close(fd);
}

// A mountpoint left behind by a daemon that died answers ENOTCONN; detach
// it so that the new mount can take its place.
void CleanStaleMount(const std::string& mountpoint) {
  // statfs, not stat: the kernel answers stat from its attribute cache for a
  // while after the daemon died, statfs always asks.
  struct statfs sfs;
  if (statfs(mountpoint.c_str(), &sfs) == 0 || errno != ENOTCONN) return;
  if (umount2(mountpoint.c_str(), MNT_DETACH) != 0) {
    const std::string cmd =
        "fusermount3 -u -z '" + mountpoint + "' 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) return;
  }
  std::fprintf(stderr, "rowfs: cleaned up a stale mount at %s\n",
               mountpoint.c_str());
}

Status CheckPaths(const MountOptions& o) {
  CleanStaleMount(o.mountpoint);
  struct stat st;
  if (stat(o.mountpoint.c_str(), &st) != 0) {
    return Status::NotFound("mountpoint " + o.mountpoint + ": " +
                            strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("mountpoint " + o.mountpoint +
                                   " is not a directory");
  }
  if (stat(o.db_path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("DB_DIR " + o.db_path +
                                   " is not a directory");
  }
  return Status::OK();
}

// SIGUSR1 dumps the statistics to the log and SIGHUP reopens the log (for
// logrotate). Handlers only write the signal number to a pipe; a thread does
// the work outside signal context.
class SignalWatcher {
 public:
  SignalWatcher(const Store& store, const Filesystem& fs)
      : store_(store), fs_(fs) {
    if (pipe2(fds_, O_CLOEXEC) != 0) return;
    // The handler must never block; the watcher thread blocks in read().
    fcntl(fds_[1], F_SETFL, O_NONBLOCK);
    write_fd_.store(fds_[1]);
    struct sigaction sa {};
    sa.sa_handler = &SignalWatcher::OnSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);  // replaces libfuse's "exit on HUP"
    thread_ = std::thread([this] { Loop(); });
  }
  ~SignalWatcher() {
    signal(SIGUSR1, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    write_fd_.store(-1);
    if (thread_.joinable()) {
      const char stop = 0;
      ssize_t unused = write(fds_[1], &stop, 1);
      (void)unused;
      thread_.join();
    }
    if (fds_[0] >= 0) close(fds_[0]);
    if (fds_[1] >= 0) close(fds_[1]);
  }

 private:
  static void OnSignal(int sig) {
    const int fd = write_fd_.load();
    if (fd < 0) return;
    const char c = static_cast<char>(sig);
    ssize_t unused = write(fd, &c, 1);
    (void)unused;
  }
  void Loop() {
    while (true) {
      char c = 0;
      const ssize_t n = read(fds_[0], &c, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || c == 0) return;
      if (c == SIGUSR1) {
        std::string stats = FormatStats(store_, "", &fs_.counters());
        for (char& ch : stats) {
          if (ch == '\n') ch = ' ';
        }
        spdlog::info("statistics: {}", stats);
      } else if (c == SIGHUP) {
        ReopenLog();
        spdlog::info("log reopened on SIGHUP");
      }
    }
  }

  static inline std::atomic<int> write_fd_{-1};
  const Store& store_;
  const Filesystem& fs_;
  int fds_[2] = {-1, -1};
  std::thread thread_;
};

// Runs `task` every `interval` seconds on its own thread until destroyed: a
// follower's catch-up, the garbage collection of deleted content.
class PeriodicTask {
 public:
  PeriodicTask(const char* name, double interval, std::function<Status()> task)
      : task_(std::move(task)) {
    thread_ = std::thread([this, name, interval] {
      std::unique_lock lock(mu_);
      const auto period = std::chrono::duration<double>(interval);
      while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
        lock.unlock();
        Status s = task_();
        if (!s.ok()) spdlog::warn("{}: {}", name, s.ToString());
        lock.lock();
      }
    });
  }
  ~PeriodicTask() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  const std::function<Status()> task_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// RocksDB keeps table files open (one per table file, at least one per
// dataset) and a shell's default soft limit is 1024: a database of a
// thousand datasets could not be mounted, and a flush meeting EMFILE stops
// every write. The hard limit is the administrator's bound; use all of it.
void RaiseFileLimit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) {
    return;
  }
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    spdlog::warn("cannot raise the open-file limit from {}: {}", before,
                 strerror(errno));
  }
}

// Signals whose default action would end the daemon and leave a dead
// mount behind, with no meaning to rowfs.
void IgnoreStraySignals() {
  for (int sig : {SIGUSR2, SIGALRM, SIGPIPE}) signal(sig, SIG_IGN);
}

// Opens the store, mounts and serves until unmounted or signalled.
int Serve(const MountOptions& options, int ready_fd) {
  StartupReport report(ready_fd);
  MountOptions o = options;
  Status s = SetupLogging(o.foreground, o.log_level, o.log_file);
  if (!s.ok()) {
    report.Fail(s.message());
    return 1;
  }
  std::string temp_secondary;
  if (o.store.mode == StoreOptions::Mode::kSecondary &&
      o.store.secondary_path.empty()) {
    std::string tmpl = "/tmp/rowfs-follower-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      report.Fail(std::string("mkdtemp: ") + strerror(errno));
      return 1;
    }
    temp_secondary = o.store.secondary_path = tmpl;
  }
  if (o.fs.follower) {
    // What the kernel caches must not outlive what the follower shows.
    o.fs.entry_timeout = std::min(o.fs.entry_timeout, o.catchup_interval);
    o.fs.attr_timeout = std::min(o.fs.attr_timeout, o.catchup_interval);
  }
  RaiseFileLimit();
  IgnoreStraySignals();
  std::unique_ptr<Store> store;
  s = Store::Open(o.store, o.db_path, &store);
  if (!s.ok()) {
    report.Fail(s.message() + RepairHint(s, o.db_path));
    return 1;
  }
  Attrs root;
  if (store->GetRootAttrs(&root).IsNotFound() && !store->read_only()) {
    s = store->SetRootAttrs(Attrs{0755, o.fs.default_uid, o.fs.default_gid,
                                  Clock::Real()->NowMs()});
    if (!s.ok()) {
      report.Fail(s.message());
      return 1;
    }
  }

  auto fs = std::make_unique<Filesystem>(store.get(), o.fs);
  std::vector<std::string> args = FuseArguments(o);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* se = fuse_session_new(&fargs, &Filesystem::Operations(),
                                      sizeof(fuse_lowlevel_ops), fs.get());
  fuse_opt_free_args(&fargs);
  if (se == nullptr) {
    report.Fail("invalid mount options (libfuse refused them)");
    return 1;
  }
  fs->SetSession(se);
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_session_destroy(se);
    report.Fail("cannot install signal handlers");
    return 1;
  }
  if (fuse_session_mount(se, o.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    report.Fail("cannot mount at " + o.mountpoint);
    return 1;
  }
  auto signals = std::make_unique<SignalWatcher>(*store, *fs);
  std::unique_ptr<PeriodicTask> catchup, collector;
  if (o.store.mode == StoreOptions::Mode::kSecondary) {
    catchup = std::make_unique<PeriodicTask>(
        "catch-up", o.catchup_interval, [&store] { return store->CatchUp(); });
  } else if (!store->read_only()) {
    // Content no version refers to any more (deleted, expired, compacted
    // away) is reclaimed in the background, each dataset at most every
    // gc_interval.
    const uint64_t gc_ms = static_cast<uint64_t>(o.gc_interval * 1000);
    collector = std::make_unique<PeriodicTask>(
        "garbage collection", std::min(o.gc_interval, 60.0),
        [&store, gc_ms] { return store->CollectDueGarbage(gc_ms); });
  }
  spdlog::info("mounted {} at {}{}", o.db_path, o.mountpoint,
               store->read_only() ? " (read-only)" : "");
  report.Ok();
  NotifySystemd("READY=1");
  if (!o.foreground) {
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, STDIN_FILENO);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      if (null > STDERR_FILENO) close(null);
    }
    if (chdir("/") != 0) spdlog::warn("chdir /: {}", strerror(errno));
  }

  int rc;
  if (o.single_threaded) {
    rc = fuse_session_loop(se);
  } else {
    fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(config, 0);
    fuse_loop_cfg_set_max_threads(config, 64);
    rc = fuse_session_loop_mt(se, config);
    fuse_loop_cfg_destroy(config);
  }
  if (rc == -ECONNABORTED || rc == -ENODEV) {
    // The kernel ended the connection: after a lazy unmount the last
    // release can race with the loop's next read, which then sees the
    // connection aborted rather than the device gone. Either way the mount
    // is over, not failed; what open files hold is stored below.
    spdlog::info("{}: the kernel ended the connection ({})", o.mountpoint,
                 strerror(-rc));
    rc = 0;
  }
  NotifySystemd("STOPPING=1");
  catchup.reset();
  collector.reset();
  signals.reset();
  fs->StopNotifying();  // before the unmount closes the session's descriptor
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  // A lazy unmount can end the session before the kernel released every
  // file: what they hold must not be lost.
  fs->PersistOpenFiles();
  fs.reset();
  fuse_session_destroy(se);
  s = store->SyncWal();
  if (!s.ok()) spdlog::error("syncing the WAL on exit: {}", s.ToString());
  store.reset();
  if (!temp_secondary.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_secondary, ec);
  }
  spdlog::info("unmounted {}", o.mountpoint);
  // A positive result is the signal that ended the loop (SIGTERM, SIGINT):
  // a requested, clean stop.
  return rc >= 0 ? 0 : 1;
}

}  // namespace

int RunDaemon(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "backup") == 0 ||
                   std::strcmp(argv[1], "checkpoint") == 0)) {
    return RunBackupTool(argc - 1, argv + 1);
  }
  if (argc > 1 && (std::strcmp(argv[1], "check") == 0 ||
                   std::strcmp(argv[1], "repair") == 0)) {
    return RunCheckTool(argc - 1, argv + 1);
  }
  MountOptions options;
  std::string text;
  Status s = ParseCommandLine(argc, argv, &options, &text);
  if (!s.ok()) {
    std::fprintf(stderr, "rowfs: %s\n", s.message().c_str());
    return 2;
  }
  if (!text.empty()) {
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  s = CheckPaths(options);
  if (!s.ok()) {
    std::fprintf(stderr, "rowfs: %s\n", s.message().c_str());
    return 1;
  }
  if (options.foreground) return Serve(options, -1);

  // Fork before RocksDB starts its threads; the parent waits for the
  // child's report so failures reach the terminal with a non-zero status.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "rowfs: pipe: %s\n", strerror(errno));
    return 1;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    std::fprintf(stderr, "rowfs: fork: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    close(fds[0]);
    setsid();
    _exit(Serve(options, fds[1]));
  }
  close(fds[1]);
  std::string line;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) line.append(buf, n);
  close(fds[0]);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  if (line == "OK") return 0;
  int status = 0;
  waitpid(pid, &status, 0);
  if (line.empty()) {
    std::fprintf(stderr,
                 "rowfs: the daemon exited during start-up (status %d)\n",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  } else {
    std::fprintf(stderr, "rowfs: %s\n", line.c_str());
  }
  return 1;
}

}  // namespace rowfs
