// Crash safety: writers work on a mount, the daemon is killed with SIGKILL
// at a random moment, the same database is mounted again and checked.
//
//  * the database opens again;
//  * every content whose close() returned 0 before the kill is a version of
//    its column, and the column's latest value is that content or a later
//    one of the same writer;
//  * every content whose fsync() returned 0 is a version of its column;
//  * every version is a complete content some writer wrote: contents are
//    self-checking (a header naming writer, file and sequence number, from
//    which the whole content is regenerated and compared byte for byte), so
//    a half-written buffer stored as a version is detected.
//
// Writers are forked processes and threads of this process, each recording
// what succeeded in a journal file outside the mount (one line per close or
// fsync that returned 0, and the first error with its time). Rounds repeat
// on the same database and the checks cover every round so far, so data
// must also survive later crashes. ROWFS_CRASH_ROUNDS sets the number of
// rounds (default 6; scripts/crash-soak.sh runs many), ROWFS_CRASH_SEED the
// random seed (printed on every run).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "mount_fixture.h"
#include "reliability_util.h"
#include "rowfs/names.h"

namespace rowfs {
namespace {

using reliability::ListDir;
using reliability::MonotonicMs;
using reliability::ReadWhole;
using reliability::WriteAllFd;

constexpr int kFilesPerWriter = 3;
constexpr int kRows = 4;
// Rounds whose journals are checked together; then the dataset starts over
// so that a long soak does not re-read an ever growing history.
constexpr int kRoundsPerEpoch = 8;
constexpr uint64_t kSeqPerRound = 1000000;

// How a writer stores each new content.
enum class Mode {
  kClose,    // open(O_TRUNC), write in chunks, close
  kFsync,    // as kClose, plus fsync before close
  kRewrite,  // open without O_TRUNC, overwrite in chunks, ftruncate, close
  kRename,   // write a temporary column, close, rename it over the column
};

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kClose:
      return "close";
    case Mode::kFsync:
      return "fsync";
    case Mode::kRewrite:
      return "rewrite";
    case Mode::kRename:
      return "rename";
  }
  return "?";
}

std::string ColumnName(int writer, int file) {
  return "w" + std::to_string(writer) + "f" + std::to_string(file);
}

// The complete content number `seq` of (writer, file): a header, then
// pseudo-random bytes derived from the header. Sizes vary from a few bytes
// to several FUSE write requests.
std::string MakeContent(int writer, int file, uint64_t seq) {
  std::mt19937_64 rng(static_cast<uint64_t>(writer) * 1000003u ^
                      static_cast<uint64_t>(file) * 7919u ^
                      seq * 0x9E3779B97F4A7C15ull);
  const uint64_t pick = rng() % 100;
  size_t len;
  if (pick < 60) {
    len = rng() % 4096;
  } else if (pick < 95) {
    len = 4096 + rng() % (160 * 1024);
  } else if (pick < 98) {
    len = 160 * 1024 + rng() % (480 * 1024);
  } else {
    // Large: the writer stores chunks while it writes (beyond 4 MiB of
    // dirty chunks), so kills land between those and the commit.
    len = (4 << 20) + rng() % (6 << 20);
  }
  char header[96];
  std::snprintf(header, sizeof(header),
                "ROWFS-CRASH w=%d f=%d seq=%" PRIu64 " len=%zu\n", writer, file,
                seq, len);
  std::string out = header;
  out.reserve(out.size() + len);
  while (out.size() < std::strlen(header) + len) {
    const uint64_t r = rng();
    for (int i = 0; i < 8 && out.size() < std::strlen(header) + len; ++i) {
      out.push_back(static_cast<char>((r >> (8 * i)) & 0xff));
    }
  }
  return out;
}

// Whether `data` is exactly one complete content; fills its identity.
bool ParseContent(const std::string& data, int* writer, int* file,
                  uint64_t* seq) {
  const size_t nl = data.find('\n');
  if (nl == std::string::npos || nl > 95) return false;
  const std::string header = data.substr(0, nl);
  int w = -1, f = -1;
  uint64_t s = 0;
  size_t len = 0;
  if (std::sscanf(header.c_str(),
                  "ROWFS-CRASH w=%d f=%d seq=%" SCNu64 " len=%zu", &w, &f, &s,
                  &len) != 4) {
    return false;
  }
  if (w < 0 || w > 1000 || f < 0 || f >= kFilesPerWriter) return false;
  if (data.size() != nl + 1 + len) return false;
  if (MakeContent(w, f, s) != data) return false;
  *writer = w;
  *file = f;
  *seq = s;
  return true;
}

