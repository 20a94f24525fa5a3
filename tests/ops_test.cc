// Operations, end to end: what `cmake --install` puts where (binary, unit,
// man page, example environment file), the systemd unit (systemd-analyze
// verify, and its command lines run the way systemd runs them, since
// systemd is not PID 1 everywhere tests run), `mount -t fuse.rowfs` and
// fstab entries through mount(8) and mount.fuse3, the sd_notify readiness
// protocol, and stale mounts left by killed daemons.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>

#include "mount_fixture.h"

namespace rowfs {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr milliseconds kTimeout{20000};

// ---------------------------------------------------------------------------
// Small helpers

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

bool HaveCommand(const std::string& name) {
  return RunShell("command -v " + ShellQuote(name) + " >/dev/null").status == 0;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Whether a comma-separated option list holds `opt`.
bool HasOption(const std::string& list, const std::string& opt) {
  std::istringstream in(list);
  std::string o;
  while (std::getline(in, o, ',')) {
    if (o == opt) return true;
  }
  return false;
}

bool WaitFor(const std::function<bool()>& done, milliseconds max = kTimeout) {
  const auto deadline = SteadyClock::now() + max;
  while (SteadyClock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

// Waits for child `pid` to exit: its exit status, 128 + N when signal N
// killed it, -1 when it is not a child, -2 when it still runs after `max`.
int WaitExit(pid_t pid, milliseconds max = kTimeout) {
  int result = -2;
  WaitFor(
      [&] {
        int status = 0;
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == 0) return false;
        if (r < 0) {
          result = -1;
        } else {
          result =
              WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        return true;
      },
      max);
  return result;
}

// One line of /proc/self/mountinfo.
struct MountEntry {
  std::string mountpoint, options, fstype, source, super_options;
};

// mountinfo writes space, tab, newline and backslash as \ooo.
std::string UnescapeOctal(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() &&
        std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out.push_back(
          static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The mounts whose mountpoint is `path`, bottom first.
std::vector<MountEntry> MountsAt(const std::string& path) {
  std::vector<MountEntry> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, mountpoint, options, field;
    f >> id >> parent >> dev >> root >> mountpoint >> options;
    while (f >> field && field != "-") {
    }
    MountEntry e;
    f >> e.fstype >> e.source >> e.super_options;
    e.mountpoint = UnescapeOctal(mountpoint);
    e.options = options;
    e.source = UnescapeOctal(e.source);
    if (e.mountpoint == path) out.push_back(e);
  }
  return out;
}

std::string Describe(const std::vector<MountEntry>& mounts) {
  std::string out;
  for (const MountEntry& e : mounts) {
    out += e.mountpoint + " " + e.options + " - " + e.fstype + " " + e.source +
           " " + e.super_options + "\n";
  }
  return out.empty() ? "(no mount)" : out;
}

// An exclusive flock held for the object's lifetime: serializes tests of
// different ctest processes that share one resource.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0) return;
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        close(fd_);
        fd_ = -1;
        return;
      }
    }
  }
  ~FileLock() {
    if (fd_ >= 0) close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

using Env = std::map<std::string, std::string>;

// Runs argv (argv[0] an absolute path) with `env` added to the environment;
// returns the exit status (-1 when it did not exit), output in *output.
int RunArgv(const std::vector<std::string>& argv, const Env& env,
            std::string* output) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> cargv;
    for (const std::string& a : argv)
      cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  output->clear();
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) output->append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A long-running child (a foreground rowfs) with its output in a log file.
// The destructor kills it if it still runs and detaches its mount.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const Env& env,
        std::string log_path, std::string mountpoint)
      : log_path_(std::move(log_path)), mountpoint_(std::move(mountpoint)) {
    pid_ = fork();
    if (pid_ == 0) {
      const int fd =
          open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> cargv;
      for (const std::string& a : argv) {
        cargv.push_back(const_cast<char*>(a.c_str()));
      }
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (!MountsAt(mountpoint_).empty()) {
      RunShell("umount -l " + ShellQuote(mountpoint_));
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  // Sends `sig` and waits for the exit (see WaitExit).
  int Signal(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    const int r = WaitExit(pid_);
    if (r != -2) pid_ = -1;
    return r;
  }
  int Wait(milliseconds max = kTimeout) {
    if (pid_ <= 0) return -1;
    const int r = WaitExit(pid_, max);
    if (r != -2) pid_ = -1;
    return r;
  }
  std::string Log() const { return ReadText(log_path_); }

 private:
  std::string log_path_, mountpoint_;
  pid_t pid_ = -1;
};

// The receiving end of the sd_notify protocol, as systemd sets it up: a
// datagram socket named by $NOTIFY_SOCKET ("/path" or "@abstract"), with
// SO_PASSCRED so that each message carries the sender's pid.
class NotifySocket {
 public:
  struct Message {
    std::string text;
    pid_t pid = 0;
  };

  explicit NotifySocket(std::string address) : address_(std::move(address)) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (address_.size() >= sizeof(addr.sun_path)) {
      Close();
      return;
    }
    std::memcpy(addr.sun_path, address_.data(), address_.size());
    if (address_[0] == '@') addr.sun_path[0] = '\0';
    const socklen_t len = static_cast<socklen_t>(
        offsetof(sockaddr_un, sun_path) + address_.size());
    const int one = 1;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
      Close();
    }
  }
  ~NotifySocket() {
    Close();
    if (!address_.empty() && address_[0] == '/') unlink(address_.c_str());
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  bool ok() const { return fd_ >= 0; }
  const std::string& address() const { return address_; }

  // The next message, or nothing after `max`.
  std::optional<Message> Receive(milliseconds max) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(max.count())) <= 0) return std::nullopt;
    char buf[4096];
    iovec iov{buf, sizeof(buf)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    Message m;
    m.text.assign(buf, static_cast<size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
         c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred;
        std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
        m.pid = cred.pid;
      }
    }
    return m;
  }

 private:
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  std::string address_;
  int fd_ = -1;
};

// ---------------------------------------------------------------------------
// The installation

// `cmake --install` of this build tree into a temporary prefix. DESTDIR is
// set too, so that a destination configured as an absolute path (say
// -DROWFS_SYSTEMD_UNIT_DIR=/lib/systemd/system) also lands in the temporary
// directory and never in the system.
class Installation {
 public:
  Installation() : destdir_(dir_.Sub("root")), prefix_(dir_.Sub("prefix")) {}

  ::testing::AssertionResult Install() {
    // Concurrent installs would all rewrite <build>/install_manifest.txt.
    FileLock lock(std::string(ROWFS_BUILD_DIR) + "/ops_test.install.lock");
    const CommandResult r = RunShell(
        "DESTDIR=" + ShellQuote(destdir_) + " " +
        ShellQuote(ROWFS_CMAKE_COMMAND) + " --install " +
        ShellQuote(ROWFS_BUILD_DIR) + " --prefix " + ShellQuote(prefix_));
    output_ = r.output;
    if (r.status != 0) {
      return ::testing::AssertionFailure()
             << "cmake --install failed with " << r.status << ":\n"
             << r.output;
    }
    return ::testing::AssertionSuccess();
  }

