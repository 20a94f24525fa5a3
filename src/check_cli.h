// `rowfs check DB_DIR` and `rowfs repair DB_DIR`: offline verification and
// repair of a database that no rowfs is serving.
#ifndef ROWFS_SRC_CHECK_CLI_H_
#define ROWFS_SRC_CHECK_CLI_H_

#include <string>

#include "rowfs/status.h"

namespace rowfs {

// argv[0] is "check" or "repair". Returns the exit status: check 0 clean,
// 1 damaged (or in use, or unreadable); repair 0 repaired, 1 failed or in
// use; both 2 on bad usage.
int RunCheckTool(int argc, char** argv);

// What to add to a Corruption that keeps `db_path` from opening: how to
// find out what is damaged and repair it ("" for other errors, or when the
// message says so already).
std::string RepairHint(const Status& open_error, const std::string& db_path);

// The repair of `db_path` (absolute, a directory, not in use); in
// repair_cli.cc. Returns the exit status.
int RunRepair(const std::string& db_path);

}  // namespace rowfs

#endif  // ROWFS_SRC_CHECK_CLI_H_
