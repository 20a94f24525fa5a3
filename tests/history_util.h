// Helpers of the history acceptance tests (history_tools_test.cc,
// history_restore_test.cc): a whole tree as a restore must reproduce it,
// and where two trees (or two sets of versions) differ, one line each, so a
// failure names the lost version instead of printing two manifests.
#ifndef ROWFS_TESTS_HISTORY_UTIL_H_
#define ROWFS_TESTS_HISTORY_UTIL_H_

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mount_fixture.h"

namespace rowfs {
namespace history {

inline uint64_t MtimeMs(const struct stat& st) {
  return static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000 +
         static_cast<uint64_t>(st.st_mtim.tv_nsec) / 1000000;
}

// The stat mtime of `path` in ms, or 0 (with a failure) when it is missing.
inline uint64_t MtimeOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    ADD_FAILURE() << "stat " << path << ": " << strerror(errno);
    return 0;
  }
  return MtimeMs(st);
}

// A short printable description of some bytes, for failure messages.
inline std::string Describe(const std::string& content) {
  std::ostringstream out;
  out << content.size() << " bytes";
  if (content.size() <= 40) {
    out << " \"";
    for (unsigned char c : content) {
      if (c >= 32 && c < 127) {
        out << c;
      } else {
        out << "\\x" << std::hex << static_cast<int>(c) << std::dec;
      }
    }
    out << "\"";
  }
  return out.str();
}

// One entry of a tree: what an exact restore reproduces (name, kind, mode,
// ms mtime, bytes). Owners are left out: every test runs as one user.
struct Entry {
  bool dir = false;
  unsigned mode = 0;
  uint64_t mtime_ms = 0;
  std::string content;  // files only
};
// Relative path ("." for the root) -> entry.
using Tree = std::map<std::string, Entry>;

inline void WalkInto(const std::string& root, const std::string& rel,
                     Tree* tree, std::vector<std::string>* errors) {
  const std::string path = rel == "." ? root : root + "/" + rel;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    errors->push_back("lstat " + path + ": " + strerror(errno));
    return;
  }
  Entry e;
  e.dir = S_ISDIR(st.st_mode);
  e.mode = st.st_mode & 07777;
  e.mtime_ms = MtimeMs(st);
  if (!e.dir) {
    const int err = ReadWhole(path, &e.content);
    if (err != 0) errors->push_back("read " + path + ": " + strerror(err));
  }
  (*tree)[rel] = std::move(e);
  if (!S_ISDIR(st.st_mode)) return;
  std::set<std::string> names;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) {
    errors->push_back("opendir " + path + ": " + strerror(errno));
    return;
  }
  while (dirent* de = readdir(d)) {
    const std::string n = de->d_name;
    if (n == "." || n == "..") continue;
    if (!names.insert(n).second) errors->push_back("listed twice: " + n);
  }
  closedir(d);
  for (const std::string& n : names) {
    WalkInto(root, rel == "." ? n : rel + "/" + n, tree, errors);
  }
}

// Every directory and file under `root`. Fails the test on unreadable
// entries, and on an empty tree (two missing trees must not agree).
inline Tree Walk(const std::string& root) {
  Tree tree;
  std::vector<std::string> errors;
  WalkInto(root, ".", &tree, &errors);
  for (const auto& e : errors) ADD_FAILURE() << "walk of " << root << ": " << e;
  EXPECT_GT(tree.size(), 1u) << root << " is empty";
  return tree;
}

// Differences between two trees, one line each (empty when they match).
// `dir_times` false leaves directory mtimes out (for tools that cannot
// restore them).
inline std::string DiffTrees(const Tree& want, const Tree& got,
                             bool dir_times = true) {
  std::ostringstream out;
  int lines = 0;
  auto line = [&](const std::string& s) {
    if (++lines <= 40) out << "  " << s << "\n";
  };
  for (const auto& [path, w] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      line("missing: " + path);
      continue;
    }
    const Entry& g = it->second;
    if (w.dir != g.dir) {
      line("kind differs: " + path);
      continue;
    }
    if (w.mode != g.mode) {
      std::ostringstream s;
      s << "mode differs: " << path << ": " << std::oct << w.mode << " vs "
        << g.mode;
      line(s.str());
    }
    if ((dir_times || !w.dir) && w.mtime_ms != g.mtime_ms) {
      line("mtime differs: " + path + ": " + std::to_string(w.mtime_ms) +
           " vs " + std::to_string(g.mtime_ms) + " ms");
    }
    if (w.content != g.content) {
      line("content differs: " + path + ": " + Describe(w.content) + " vs " +
           Describe(g.content));
    }
  }
  for (const auto& [path, g] : got) {
    if (want.count(path) == 0) {
      line("unexpected: " + path +
           (g.dir ? "/" : " (" + Describe(g.content) + ")"));
    }
  }
  if (lines > 40) out << "  ... " << lines - 40 << " more\n";
  return out.str();
}

// Differences between two name -> bytes maps (a column's versions).
inline std::string DiffVersions(const std::map<std::string, std::string>& want,
                                const std::map<std::string, std::string>& got) {
  std::ostringstream out;
  for (const auto& [name, bytes] : want) {
    auto it = got.find(name);
    if (it == got.end()) {
      out << "  lost: " << name << " (" << Describe(bytes) << ")\n";
    } else if (it->second != bytes) {
      out << "  changed: " << name << ": " << Describe(bytes) << " vs "
          << Describe(it->second) << "\n";
    }
  }
  for (const auto& [name, bytes] : got) {
    if (want.count(name) == 0) {
      out << "  added: " << name << " (" << Describe(bytes) << ")\n";
    }
  }
  return out.str();
}

// Whether a program is on PATH.
inline bool HaveTool(const std::string& name) {
  return RunShell("command -v " + ShellQuote(name) + " >/dev/null 2>&1")
             .status == 0;
}

}  // namespace history
}  // namespace rowfs

#endif  // ROWFS_TESTS_HISTORY_UTIL_H_