  // Where a destination directory of the install rules lands.
  std::string Dir(const std::string& destination) const {
    if (!destination.empty() && destination[0] == '/') {
      return destdir_ + destination;
    }
    return destdir_ + prefix_ + "/" + destination;
  }
  std::string Binary() const { return Dir(ROWFS_INSTALL_BINDIR) + "/rowfs"; }
  std::string Unit() const {
    return Dir(ROWFS_SYSTEMD_UNIT_DIR) + "/rowfs@.service";
  }
  std::string ManDir() const { return Dir(ROWFS_INSTALL_MANDIR); }
  std::string ManPage() const { return ManDir() + "/man8/rowfs.8"; }
  std::string EnvExample() const {
    return Dir(ROWFS_INSTALL_DOCDIR) + "/rowfs.env.example";
  }
  const std::string& destdir() const { return destdir_; }
  const std::string& output() const { return output_; }
  std::string Scratch(const std::string& name) const { return dir_.Sub(name); }

 private:
  TempDir dir_{"rowfs-ops"};
  std::string destdir_, prefix_, output_;
};

// ---------------------------------------------------------------------------
// Unit files as systemd reads them

struct UnitFile {
  // (section, key, value), in file order.
  std::vector<std::tuple<std::string, std::string, std::string>> entries;

  std::vector<std::string> Values(const std::string& section,
                                  const std::string& key) const {
    std::vector<std::string> out;
    for (const auto& [s, k, v] : entries) {
      if (s == section && k == key) out.push_back(v);
    }
    return out;
  }
  std::string Value(const std::string& section, const std::string& key) const {
    const auto v = Values(section, key);
    return v.empty() ? "" : v.back();
  }
};

// Sections of Key=Value lines; # and ; start comments; a trailing backslash
// continues the line.
UnitFile ParseUnit(const std::string& text) {
  UnitFile unit;
  std::string section, pending;
  for (const std::string& raw : SplitLines(text)) {
    std::string line = Trim(raw);
    if (pending.empty() && (line.empty() || line[0] == '#' || line[0] == ';')) {
      continue;
    }
    if (!line.empty() && line.back() == '\\') {
      pending += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    line = pending + line;
    pending.clear();
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    unit.entries.emplace_back(section, Trim(line.substr(0, eq)),
                              Trim(line.substr(eq + 1)));
  }
  return unit;
}

// EnvironmentFile= syntax: KEY=VALUE lines, # comments, optional quotes.
Env ParseEnvFile(const std::string& text) {
  Env env;
  for (const std::string& raw : SplitLines(text)) {
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string value = Trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'') &&
        value.back() == value[0]) {
      value = value.substr(1, value.size() - 2);
    }
    env[Trim(line.substr(0, eq))] = value;
  }
  return env;
}

// systemd-escape --path.
std::string EscapePath(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.front() == '/') p.erase(0, 1);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") return "-";
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c == '/') {
      out.push_back('-');
    } else if (std::isalnum(c) || c == '_' || (c == '.' && i > 0)) {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

// The instance's unescaped name (%I): "-" is "/", \xNN a byte.
std::string UnescapeInstance(const std::string& instance) {
  std::string out;
  for (size_t i = 0; i < instance.size(); ++i) {
    if (instance[i] == '-') {
      out.push_back('/');
    } else if (instance[i] == '\\' && i + 3 < instance.size() &&
               instance[i + 1] == 'x') {
      out.push_back(
          static_cast<char>(std::stoi(instance.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(instance[i]);
    }
  }
  return out;
}

// Splits a command line into words as systemd does: whitespace separates,
// '...' and "..." quote, backslash escapes.
std::vector<std::string> SplitWords(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < line.size()) {
        word.push_back(line[++i]);
      } else {
        word.push_back(c);
      }
      continue;
    }
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      const char n = line[++i];
      word.push_back(n == 'n' ? '\n' : n == 't' ? '\t' : n);
      in_word = true;
    } else {
      word.push_back(c);
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

struct ExecCommand {
  bool ignore_failure = false;  // the "-" prefix
  std::vector<std::string> argv;
};

// An Exec*= line the way systemd runs it for `instance` with `env` (the
// EnvironmentFile=): prefixes, specifiers %i %I %f %%, then $$, ${VAR} (one
// word) and $VAR as a word of its own (split at whitespace).
::testing::AssertionResult ExpandExec(const std::string& line,
                                      const std::string& instance,
                                      const Env& env, ExecCommand* out) {
  std::vector<std::string> words = SplitWords(line);
  if (words.empty()) return ::testing::AssertionFailure() << "empty command";
  std::string& exe = words[0];
  while (!exe.empty() && std::strchr("-@:+!", exe[0]) != nullptr) {
    if (exe[0] == '-') out->ignore_failure = true;
    exe.erase(0, 1);
  }
  out->argv.clear();
  const std::string unescaped = UnescapeInstance(instance);
  for (const std::string& w : words) {
    std::string s;
    for (size_t i = 0; i < w.size(); ++i) {
      if (w[i] != '%') {
        s.push_back(w[i]);
        continue;
      }
      if (i + 1 >= w.size()) {
        return ::testing::AssertionFailure() << "lone % in " << w;
      }
      const char spec = w[++i];
      if (spec == '%') {
        s.push_back('%');
      } else if (spec == 'i') {
        s += instance;
      } else if (spec == 'I') {
        s += unescaped;
      } else if (spec == 'f') {
        s += unescaped[0] == '/' ? unescaped : "/" + unescaped;
      } else {
        return ::testing::AssertionFailure()
               << "specifier %" << spec << " is not handled by this test";
      }
    }
    auto is_name = [](const std::string& n) {
      if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0])))
        return false;
      for (char c : n) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
          return false;
      }
      return true;
    };
    if (s.size() > 1 && s[0] == '$' && is_name(s.substr(1))) {
      auto it = env.find(s.substr(1));
      if (it != env.end()) {
        for (const std::string& part : SplitWords(it->second)) {
          out->argv.push_back(part);
        }
      }
      continue;
    }
    std::string r;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '$') {
        r.push_back('$');
        ++i;
      } else if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
        const size_t close = s.find('}', i);
        if (close == std::string::npos) {
          return ::testing::AssertionFailure() << "unclosed ${ in " << w;
        }
        auto it = env.find(s.substr(i + 2, close - i - 2));
        if (it != env.end()) r += it->second;
        i = close;
      } else {
        r.push_back(s[i]);
      }
    }
    out->argv.push_back(r);
  }
  return ::testing::AssertionSuccess();
}