struct WriterSpec {
  int id = 0;
  int round = 0;
  Mode mode = Mode::kClose;
  std::string row_dir;  // absolute path of the writer's row
  std::string journal;  // outside the mount
  uint64_t first_seq = 0;
  uint32_t seed = 0;
  int64_t deadline_ms = 0;  // MonotonicMs() bound, a safety net
  const std::atomic<bool>* stop = nullptr;
};

// Writes contents until an error (the daemon died) or the deadline.
// Journal lines: "C <file> <seq>" after a close (or the rename that
// publishes it) returned 0, "S <file> <seq>" after an fsync returned 0,
// "E <round> <call> <errno> <monotonic ms>" for the first error, then it stops.
void RunWriter(const WriterSpec& w) {
  const int jfd = open(w.journal.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (jfd < 0) return;
  std::mt19937 rng(w.seed);
  auto journal = [&](const char* kind, int file, uint64_t seq) {
    dprintf(jfd, "%s %d %" PRIu64 "\n", kind, file, seq);
  };
  auto error = [&](const char* call, int err) {
    dprintf(jfd, "E %d %s %d %" PRId64 "\n", w.round, call, err, MonotonicMs());
  };
  for (uint64_t i = 0;; ++i) {
    if (w.stop != nullptr && w.stop->load()) break;
    if (MonotonicMs() > w.deadline_ms) break;
    const int file = static_cast<int>(rng() % kFilesPerWriter);
    const uint64_t seq = w.first_seq + i;
    const std::string content = MakeContent(w.id, file, seq);
    const std::string path = w.row_dir + "/" + ColumnName(w.id, file);
    const size_t chunk = 1 + rng() % (96 * 1024);
    if (w.mode == Mode::kRename) {
      const std::string tmp = path + ".tmp";
      const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) return error("open", errno);
      if (int err = WriteAllFd(fd, content, chunk); err != 0) {
        close(fd);
        return error("write", err);
      }
      if (close(fd) != 0) return error("close", errno);
      if (rename(tmp.c_str(), path.c_str()) != 0) return error("rename", errno);
      journal("C", file, seq);
      continue;
    }
    const int flags = w.mode == Mode::kRewrite ? O_RDWR | O_CREAT
                                               : O_WRONLY | O_CREAT | O_TRUNC;
    const int fd = open(path.c_str(), flags, 0644);
    if (fd < 0) return error("open", errno);
    if (int err = WriteAllFd(fd, content, chunk); err != 0) {
      close(fd);
      return error("write", err);
    }
    if (w.mode == Mode::kRewrite &&
        ftruncate(fd, static_cast<off_t>(content.size())) != 0) {
      const int err = errno;
      close(fd);
      return error("ftruncate", err);
    }
    if (w.mode == Mode::kFsync) {
      if (fsync(fd) != 0) {
        const int err = errno;
        close(fd);
        return error("fsync", err);
      }
      journal("S", file, seq);
    }
    if (close(fd) != 0) return error("close", errno);
    journal("C", file, seq);
  }
  close(jfd);
}

// What the journals say must be in the database.
struct Expected {
  std::map<std::pair<int, int>, std::set<uint64_t>> closed, synced;
  std::map<std::pair<int, int>, uint64_t> last_closed;
};

class CrashTest : public MountTest {
 protected:
  // Version path -> the content sequence number read from it.
  std::map<std::string, uint64_t> verified_;
  std::mt19937 sample_{12345};

  static int EnvInt(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
  }

  std::string Journal(int epoch, int writer) const {
    return dir_.Sub("journal-e" + std::to_string(epoch) + "-w" +
                    std::to_string(writer));
  }
  static std::string RowName(int writer) {
    return "r" + std::to_string(writer % kRows);
  }

