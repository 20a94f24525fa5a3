#include "backup_cli.h"

#include <sys/xattr.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_report.h"
#include "rowfs/backup.h"
#include "rowfs/store.h"

namespace rowfs {
namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  rowfs backup create  SOURCE BACKUP_DIR   SOURCE: a rowfs mountpoint "
    "(live) or an unmounted DB_DIR\n"
    "  rowfs backup list    BACKUP_DIR\n"
    "  rowfs backup verify  BACKUP_DIR [--id N]\n"
    "  rowfs backup restore BACKUP_DIR DB_DIR [--id N]   (DB_DIR new or "
    "empty)\n"
    "  rowfs backup purge   BACKUP_DIR --keep N\n"
    "  rowfs checkpoint     SOURCE DIR          (DIR must not exist)\n";

int Usage(const std::string& why) { return ReportUsage(why, kUsage); }

std::string Absolute(const std::string& p) {
  std::error_code ec;
  return std::filesystem::absolute(p, ec).lexically_normal().string();
}

// Splits "--id N" / "--keep N" out of the arguments.
bool TakeOption(std::vector<std::string>* args, const std::string& name,
                uint32_t* value, std::string* error) {
  for (size_t i = 0; i < args->size(); ++i) {
    if ((*args)[i] != name) continue;
    if (i + 1 >= args->size()) {
      *error = name + " needs a number";
      return false;
    }
    const std::string& text = (*args)[i + 1];
    auto [p, ec] =
        std::from_chars(text.data(), text.data() + text.size(), *value);
    if (ec != std::errc() || p != text.data() + text.size()) {
      *error = name + " needs a number, got '" + text + "'";
      return false;
    }
    args->erase(args->begin() + i, args->begin() + i + 2);
    return true;
  }
  return true;
}

// Prints "copied N MiB" on one refreshed line when stderr is a terminal.
BackupProgress TerminalProgress() {
  if (!isatty(STDERR_FILENO)) return nullptr;
  return [](uint64_t bytes) {
    std::fprintf(stderr, "\rcopied %llu MiB",
                 static_cast<unsigned long long>(bytes >> 20));
  };
}

// Runs `action` on the database at `source`: through the daemon serving it
// when `source` is a rowfs mountpoint (setxattr `ctl_name` = `target`), or
// on the database directory opened here.
int OnSource(const std::string& source, const char* ctl_name,
             const std::string& target,
             const std::function<Status(Store*)>& action) {
  if (IsRowfsMount(source)) {
    std::fprintf(stderr, "asking the rowfs daemon serving %s...\n",
                 source.c_str());
    if (setxattr(source.c_str(), ctl_name, target.data(), target.size(), 0) !=
        0) {
      return ReportFailure(Status::IOError(std::string("the daemon refused: ") +
                                           strerror(errno) + " (see its log)"));
    }
    return 0;
  }
  std::unique_ptr<Store> store;
  StoreOptions options;
  options.create_if_missing = false;
  Status s = Store::Open(options, source, &store);
  if (s.code() == Status::Code::kBusy) {
    return ReportFailure(Status::Busy(source +
                                      " is in use by another process; give "
                                      "the mountpoint of the rowfs serving it "
                                      "instead"));
  }
  if (!s.ok()) return ReportFailure(s);
  s = action(store.get());
  if (isatty(STDERR_FILENO)) std::fputc('\n', stderr);
  return s.ok() ? 0 : ReportFailure(s);
}

std::string FormatTime(int64_t seconds) {
  char buf[64];
  const time_t t = static_cast<time_t>(seconds);
  struct tm tm;
  localtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

int PrintBackups(const std::string& dir) {
  std::vector<BackupEntry> backups;
  Status s = ListBackups(dir, &backups);
  if (!s.ok()) return ReportFailure(s);
  std::printf("%-6s %-19s %12s %6s  %s\n", "ID", "CREATED", "BYTES", "FILES",
              "SOURCE");
  for (const BackupEntry& b : backups) {
    std::printf(
        "%-6u %-19s %12llu %6u  %s\n", b.id, FormatTime(b.timestamp).c_str(),
        static_cast<unsigned long long>(b.size), b.files, b.metadata.c_str());
  }
  return 0;
}

}  // namespace

bool IsRowfsMount(const std::string& path) {
  std::error_code ec;
  const std::string canonical = std::filesystem::weakly_canonical(path, ec);
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent dev root mountpoint options [optional...] - fstype source ...
    std::istringstream fields(line);
    std::string id, parent, dev, root, mountpoint, field;
    fields >> id >> parent >> dev >> root >> mountpoint;
    while (fields >> field && field != "-") {
    }
    std::string fstype;
    fields >> fstype;
    if (mountpoint == canonical && fstype == "fuse.rowfs") return true;
  }
  return false;
}

int RunBackupTool(int argc, char** argv) {
  const std::string tool = argv[0];
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string error;
  uint32_t id = 0, keep = 0;
  if (!TakeOption(&args, "--id", &id, &error) ||
      !TakeOption(&args, "--keep", &keep, &error)) {
    return Usage(error);
  }
  if (tool == "checkpoint") {
    if (args.size() != 2) return Usage("checkpoint takes SOURCE DIR");
    const std::string dir = Absolute(args[1]);
    const int rc =
        OnSource(Absolute(args[0]), "user.rowfs.ctl.checkpoint", dir,
                 [&](Store* store) { return CreateCheckpoint(store, dir); });
    if (rc == 0)
      std::printf("checkpoint of %s in %s\n", args[0].c_str(), dir.c_str());
    return rc;
  }
  if (args.empty()) return Usage("backup needs a command");
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "create") {
    if (args.size() != 2) return Usage("backup create takes SOURCE BACKUP_DIR");
    const std::string dir = Absolute(args[1]);
    const int rc = OnSource(
        Absolute(args[0]), "user.rowfs.ctl.backup", dir, [&](Store* store) {
          return CreateBackup(store, dir, TerminalProgress(), nullptr);
        });
    return rc != 0 ? rc : PrintBackups(dir);
  }
  if (cmd == "list") {
    if (args.size() != 1) return Usage("backup list takes BACKUP_DIR");
    return PrintBackups(args[0]);
  }
  if (cmd == "verify") {
    if (args.size() != 1) return Usage("backup verify takes BACKUP_DIR");
    Status s = VerifyBackup(args[0], id);
    if (!s.ok()) return ReportFailure(s);
    std::printf(
        "verified %s\n",
        id == 0 ? "every backup" : ("backup " + std::to_string(id)).c_str());
    return 0;
  }
  if (cmd == "restore") {
    if (args.size() != 2)
      return Usage("backup restore takes BACKUP_DIR DB_DIR");
    std::fprintf(stderr, "restoring %s into %s...\n",
                 id == 0 ? "the latest backup"
                         : ("backup " + std::to_string(id)).c_str(),
                 args[1].c_str());
    Status s = RestoreBackup(args[0], id, args[1]);
    if (!s.ok()) return ReportFailure(s);
    std::printf("restored into %s\n", args[1].c_str());
    return 0;
  }
  if (cmd == "purge") {
    if (args.size() != 1 || keep == 0) {
      return Usage("backup purge takes BACKUP_DIR --keep N (N >= 1)");
    }
    Status s = PurgeBackups(args[0], keep);
    if (!s.ok()) return ReportFailure(s);
    return PrintBackups(args[0]);
  }
  return Usage("unknown backup command '" + cmd + "'");
}

}  // namespace rowfs