// Options that give a service its own mount namespace (directly or
// implied): with any of them, the FUSE mount would be invisible outside.
constexpr const char* kNamespaceOptions[] = {"PrivateTmp",
                                             "PrivateMounts",
                                             "PrivateDevices",
                                             "PrivateUsers",
                                             "PrivateNetwork",
                                             "PrivateIPC",
                                             "ProtectSystem",
                                             "ProtectHome",
                                             "ProtectKernelTunables",
                                             "ProtectKernelModules",
                                             "ProtectKernelLogs",
                                             "ProtectControlGroups",
                                             "ProtectClock",
                                             "ProtectProc",
                                             "ProcSubset",
                                             "ReadOnlyPaths",
                                             "ReadWritePaths",
                                             "InaccessiblePaths",
                                             "ExecPaths",
                                             "NoExecPaths",
                                             "TemporaryFileSystem",
                                             "BindPaths",
                                             "BindReadOnlyPaths",
                                             "RootDirectory",
                                             "RootImage",
                                             "MountImages",
                                             "ExtensionImages",
                                             "ExtensionDirectories",
                                             "MountAPIVFS",
                                             "DynamicUser",
                                             "MountFlags",
                                             "NetworkNamespacePath",
                                             "IPCNamespacePath",
                                             "ReadOnlyDirectories",
                                             "ReadWriteDirectories",
                                             "InaccessibleDirectories"};

// ---------------------------------------------------------------------------
// (a) what lands where, (b) the unit

class InstallTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(inst_.Install()); }

  UnitFile Unit() const { return ParseUnit(ReadText(inst_.Unit())); }

  // The unit's command lines for `instance`, the binary replaced by the
  // installed one (the unit names the configured prefix's binary, which
  // this test does not install there).
  ExecCommand Expand(const std::string& line, const std::string& instance,
                     const Env& env) const {
    ExecCommand c;
    EXPECT_TRUE(ExpandExec(line, instance, env, &c)) << line;
    if (!c.argv.empty() && c.argv[0] == ROWFS_INSTALL_FULL_BINDIR "/rowfs") {
      c.argv[0] = inst_.Binary();
    }
    return c;
  }

  Installation inst_;
};

TEST_F(InstallTest, FilesLandWhereTheRulesSay) {
  // Nothing outside the temporary directory.
  for (const std::string& line : SplitLines(inst_.output())) {
    for (const char* verb : {"-- Installing: ", "-- Up-to-date: "}) {
      if (StartsWith(line, verb)) {
        EXPECT_TRUE(StartsWith(line.substr(std::strlen(verb)), inst_.destdir()))
            << line;
      }
    }
  }
  struct stat st;
  ASSERT_EQ(stat(inst_.Binary().c_str(), &st), 0) << inst_.Binary();
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0111, 0111u);
  const CommandResult version =
      RunShell(ShellQuote(inst_.Binary()) + " --version");
  EXPECT_EQ(version.status, 0);
  EXPECT_TRUE(StartsWith(version.output, "rowfs " ROWFS_VERSION))
      << version.output;

  const std::string unit = ReadText(inst_.Unit());
  ASSERT_FALSE(unit.empty()) << inst_.Unit();
  EXPECT_FALSE(Contains(unit, "@CMAKE")) << "unsubstituted variable";
  EXPECT_EQ(unit, ReadText(ROWFS_BUILD_DIR "/systemd/rowfs@.service"));
  EXPECT_TRUE(
      Contains(unit, "\nExecStart=" ROWFS_INSTALL_FULL_BINDIR "/rowfs "));

  const std::string env = ReadText(inst_.EnvExample());
  ASSERT_FALSE(env.empty()) << inst_.EnvExample();
  EXPECT_EQ(env, ReadText(ROWFS_SOURCE_DIR "/systemd/rowfs.env.example"));

  const std::string man = ReadText(inst_.ManPage());
  ASSERT_FALSE(man.empty()) << inst_.ManPage();
  EXPECT_EQ(man, ReadText(ROWFS_SOURCE_DIR "/src/rowfs.8"));
  EXPECT_TRUE(Contains(man, "\n.TH ROWFS 8 ")) << "no .TH header";
}

// Removes terminal overstrike (bold/underline as "c\bc", "_\bc").
std::string StripOverstrike(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\b') {
      if (!out.empty()) out.pop_back();
    } else {
      out.push_back(c);
    }
  }
  return out;
}

TEST_F(InstallTest, ManPageRenders) {
  const std::string page = inst_.ManPage();
  bool checked = false;
  if (HaveCommand("groff")) {
    // -ww: every warning; -z: no output, only the diagnostics.
    const CommandResult r =
        RunShell("groff -t -man -Tutf8 -ww -z " + ShellQuote(page));
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.output, "") << "groff warnings";
    checked = true;
  } else if (HaveCommand("mandoc")) {
    const CommandResult r =
        RunShell("mandoc -T lint -W warning " + ShellQuote(page));
    EXPECT_EQ(r.status, 0) << r.output;
    checked = true;
  }
  if (HaveCommand("man")) {
    const CommandResult r =
        RunShell("MANWIDTH=80 man -l " + ShellQuote(page) + " 2>&1");
    EXPECT_EQ(r.status, 0) << r.output;
    const std::string text = StripOverstrike(r.output);
    for (const char* section :
         {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FSTAB AND MOUNT",
          "SYSTEMD", "SIGNALS", "ENVIRONMENT", "FILES", "EXIT STATUS",
          "SEE ALSO"}) {
      EXPECT_TRUE(Contains(text, std::string("\n") + section + "\n"))
          << "section " << section << " missing:\n"
          << text;
    }
    EXPECT_TRUE(Contains(text, "rowfs - mount a RocksDB")) << text;
    // man(1) finds it by name under the installed man directory.
    const CommandResult w =
        RunShell("MANPATH=" + ShellQuote(inst_.ManDir()) + " man -w 8 rowfs");
    EXPECT_EQ(w.status, 0) << w.output;
    EXPECT_EQ(Trim(w.output), page);
    checked = true;
  }
  if (!checked) {
    std::printf(
        "neither groff, mandoc nor man installed: only the .TH header "
        "was checked\n");
  }
}

// The names of the options `rowfs --help` lists: "-f", "--foreground",
// "versions=", "ro", ...
std::vector<std::string> HelpOptions(const std::string& help) {
  std::vector<std::string> names;
  for (const std::string& line : SplitLines(help)) {
    // Option lines are indented by two spaces; descriptions follow after
    // two or more spaces; continuation lines are indented further.
    if (line.size() < 3 || line[0] != ' ' || line[1] != ' ' || line[2] == ' ') {
      continue;
    }
    std::string column = line.substr(2);
    const size_t gap = column.find("  ");
    if (gap != std::string::npos) column = column.substr(0, gap);
    bool first = true;
    std::string piece;
    std::istringstream in(column);
    std::vector<std::string> pieces;
    for (std::string word; in >> word;) {
      std::istringstream w(word);
      while (std::getline(w, piece, ',')) {
        if (!piece.empty()) pieces.push_back(piece);
      }
    }
    for (const std::string& p : pieces) {
      const size_t cut = p.find_first_of("=[");
      if (p[0] == '-') {
        names.push_back(p);
      } else if (cut != std::string::npos) {
        // "key=VALUE" -> "key="; "flag[=VALUE]" -> "flag"
        names.push_back(p.substr(0, p[cut] == '=' ? cut + 1 : cut));
      } else if (first && std::islower(static_cast<unsigned char>(p[0]))) {
        names.push_back(p);  // a flag like "ro"
      }
      first = false;
    }
  }
  return names;
}