  // Reads every journal of `epoch`; fails on errors that happened before
  // the daemon was killed.
  void ReadJournals(int epoch, int writers,
                    const std::map<int, int64_t>& killed_at, Expected* exp) {
    for (int w = 0; w < writers; ++w) {
      std::ifstream in(Journal(epoch, w));
      std::string line;
      while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string kind;
        f >> kind;
        if (kind == "E") {
          std::string call;
          int round = -1, err = 0;
          int64_t at = 0;
          f >> round >> call >> err >> at;
          ASSERT_TRUE(killed_at.count(round)) << line;
          const int64_t killed_at_ms = killed_at.at(round);
          // A call that started before the kill may fail right after it;
          // one that failed clearly before it is a rowfs error.
          EXPECT_GE(at, killed_at_ms - 5)
              << "writer " << w << " in round " << round << ": " << call
              << " failed with " << strerror(err) << " " << (killed_at_ms - at)
              << " ms BEFORE the daemon was killed";
          continue;
        }
        int file = -1;
        uint64_t seq = 0;
        f >> file >> seq;
        ASSERT_TRUE(kind == "C" || kind == "S") << line;
        const auto key = std::make_pair(w, file);
        if (kind == "C") {
          exp->closed[key].insert(seq);
          exp->last_closed[key] = std::max(exp->last_closed[key], seq);
        } else {
          exp->synced[key].insert(seq);
        }
      }
    }
  }

  // The content check of the "crash" dataset, on one line.
  std::string ContentReport() {
    char buf[512];
    const ssize_t n =
        getxattr(P("crash").c_str(), "user.rowfs.content", buf, sizeof(buf));
    std::string out = n < 0 ? "<" + std::string(strerror(errno)) + ">"
                            : std::string(buf, static_cast<size_t>(n));
    return out;  // "key=value\n" lines
  }

  // Checks the mounted database against the journals of `epoch`.
  void Verify(int writers, const Expected& exp, const std::string& context) {
    const int64_t started = MonotonicMs();
    const size_t known = verified_.size();
    std::map<std::pair<int, int>, std::set<uint64_t>> present;
    std::map<std::pair<int, int>, uint64_t> latest;
    size_t versions = 0;
    for (int r = 0; r < kRows; ++r) {
      const std::string row = P("crash/r" + std::to_string(r));
      std::vector<std::string> names;
      const int lerr = ListDir(row, &names);
      ASSERT_EQ(lerr, 0) << context << ": listing " << row << ": "
                         << strerror(lerr);
      std::set<std::string> seen;
      for (const std::string& name : names) {
        SCOPED_TRACE(context + ": " + row + "/" + name);
        EXPECT_TRUE(seen.insert(name).second) << "listed twice";
        EntryName e;
        ASSERT_TRUE(ParseEntryName(name, &e).ok()) << "invalid name listed";
        std::string column(e.column);
        const bool tmp = column.size() > 4 &&
                         column.compare(column.size() - 4, 4, ".tmp") == 0;
        if (tmp) column.resize(column.size() - 4);
        int w = -1, f = -1;
        char rest = 0;
        ASSERT_EQ(std::sscanf(column.c_str(), "w%df%d%c", &w, &f, &rest), 2)
            << "a column no writer writes";
        ASSERT_TRUE(w >= 0 && w < writers &&
                    RowName(w) == "r" + std::to_string(r))
            << "a column of another row";
        // A version's content never changes in this test: one read in a
        // previous round suffices, except for a random sample re-read.
        const std::string path = row + "/" + name;
        if (e.ts && !tmp && verified_.count(path) && sample_() % 8 != 0) {
          ++versions;
          present[{w, f}].insert(verified_.at(path));
          continue;
        }
        std::string data;
        const int rerr = ReadWhole(path, &data);
        ASSERT_EQ(rerr, 0) << "listed but unreadable: " << strerror(rerr);
        int cw = -1, cf = -1;
        uint64_t seq = 0;
        ASSERT_TRUE(ParseContent(data, &cw, &cf, &seq))
            << "a version that is not a complete content (" << data.size()
            << " bytes, starting '"
            << data.substr(0, std::min<size_t>(data.size(), 60)) << "')";
        EXPECT_EQ(cw, w) << "content of another writer";
        EXPECT_EQ(cf, f) << "content of another file";
        ++versions;
        if (tmp) continue;
        if (e.ts) {
          const auto [it, fresh] = verified_.emplace(path, seq);
          EXPECT_TRUE(fresh || it->second == seq)
              << "a version's content changed since the last round";
        }
        present[{w, f}].insert(seq);
        if (!e.ts) latest[{w, f}] = seq;
      }
    }
    size_t checked = 0;
    for (const auto& [key, seqs] : exp.closed) {
      const std::string col =
          RowName(key.first) + "/" + ColumnName(key.first, key.second);
      EXPECT_TRUE(latest.count(key))
          << context << ": " << col << " lost (closed before the kill)";
      if (!latest.count(key)) continue;
      EXPECT_GE(latest.at(key), exp.last_closed.at(key))
          << context << ": " << col
          << ": the latest value is older than the last closed content";
      for (uint64_t seq : seqs) {
        ++checked;
        EXPECT_TRUE(present[key].count(seq))
            << context << ": " << col << ": content seq " << seq
            << " was closed before the kill but is no version";
      }
    }
    for (const auto& [key, seqs] : exp.synced) {
      const std::string col =
          RowName(key.first) + "/" + ColumnName(key.first, key.second);
      for (uint64_t seq : seqs) {
        ++checked;
        EXPECT_TRUE(present[key].count(seq))
            << context << ": " << col << ": content seq " << seq
            << " was fsynced before the kill but is no version";
      }
    }
    std::printf(
        "[ crash    ] %s: %zu versions valid, %zu journaled contents "
        "present (%zu versions seen before; checked in %" PRId64 " ms)\n",
        context.c_str(), versions, checked, known, MonotonicMs() - started);
  }
};

