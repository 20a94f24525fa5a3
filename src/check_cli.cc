#include "check_cli.h"

#include <rocksdb/env.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_report.h"
#include "offline_db.h"
#include "rowfs/status.h"

namespace rowfs {
namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  rowfs check  DB_DIR   verify every table file, blob file and "
    "write-ahead log\n"
    "  rowfs repair DB_DIR   save the damaged state as "
    "DB_DIR.damaged-<time>, then\n"
    "                        rebuild the database from what can be read\n"
    "Both need the database unmounted. Exit status: 0 clean or repaired, 1 "
    "damaged\nor failed, 2 bad usage.\n";

int Usage(const std::string& why) { return ReportUsage(why, kUsage); }

int Check(const std::string& db) {
  // Keep a daemon from opening the database while its files are read.
  rocksdb::Env* env = rocksdb::Env::Default();
  rocksdb::FileLock* lock = nullptr;
  std::error_code ec;
  if (std::filesystem::exists(db + "/LOCK", ec) &&
      !env->LockFile(db + "/LOCK", &lock).ok()) {
    const Status busy = RefuseIfInUse(db);
    return ReportFailure(
        busy.ok() ? Status::Busy(db + " is in use: unmount it first") : busy);
  }
  std::vector<DamagedFile> damaged;
  std::string summary;
  Status s = InspectDatabase(db, &damaged, &summary);
  if (lock != nullptr) env->UnlockFile(lock).PermitUncheckedError();
  if (!s.ok()) return ReportFailure(s);
  for (const DamagedFile& d : damaged) {
    std::printf("%s: %s\n", d.name.c_str(), d.reason.c_str());
  }
  if (damaged.empty()) {
    std::printf("%s: clean: %s\n", db.c_str(), summary.c_str());
    return 0;
  }
  std::fprintf(stderr,
               "rowfs: %zu damaged in %s (%s); `rowfs repair %s` keeps a "
               "copy of this state and rebuilds the database from what can "
               "be read\n",
               damaged.size(), db.c_str(), summary.c_str(), db.c_str());
  return 1;
}

}  // namespace

std::string RepairHint(const Status& open_error, const std::string& db_path) {
  if (open_error.code() != Status::Code::kCorruption ||
      open_error.message().find("rowfs repair") != std::string::npos) {
    return "";
  }
  return "; `rowfs check " + db_path + "` tells what is damaged, `rowfs " +
         "repair " + db_path + "` rebuilds the database from what reads";
}

int RunCheckTool(int argc, char** argv) {
  const std::string tool = argv[0];
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (args.size() != 1 || args[0].empty() || args[0][0] == '-') {
    return Usage(tool + " takes one argument, DB_DIR");
  }
  std::error_code ec;
  std::string db =
      std::filesystem::absolute(args[0], ec).lexically_normal().string();
  while (db.size() > 1 && db.back() == '/') db.pop_back();
  if (!std::filesystem::is_directory(db, ec)) {
    return ReportFailure(Status::NotFound(db + " is not a directory"));
  }
  Status s = RefuseIfInUse(db);
  if (!s.ok()) return ReportFailure(s);
  return tool == "check" ? Check(db) : RunRepair(db);
}

}  // namespace rowfs