// A roff line as displayed: font escapes and \& \% removed, \- as -, and
// the arguments of alternating-font macros (.BR, .BI, ...) run together.
std::string RoffText(const std::string& line) {
  std::string s = line;
  std::string macro;
  if (!s.empty() && s[0] == '.') {
    const size_t sp = s.find(' ');
    macro = s.substr(1, sp == std::string::npos ? std::string::npos : sp - 1);
    s = sp == std::string::npos ? "" : s.substr(sp + 1);
  }
  std::string plain;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char n = s[i + 1];
      if (n == 'f' && i + 2 < s.size()) {
        i += 2;
      } else if (n == '&' || n == '%') {
        i += 1;
      } else if (n == '-' || n == 'e') {
        plain.push_back(n == '-' ? '-' : '\\');
        i += 1;
      } else {
        plain.push_back(s[i]);
      }
    } else {
      plain.push_back(s[i]);
    }
  }
  const bool alternating = macro.size() == 2 && std::strchr("BIR", macro[0]) &&
                           std::strchr("BIR", macro[1]);
  std::vector<std::string> args = SplitWords(plain);
  std::string out;
  for (const std::string& a : args) {
    if (!out.empty() && !alternating) out.push_back(' ');
    out += a;
  }
  return out;
}

// Whether `name` appears in `text` as a whole option name.
bool MentionsOption(const std::string& text, const std::string& name) {
  for (size_t at = text.find(name); at != std::string::npos;
       at = text.find(name, at + 1)) {
    const bool start_ok =
        at == 0 || std::strchr(" ,[|(", text[at - 1]) != nullptr;
    const size_t end = at + name.size();
    const bool end_ok = name.back() == '=' || end == text.size() ||
                        std::strchr(" ,=|[).;:", text[end]) != nullptr;
    if (start_ok && end_ok) return true;
  }
  return false;
}

TEST_F(InstallTest, ManPageDocumentsEveryHelpOption) {
  const CommandResult help = RunShell(ShellQuote(inst_.Binary()) + " --help");
  ASSERT_EQ(help.status, 0);
  const std::vector<std::string> options = HelpOptions(help.output);
  ASSERT_GE(options.size(), 20u) << help.output;
  // The option tags of the man page: the line after each .TP.
  std::vector<std::string> tags;
  const std::vector<std::string> lines = SplitLines(ReadText(inst_.ManPage()));
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    if (lines[i] == ".TP") tags.push_back(RoffText(lines[i + 1]));
  }
  for (const std::string& option : options) {
    bool found = false;
    for (const std::string& tag : tags)
      found = found || MentionsOption(tag, option);
    EXPECT_TRUE(found) << "rowfs --help lists " << option
                       << " but src/rowfs.8 has no .TP entry for it";
  }
  // The keys --help says are ignored, and the exit statuses.
  std::string man_text;
  for (const std::string& l : lines) man_text += RoffText(l) + " ";
  const size_t ignored = help.output.find("Ignored (fstab only):");
  if (ignored != std::string::npos) {
    const size_t end = help.output.find(". ", ignored);
    std::string list = help.output.substr(ignored + 21, end - ignored - 21);
    for (char& c : list) {
      if (c == ',' || c == '\n') c = ' ';
    }
    std::istringstream in(list);
    for (std::string key; in >> key;) {
      EXPECT_TRUE(MentionsOption(man_text, key)) << "ignored key " << key;
    }
  }
  for (const char* status : {"0", "1", "2"}) {
    EXPECT_TRUE(Contains(ReadText(inst_.ManPage()),
                         std::string("\n.TP\n.B ") + status + "\n"))
        << "exit status " << status;
  }
}

TEST_F(InstallTest, UnitIsANotifyServiceWithoutMountNamespace) {
  const UnitFile unit = Unit();
  EXPECT_EQ(unit.Value("Service", "Type"), "notify");
  EXPECT_EQ(unit.Value("Service", "NotifyAccess"), "main");
  EXPECT_EQ(unit.Value("Service", "KillMode"), "mixed");
  const std::string kill_signal = unit.Value("Service", "KillSignal");
  EXPECT_TRUE(kill_signal.empty() || kill_signal == "SIGTERM") << kill_signal;
  EXPECT_EQ(unit.Value("Install", "WantedBy"), "multi-user.target");
  EXPECT_TRUE(Contains(unit.Value("Unit", "Documentation"), "man:rowfs(8)"));
  EXPECT_EQ(unit.Value("Service", "EnvironmentFile"), "/etc/rowfs/%i.env");
  for (const auto& [section, key, value] : unit.entries) {
    for (const char* forbidden : kNamespaceOptions) {
      EXPECT_NE(key, forbidden)
          << "[" << section << "] " << key << "=" << value
          << " would hide the mount in a private mount namespace";
    }
  }
  // ExecStart: the installed binary in the foreground, on %f.
  const auto starts = unit.Values("Service", "ExecStart");
  ASSERT_EQ(starts.size(), 1u);
  const std::vector<std::string> words = SplitWords(starts[0]);
  ASSERT_GE(words.size(), 4u);
  EXPECT_EQ(words[0], ROWFS_INSTALL_FULL_BINDIR "/rowfs");
  EXPECT_EQ(words[1], "-f");
  EXPECT_NE(std::find(words.begin(), words.end(), "%f"), words.end());
  // A stale-mount clean-up whose failure does not stop the start.
  bool cleanup = false;
  for (const std::string& pre : unit.Values("Service", "ExecStartPre")) {
    cleanup = cleanup || (pre[0] == '-' && Contains(pre, "fusermount3 -u -z"));
  }
  EXPECT_TRUE(cleanup) << "no ExecStartPre=-... fusermount3 -u -z";
  // Every variable the command lines use is in the example environment file.
  const Env example = ParseEnvFile(ReadText(inst_.EnvExample()));
  EXPECT_TRUE(example.count("ROWFS_DB"));
  EXPECT_TRUE(example.count("ROWFS_OPTIONS"));
  for (const char* var : {"${ROWFS_DB}", "$ROWFS_OPTIONS"}) {
    EXPECT_TRUE(Contains(starts[0], var)) << var;
  }
}