TEST_F(CrashTest, KillDuringWritesLosesNothingClosedOrSynced) {
  const int rounds = EnvInt("ROWFS_CRASH_ROUNDS", 6);
  const uint32_t seed = static_cast<uint32_t>(EnvInt(
      "ROWFS_CRASH_SEED", static_cast<int>(std::random_device{}() >> 1)));
  std::printf("[ crash    ] %d rounds, ROWFS_CRASH_SEED=%u\n", rounds, seed);
  std::mt19937 rng(seed);
  // Processes and threads, every mode in each.
  const std::vector<Mode> process_modes = {Mode::kClose, Mode::kFsync,
                                           Mode::kRewrite, Mode::kRename};
  const std::vector<Mode> thread_modes = {Mode::kClose, Mode::kFsync,
                                          Mode::kRewrite, Mode::kRename};
  const int writers =
      static_cast<int>(process_modes.size() + thread_modes.size());
  std::string plan;
  for (Mode m : process_modes) plan += std::string(" process:") + ModeName(m);
  for (Mode m : thread_modes) plan += std::string(" thread:") + ModeName(m);
  std::printf("[ crash    ] writers:%s\n", plan.c_str());

  std::map<int, int64_t> killed_at;  // round -> MonotonicMs() of the kill
  for (int round = 0; round < rounds; ++round) {
    const int epoch = round / kRoundsPerEpoch;
    const std::string context = "round " + std::to_string(round) + " (seed " +
                                std::to_string(seed) + ")";
    SCOPED_TRACE(context);
    if (round > 0 && round % kRoundsPerEpoch == 0) {
      const CommandResult rm = Sh("rm -rf crash");
      ASSERT_EQ(rm.status, 0) << rm.output;
      verified_.clear();
    }
    mkdir(P("crash").c_str(), 0755);
    for (int r = 0; r < kRows; ++r) {
      mkdir(P("crash/r" + std::to_string(r)).c_str(), 0755);
      struct stat st;
      ASSERT_EQ(stat(P("crash/r" + std::to_string(r)).c_str(), &st), 0);
    }

    std::vector<WriterSpec> specs;
    for (int w = 0; w < writers; ++w) {
      WriterSpec s;
      s.id = w;
      s.round = round;
      s.mode = w < static_cast<int>(process_modes.size())
                   ? process_modes[w]
                   : thread_modes[w - process_modes.size()];
      s.row_dir = P("crash/" + RowName(w));
      s.journal = Journal(epoch, w);
      s.first_seq = static_cast<uint64_t>(round) * kSeqPerRound;
      s.seed = static_cast<uint32_t>(rng());
      s.deadline_ms = MonotonicMs() + 20000;
      specs.push_back(s);
    }
    // Fork while this process has no other thread.
    std::vector<pid_t> children;
    for (size_t i = 0; i < process_modes.size(); ++i) {
      const pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        RunWriter(specs[i]);
        _exit(0);
      }
      children.push_back(pid);
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (size_t i = process_modes.size(); i < specs.size(); ++i) {
      specs[i].stop = &stop;
      threads.emplace_back([spec = specs[i]] { RunWriter(spec); });
    }

    // Memtable flushes and compactions now and then, so that kills also
    // land in the middle of writing SST files and the MANIFEST.
    threads.emplace_back([this, &stop, seed = static_cast<uint32_t>(rng())] {
      std::mt19937 frng(seed);
      while (!stop.load()) {
        std::this_thread::sleep_for(
            std::chrono::milliseconds(50 + frng() % 250));
        if (stop.load()) break;
        const bool compact = frng() % 4 == 0;
        const char* name =
            compact ? "user.rowfs.ctl.compact" : "user.rowfs.ctl.flush";
        const std::string value = compact ? "crash" : "1";
        if (setxattr(mnt_.c_str(), name, value.data(), value.size(), 0) != 0) {
          break;  // the daemon is gone
        }
      }
    });

    // Kill at a random point: sometimes almost at once, mostly later.
    const int delay_ms = rng() % 5 == 0 ? 20 + static_cast<int>(rng() % 200)
                                        : 200 + static_cast<int>(rng() % 1300);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    const pid_t daemon_pid = daemon_->pid();
    killed_at[round] = MonotonicMs();
    daemon_->Kill9();
    EXPECT_NE(kill(daemon_pid, 0), 0) << "the daemon survived SIGKILL";

    stop = true;
    for (auto& t : threads) t.join();
    const int64_t wait_until = MonotonicMs() + 20000;
    for (pid_t pid : children) {
      int status = 0;
      while (waitpid(pid, &status, WNOHANG) == 0) {
        if (MonotonicMs() > wait_until) {
          ADD_FAILURE() << "writer process " << pid
                        << " still blocked 20 s after the kill";
          kill(pid, SIGKILL);
          waitpid(pid, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }

    Expected exp;
    ASSERT_NO_FATAL_FAILURE(ReadJournals(epoch, writers, killed_at, &exp));
    size_t closes = 0, syncs = 0;
    for (const auto& [k, v] : exp.closed) closes += v.size();
    for (const auto& [k, v] : exp.synced) syncs += v.size();
    std::printf(
        "[ crash    ] %s: killed after %d ms; epoch so far: %zu "
        "closes, %zu fsyncs journaled\n",
        context.c_str(), delay_ms, closes, syncs);

    // The same database mounts again...
    daemon_ = std::make_unique<Daemon>(db_, mnt_, DaemonArgs());
    ASSERT_TRUE(daemon_->Start()) << context;
    // ...and holds everything the journals promise.
    ASSERT_NO_FATAL_FAILURE(Verify(writers, exp, context));
    // No version refers to a chunk that is not there, and what killed
    // writers stored is garbage that one collection removes.
    const std::string before = ContentReport();
    EXPECT_NE(before.find("dangling=0\n"), std::string::npos) << before;
    ASSERT_EQ(setxattr(mnt_.c_str(), "user.rowfs.ctl.gc", "crash", 5, 0), 0);
    const std::string after = ContentReport();
    EXPECT_NE(after.find("dangling=0\n"), std::string::npos) << after;
    EXPECT_NE(after.find("unreferenced=0\n"), std::string::npos) << after;
    std::string line = before;
    std::replace(line.begin(), line.end(), '\n', ' ');
    std::printf("[ crash    ] %s: content before collection: %s\n",
                context.c_str(), line.c_str());
    if (HasFailure()) {
      std::printf("daemon log:\n%s\n", daemon_->Log().c_str());
      return;
    }
  }
  // A clean stop after all the crashes.
  EXPECT_TRUE(daemon_->Stop());
}

}  // namespace
}  // namespace rowfs