TEST_F(InstallTest, SystemdAnalyzeVerify) {
  if (!HaveCommand("systemd-analyze")) {
    GTEST_SKIP()
        << "systemd-analyze is not installed: the unit is not verified";
  }
  // The unit as installed, except that it runs the binary this test
  // installed (the configured prefix may hold none), verified as an
  // instance, with the installed man page for Documentation=man:rowfs(8).
  std::string text = ReadText(inst_.Unit());
  const std::string configured = ROWFS_INSTALL_FULL_BINDIR "/rowfs ";
  const size_t at = text.find("ExecStart=" + configured);
  ASSERT_NE(at, std::string::npos);
  text.replace(at + 10, configured.size(), inst_.Binary() + " ");
  const std::string dir = inst_.Scratch("units");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  ASSERT_TRUE(WriteText(dir + "/rowfs@.service", text));
  const CommandResult r = RunShell(
      "cd " + ShellQuote(dir) + " && MANPATH=" + ShellQuote(inst_.ManDir()) +
      " SYSTEMD_LOG_COLOR=0 systemd-analyze verify " +
      ShellQuote(dir + "/rowfs@mnt-data.service"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "") << "systemd-analyze verify complained";
  // The check does catch mistakes: an unknown key is reported.
  ASSERT_TRUE(WriteText(dir + "/rowfs@.service", text + "Bogus=1\n"));
  const CommandResult bad = RunShell(
      "cd " + ShellQuote(dir) + " && MANPATH=" + ShellQuote(inst_.ManDir()) +
      " systemd-analyze verify " + ShellQuote(dir + "/rowfs@mnt-data.service"));
  EXPECT_TRUE(Contains(bad.output, "Bogus")) << bad.output;
}

// ---------------------------------------------------------------------------
// (d) the unit's command lines and the notify protocol

class UnitRunTest : public InstallTest {
 protected:
  void SetUp() override {
    if (!FuseAvailable()) {
      GTEST_SKIP() << "/dev/fuse cannot be opened on this machine: mount "
                      "tests need FUSE";
    }
    InstallTest::SetUp();
    if (HasFatalFailure()) return;
    db_ = work_.Sub("db");
    // Not created: the unit's ExecStartPre creates a missing mountpoint.
    mnt_ = work_.Sub("mnt");
    instance_ = EscapePath(mnt_);
    if (HaveCommand("systemd-escape")) {
      const CommandResult r =
          RunShell("systemd-escape --path " + ShellQuote(mnt_));
      ASSERT_EQ(Trim(r.output), instance_) << "the test escapes paths wrongly";
    }
    // The example environment file, with this test's database.
    env_ = ParseEnvFile(ReadText(inst_.EnvExample()));
    env_["ROWFS_DB"] = db_;
  }

  // Runs the unit's ExecStartPre= lines in order, as systemd would: a
  // failure stops the start unless the line starts with "-". Returns the
  // output of a failing line, or "".
  ::testing::AssertionResult RunStartPre(const Env& env) {
    for (const std::string& line : Unit().Values("Service", "ExecStartPre")) {
      const ExecCommand c = Expand(line, instance_, env);
      std::string output;
      const int status = RunArgv(c.argv, env, &output);
      if (status != 0 && !c.ignore_failure) {
        return ::testing::AssertionFailure()
               << "ExecStartPre=" << line << " failed with " << status << ": "
               << output;
      }
    }
    return ::testing::AssertionSuccess();
  }

  TempDir work_{"rowfs-ops-unit"};
  std::string db_, mnt_, instance_;
  Env env_;
};

TEST_F(UnitRunTest, StartReadyServeStopAsSystemdWould) {
  ASSERT_TRUE(RunStartPre(env_));
  struct stat st;
  ASSERT_EQ(stat(mnt_.c_str(), &st), 0) << "ExecStartPre did not create it";
  const auto starts = Unit().Values("Service", "ExecStart");
  ASSERT_EQ(starts.size(), 1u);
  const ExecCommand start = Expand(starts[0], instance_, env_);
  ASSERT_FALSE(start.ignore_failure);
  // "-f DB MNT -o allow_other" from the example's ROWFS_OPTIONS.
  ASSERT_GE(start.argv.size(), 4u);
  EXPECT_EQ(start.argv[1], "-f");
  EXPECT_NE(std::find(start.argv.begin(), start.argv.end(), db_),
            start.argv.end());
  EXPECT_NE(std::find(start.argv.begin(), start.argv.end(), mnt_),
            start.argv.end());

  NotifySocket notify(work_.Sub("notify"));
  ASSERT_TRUE(notify.ok()) << strerror(errno);
  Env env = env_;
  env["NOTIFY_SOCKET"] = notify.address();
  Child main(start.argv, env, work_.Sub("log"), mnt_);
  const auto ready = notify.Receive(kTimeout);
  const bool live = IsMounted(mnt_) && stat(mnt_.c_str(), &st) == 0;
  ASSERT_TRUE(ready.has_value()) << "no READY=1:\n" << main.Log();
  EXPECT_EQ(ready->text, "READY=1");
  EXPECT_TRUE(live) << "READY=1 came before the mount was live";
  EXPECT_EQ(ready->pid, main.pid()) << "NotifyAccess=main wants the main pid";
  const auto mounts = MountsAt(mnt_);
  ASSERT_EQ(mounts.size(), 1u) << Describe(mounts);
  EXPECT_EQ(mounts[0].fstype, "fuse.rowfs");
  EXPECT_EQ(mounts[0].source, db_);
  if (Contains(env_["ROWFS_OPTIONS"], "allow_other")) {
    EXPECT_TRUE(HasOption(mounts[0].super_options, "allow_other"))
        << Describe(mounts);
  }
  ASSERT_EQ(RunShell("mkdir " + ShellQuote(mnt_ + "/ds") + " " +
                     ShellQuote(mnt_ + "/ds/r") + " && echo v > " +
                     ShellQuote(mnt_ + "/ds/r/c"))
                .status,
            0);

  // systemctl stop: SIGTERM to the main process (KillMode=mixed).
  EXPECT_EQ(main.Signal(SIGTERM), 0) << main.Log();
  const auto stopping = notify.Receive(milliseconds(2000));
  ASSERT_TRUE(stopping.has_value()) << "no STOPPING=1:\n" << main.Log();
  EXPECT_EQ(stopping->text, "STOPPING=1");
  EXPECT_FALSE(IsMounted(mnt_));
  EXPECT_FALSE(notify.Receive(milliseconds(100)).has_value());

  // A restart (ExecStartPre again on a clean mountpoint) finds the data.
  ASSERT_TRUE(RunStartPre(env_));
  Child again(start.argv, env, work_.Sub("log"), mnt_);
  const auto ready2 = notify.Receive(kTimeout);
  ASSERT_TRUE(ready2.has_value()) << again.Log();
  EXPECT_EQ(ReadText(mnt_ + "/ds/r/c"), "v\n");
  EXPECT_EQ(again.Signal(SIGTERM), 0) << again.Log();
}

TEST_F(UnitRunTest, MissingDatabaseSettingStopsTheStart) {
  Env env = env_;
  env.erase("ROWFS_DB");
  const ::testing::AssertionResult r = RunStartPre(env);
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(
      r.message(), "ROWFS_DB is not set in /etc/rowfs/" + instance_ + ".env"))
      << r.message();
}

class NotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FuseAvailable()) {
      GTEST_SKIP() << "/dev/fuse cannot be opened on this machine: mount "
                      "tests need FUSE";
    }
    db_ = dir_.Sub("db");
    mnt_ = dir_.Sub("mnt");
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
  }

  // rowfs -f DB MNT with NOTIFY_SOCKET: READY=1 from the main process once
  // the mount is live and nothing before; STOPPING=1 after SIGTERM; exit 0.
  void ReadyAndStopping(const std::string& address) {
    NotifySocket notify(address);
    ASSERT_TRUE(notify.ok()) << strerror(errno);
    Child rowfs({ROWFS_BINARY, "-f", db_, mnt_},
                {{"NOTIFY_SOCKET", notify.address()}}, dir_.Sub("log"), mnt_);
    const auto ready = notify.Receive(kTimeout);
    struct stat st;
    const bool live = IsMounted(mnt_) && stat(mnt_.c_str(), &st) == 0;
    ASSERT_TRUE(ready.has_value()) << "no READY=1:\n" << rowfs.Log();
    EXPECT_EQ(ready->text, "READY=1");
    EXPECT_TRUE(live) << "READY=1 came before the mount was live";
    EXPECT_EQ(ready->pid, rowfs.pid());
    EXPECT_EQ(mkdir((mnt_ + "/ds").c_str(), 0755), 0) << strerror(errno);
    EXPECT_FALSE(notify.Receive(milliseconds(200)).has_value())
        << "a second message while serving";
    EXPECT_EQ(rowfs.Signal(SIGTERM), 0) << rowfs.Log();
    const auto stopping = notify.Receive(milliseconds(2000));
    ASSERT_TRUE(stopping.has_value()) << "no STOPPING=1:\n" << rowfs.Log();
    EXPECT_EQ(stopping->text, "STOPPING=1");
    EXPECT_EQ(stopping->pid, ready->pid);
    EXPECT_FALSE(IsMounted(mnt_));
    EXPECT_FALSE(notify.Receive(milliseconds(100)).has_value());
  }

  TempDir dir_{"rowfs-ops-notify"};
  std::string db_, mnt_;
};

TEST_F(NotifyTest, ReadyOnlyOnceMountedStoppingAfterSigterm) {
  ReadyAndStopping(dir_.Sub("notify"));
}

TEST_F(NotifyTest, AbstractSocketAddress) {
  ReadyAndStopping("@rowfs-ops-test-" + std::to_string(getpid()));
}

TEST_F(NotifyTest, NoReadyWhenTheStartFails) {
  // Another daemon holds the database: the second one fails while opening
  // it (after the checks, inside the serving process).
  Daemon holder(db_, mnt_);
  ASSERT_TRUE(holder.Start());
  const std::string mnt2 = dir_.Sub("mnt2");
  ASSERT_EQ(mkdir(mnt2.c_str(), 0755), 0);
  NotifySocket notify(dir_.Sub("notify"));
  ASSERT_TRUE(notify.ok());
  Child second({ROWFS_BINARY, "-f", db_, mnt2},
               {{"NOTIFY_SOCKET", notify.address()}}, dir_.Sub("log2"), mnt2);
  EXPECT_EQ(second.Wait(), 1) << second.Log();
  EXPECT_FALSE(notify.Receive(milliseconds(300)).has_value());
  EXPECT_FALSE(IsMounted(mnt2));
  EXPECT_TRUE(holder.Stop());
}

// ---------------------------------------------------------------------------
// (c) mount -t fuse.rowfs and fstab entries

// mount(8) removes PATH from its helpers' environment, so mount.fuse3's
// `/bin/sh -c 'rowfs ...'` searches sh's built-in path, whose first entry
// is /usr/local/sbin. The test links its installed binary there for the
// duration of each test (one test at a time, under a lock) and removes
// the link afterwards, also when the test fails.
constexpr char kPathLink[] = "/usr/local/sbin/rowfs";
constexpr char kPathLinkLock[] = "/tmp/rowfs-ops-test.mount-helper.lock";

class MountHelperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FuseAvailable()) {
      GTEST_SKIP() << "/dev/fuse cannot be opened on this machine: mount "
                      "tests need FUSE";
    }
    if (geteuid() != 0) {
      GTEST_SKIP() << "mount(8) with a helper and /usr/local/sbin need root";
    }
    if (access("/sbin/mount.fuse", X_OK) != 0 &&
        access("/sbin/mount.fuse3", X_OK) != 0) {
      GTEST_SKIP() << "/sbin/mount.fuse (package fuse3) is missing: mount -t "
                      "fuse.rowfs needs it";
    }
    ASSERT_TRUE(inst_.Install());
    lock_ = std::make_unique<FileLock>(kPathLinkLock);
    ASSERT_TRUE(lock_->ok()) << kPathLinkLock << ": " << strerror(errno);
    LinkBinary();
    if (IsSkipped() || HasFatalFailure()) return;
    // The daemon that mount.fuse3 starts backgrounds itself; as a
    // subreaper this process adopts it, and can see how it exits.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
    db_ = dir_.Sub("db");
    mnt_ = dir_.Sub("mnt");
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
  }

  void TearDown() override {
    if (!mnt_.empty() && !MountsAt(mnt_).empty()) {
      RunShell("umount -l " + ShellQuote(mnt_));
    }
    for (pid_t pid : daemons_) {
      if (WaitExit(pid, milliseconds(5000)) == -2) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    UnlinkBinary();
    lock_.reset();
  }

  ~MountHelperTest() override { UnlinkBinary(); }

  void LinkBinary() {
    struct stat st;
    if (lstat(kPathLink, &st) == 0) {
      char target[4096];
      const ssize_t n = readlink(kPathLink, target, sizeof(target) - 1);
      const std::string t = n > 0 ? std::string(target, n) : "";
      // Left by a test that was killed: its temporary directory is gone.
      if (S_ISLNK(st.st_mode) && Contains(t, "/rowfs-ops-") &&
          access(t.c_str(), F_OK) != 0) {
        unlink(kPathLink);
      } else {
        GTEST_SKIP() << kPathLink
                     << " exists and was not made by this test; "
                        "not replacing it";
      }
    }
    if (stat("/usr/local/sbin", &st) != 0) {
      ASSERT_EQ(mkdir("/usr/local/sbin", 0755), 0) << strerror(errno);
      made_dir_ = true;
    }
    ASSERT_EQ(symlink(inst_.Binary().c_str(), kPathLink), 0) << strerror(errno);
    linked_ = true;
  }

  void UnlinkBinary() {
    if (linked_) {
      char target[4096];
      const ssize_t n = readlink(kPathLink, target, sizeof(target) - 1);
      if (n > 0 && std::string(target, n) == inst_.Binary()) unlink(kPathLink);
      linked_ = false;
    }
    if (made_dir_) {
      rmdir("/usr/local/sbin");
      made_dir_ = false;
    }
  }

  // The background rowfs serving mnt_, adopted by this process, or -1.
  pid_t AdoptedDaemon() {
    pid_t found = -1;
    WaitFor(
        [&] {
          DIR* d = opendir("/proc");
          if (d == nullptr) return false;
          while (dirent* e = readdir(d)) {
            const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
            if (pid <= 0) continue;
            const std::string base = "/proc/" + std::string(e->d_name);
            const std::string status = ReadText(base + "/status");
            const size_t pp = status.find("\nPPid:");
            if (pp == std::string::npos ||
                std::atoi(status.c_str() + pp + 6) != getpid()) {
              continue;
            }
            std::vector<std::string> argv;
            std::istringstream cmd(ReadText(base + "/cmdline"));
            for (std::string a; std::getline(cmd, a, '\0');) argv.push_back(a);
            if (!argv.empty() && Contains(argv[0], "rowfs") &&
                std::find(argv.begin(), argv.end(), mnt_) != argv.end()) {
              found = pid;
            }
          }
          closedir(d);
          return found > 0;
        },
        milliseconds(5000));
    if (found > 0) daemons_.push_back(found);
    return found;
  }

  // umount(8), then the daemon must exit with status 0.
  void UmountAndExpectExit(pid_t daemon) {
    const CommandResult r = RunShell("umount " + ShellQuote(mnt_));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(WaitExit(daemon), 0) << "the daemon did not exit cleanly";
    EXPECT_TRUE(MountsAt(mnt_).empty()) << Describe(MountsAt(mnt_));
  }

  Installation inst_;
  std::unique_ptr<FileLock> lock_;
  bool linked_ = false, made_dir_ = false;
  TempDir dir_{"rowfs-ops-mount"};
  std::string db_, mnt_;
  std::vector<pid_t> daemons_;
};

TEST_F(MountHelperTest, MountTypeFuseRowfsReadWriteThenReadOnly) {
  // Read-write first, to create the database and some data.
  CommandResult r = RunShell("mount -t fuse.rowfs " + ShellQuote(db_) + " " +
                             ShellQuote(mnt_));
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE(IsMounted(mnt_));
  auto mounts = MountsAt(mnt_);
  ASSERT_EQ(mounts.size(), 1u) << Describe(mounts);
  EXPECT_EQ(mounts[0].fstype, "fuse.rowfs");
  EXPECT_EQ(mounts[0].source, db_);
  EXPECT_TRUE(HasOption(mounts[0].super_options, "default_permissions"));
  pid_t daemon = AdoptedDaemon();
  ASSERT_GT(daemon, 0) << "no rowfs daemon serving " << mnt_;
  ASSERT_EQ(mkdir((mnt_ + "/ds").c_str(), 0755), 0) << strerror(errno);
  ASSERT_EQ(mkdir((mnt_ + "/ds/r").c_str(), 0755), 0) << strerror(errno);
  ASSERT_TRUE(WriteText(mnt_ + "/ds/r/c", "hello\n"));
  UmountAndExpectExit(daemon);

  // -o ro: reads work, every change is EROFS.
  r = RunShell("mount -t fuse.rowfs " + ShellQuote(db_) + " " +
               ShellQuote(mnt_) + " -o ro");
  ASSERT_EQ(r.status, 0) << r.output;
  mounts = MountsAt(mnt_);
  ASSERT_EQ(mounts.size(), 1u) << Describe(mounts);
  EXPECT_EQ(mounts[0].fstype, "fuse.rowfs");
  EXPECT_EQ(mounts[0].source, db_);
  EXPECT_TRUE(HasOption(mounts[0].options, "ro")) << Describe(mounts);
  daemon = AdoptedDaemon();
  ASSERT_GT(daemon, 0);
  EXPECT_EQ(ReadText(mnt_ + "/ds/r/c"), "hello\n");
  const int fd = open((mnt_ + "/ds/r/c").c_str(), O_WRONLY | O_TRUNC);
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(errno, EROFS);
  if (fd >= 0) close(fd);
  EXPECT_EQ(open((mnt_ + "/ds/r/new").c_str(), O_WRONLY | O_CREAT, 0644), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(mkdir((mnt_ + "/ds2").c_str(), 0755), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(unlink((mnt_ + "/ds/r/c").c_str()), -1);
  EXPECT_EQ(errno, EROFS);
  UmountAndExpectExit(daemon);
}

TEST_F(MountHelperTest, FstabEntry) {
  // A database path with a space (\040 in fstab), every fstab-only key,
  // and a rowfs option that must reach the daemon.
  const std::string db = dir_.Sub("data base");
  const std::string fstab = dir_.Sub("fstab");
  std::string escaped_db;
  for (char c : db)
    escaped_db += c == ' ' ? std::string("\\040") : std::string(1, c);
  ASSERT_TRUE(WriteText(
      fstab, "# rowfs test\n" + escaped_db + "  " + mnt_ +
                 "  fuse.rowfs  defaults,allow_other,_netdev,nofail,noauto,"
                 "user,x-systemd.automount,x-systemd.mount-timeout=30,"
                 "versions=hidden  0 0\n"));
  // By mountpoint; -T reads this file instead of /etc/fstab.
  CommandResult r =
      RunShell("mount -T " + ShellQuote(fstab) + " " + ShellQuote(mnt_));
  ASSERT_EQ(r.status, 0) << r.output;
  auto mounts = MountsAt(mnt_);
  ASSERT_EQ(mounts.size(), 1u) << Describe(mounts);
  EXPECT_EQ(mounts[0].fstype, "fuse.rowfs");
  EXPECT_EQ(mounts[0].source, db);
  EXPECT_TRUE(HasOption(mounts[0].super_options, "allow_other"))
      << Describe(mounts);
  EXPECT_TRUE(HasOption(mounts[0].options, "rw")) << Describe(mounts);
  pid_t daemon = AdoptedDaemon();
  ASSERT_GT(daemon, 0);
  ASSERT_EQ(mkdir((mnt_ + "/ds").c_str(), 0755), 0) << strerror(errno);
  ASSERT_EQ(mkdir((mnt_ + "/ds/r").c_str(), 0755), 0) << strerror(errno);
  ASSERT_TRUE(WriteText(mnt_ + "/ds/r/c", "one\n"));
  std::this_thread::sleep_for(milliseconds(5));
  ASSERT_TRUE(WriteText(mnt_ + "/ds/r/c", "two\n"));
  EXPECT_EQ(ReadText(mnt_ + "/ds/r/c"), "two\n");
  // versions=hidden reached the daemon: only the latest is listed.
  r = RunShell("ls " + ShellQuote(mnt_ + "/ds/r"));
  EXPECT_EQ(r.output, "c\n");
  UmountAndExpectExit(daemon);

  // By source, the way `mount DB_DIR` finds an fstab entry.
  r = RunShell("mount -T " + ShellQuote(fstab) + " " + ShellQuote(db));
  ASSERT_EQ(r.status, 0) << r.output;
  daemon = AdoptedDaemon();
  ASSERT_GT(daemon, 0);
  EXPECT_EQ(ReadText(mnt_ + "/ds/r/c"), "two\n");
  UmountAndExpectExit(daemon);
}

TEST_F(MountHelperTest, StartFailureReachesMount) {
  // -o ro on a database that does not exist: rowfs cannot open it.
  const CommandResult r = RunShell("mount -t fuse.rowfs " + ShellQuote(db_) +
                                   " " + ShellQuote(mnt_) + " -o ro");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(Contains(r.output, "rowfs: ")) << r.output;
  EXPECT_TRUE(MountsAt(mnt_).empty()) << Describe(MountsAt(mnt_));
}

// ---------------------------------------------------------------------------
// (e) stale mounts

class StaleMountTest : public MountTest {
 protected:
  void TearDown() override {
    MountTest::TearDown();
    // A dead mount left under a failed test's new one.
    for (int i = 0; i < 4 && !MountsAt(mnt_).empty(); ++i) {
      umount2(mnt_.c_str(), MNT_DETACH);
    }
  }

  // Writes ds/r/c, then SIGKILLs the daemon without detaching its mount.
  // With `wait_for_enotconn`, waits until stat(2) on the mountpoint says
  // "Transport endpoint is not connected" (the kernel answers from its
  // attribute cache, attr_timeout, for about a second first).
  void KillLeavingStaleMount(bool wait_for_enotconn) {
    ASSERT_EQ(mkdir(P("ds").c_str(), 0755), 0) << strerror(errno);
    ASSERT_EQ(mkdir(P("ds/r").c_str(), 0755), 0) << strerror(errno);
    ASSERT_EQ(WriteFile("ds/r/c", "kept\n"), 0);
    ASSERT_EQ(MountsAt(mnt_).size(), 1u) << Describe(MountsAt(mnt_));
    ASSERT_EQ(daemon_->Terminate(SIGKILL), 128 + SIGKILL);
    ASSERT_TRUE(IsMounted(mnt_));
    if (!wait_for_enotconn) return;
    int err = 0;
    WaitFor([&] {
      struct stat st;
      err = stat(mnt_.c_str(), &st) == 0 ? 0 : errno;
      return err == ENOTCONN;
    });
    ASSERT_EQ(err, ENOTCONN) << "expected a dangling mount";
  }

  // Daemon::Start() takes the dead mount, still listed, for the new one;
  // this waits for the new mount: the only one at mnt_, and answering.
  // statfs(2), unlike stat(2), always reaches the daemon (never the
  // kernel's cache), so a dead mount fails it at once; and it must answer
  // as a FUSE filesystem: between the new daemon's clean-up of the dead
  // mount and its own mount, the bare directory answers too.
  ::testing::AssertionResult WaitForFreshMount() {
    constexpr long kFuseSuperMagic = 0x65735546;
    std::vector<MountEntry> mounts;
    int err = 0;
    const bool ok = WaitFor([&] {
      struct statfs sf;
      err = statfs(mnt_.c_str(), &sf) == 0 ? 0 : errno;
      mounts = MountsAt(mnt_);
      return err == 0 && static_cast<long>(sf.f_type) == kFuseSuperMagic &&
             mounts.size() == 1;
    });
    if (ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "no live mount alone at " << mnt_ << " (statfs: " << strerror(err)
           << "):\n"
           << Describe(mounts) << daemon_->Log();
  }
};

TEST_F(StaleMountTest, NextDaemonDetachesTheDeadMount) {
  KillLeavingStaleMount(/*wait_for_enotconn=*/true);
  if (HasFatalFailure()) return;
  daemon_ = std::make_unique<Daemon>(db_, mnt_);
  ASSERT_TRUE(daemon_->Start());
  ASSERT_TRUE(WaitForFreshMount());
  EXPECT_TRUE(Contains(daemon_->Log(), "cleaned up a stale mount"))
      << daemon_->Log();
  EXPECT_EQ(ReadFile("ds/r/c"), "kept\n");
}

// Restarted within attr_timeout of the crash, while stat(2) of the dead
// mountpoint is still answered from the kernel's attribute cache: the
// daemon looks for a dead mount with statfs(2), which is never cached
// (src/daemon.cc, CleanStaleMount), so it still detaches it.
TEST_F(StaleMountTest, RestartRightAfterTheKillDetachesTheDeadMount) {
  KillLeavingStaleMount(/*wait_for_enotconn=*/false);
  if (HasFatalFailure()) return;
  daemon_ = std::make_unique<Daemon>(db_, mnt_);
  ASSERT_TRUE(daemon_->Start());
  ASSERT_TRUE(WaitForFreshMount());
  EXPECT_EQ(ReadFile("ds/r/c"), "kept\n");
}

class StaleMountUnitTest : public StaleMountTest {
 protected:
  void SetUp() override {
    StaleMountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(inst_.Install());
    const UnitFile unit = ParseUnit(ReadText(inst_.Unit()));
    pre_ = unit.Values("Service", "ExecStartPre");
    ASSERT_FALSE(pre_.empty());
    instance_ = EscapePath(mnt_);
    env_ = {{"ROWFS_DB", db_}};
  }
  // The unit's ExecStartPre= lines, as systemd runs them.
  void RunStartPre() {
    for (const std::string& line : pre_) {
      ExecCommand c;
      ASSERT_TRUE(ExpandExec(line, instance_, env_, &c));
      std::string output;
      const int status = RunArgv(c.argv, env_, &output);
      EXPECT_TRUE(status == 0 || c.ignore_failure)
          << line << " failed with " << status << ": " << output;
    }
  }
  Installation inst_;
  std::vector<std::string> pre_;
  std::string instance_;
  Env env_;
};

TEST_F(StaleMountUnitTest, ExecStartPreDetachesOnlyDeadMounts) {
  // On a live mount the clean-up leaves it alone.
  RunStartPre();
  EXPECT_TRUE(IsMounted(mnt_));
  EXPECT_EQ(mkdir(P("live").c_str(), 0755), 0) << strerror(errno);
  // A dead one goes, even right after the crash (no waiting for the
  // kernel's cache to expire); the daemon then mounts on a clean
  // mountpoint.
  KillLeavingStaleMount(/*wait_for_enotconn=*/false);
  if (HasFatalFailure()) return;
  RunStartPre();
  struct stat st;
  EXPECT_EQ(stat(mnt_.c_str(), &st), 0) << strerror(errno);
  EXPECT_TRUE(MountsAt(mnt_).empty()) << Describe(MountsAt(mnt_));
  daemon_ = std::make_unique<Daemon>(db_, mnt_);
  ASSERT_TRUE(daemon_->Start());
  EXPECT_FALSE(Contains(daemon_->Log(), "stale mount")) << daemon_->Log();
  EXPECT_EQ(ReadFile("ds/r/c"), "kept\n");
  EXPECT_EQ(MountsAt(mnt_).size(), 1u) << Describe(MountsAt(mnt_));
}

}  // namespace
}  // namespace rowfs
