#include "mount_options.h"

#include <unistd.h>

#include <charconv>
#include <cxxopts.hpp>
#include <filesystem>

namespace rowfs {
namespace {

// Keys that only mean something to mount(8) and fstab.
constexpr std::string_view kFstabOnly[] = {"_netdev", "nofail",   "auto",
                                           "noauto",  "user",     "users",
                                           "nouser",  "defaults", "comment"};
// Keys rowfs sets itself.
constexpr std::string_view kOwnedByRowfs[] = {"subtype", "fsname",
                                              "default_permissions"};

Status ParseSeconds(std::string_view key, std::string_view text, double* out) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0) {
    return Status::InvalidArgument("-o " + std::string(key) +
                                   " wants seconds >= 0, got '" +
                                   std::string(text) + "'");
  }
  *out = v;
  return Status::OK();
}

Status ParseId(std::string_view key, std::string_view text, uint32_t* out) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return Status::InvalidArgument("-o " + std::string(key) +
                                   " wants a numeric id, got '" +
                                   std::string(text) + "'");
  }
  *out = v;
  return Status::OK();
}

bool ValidLogLevel(std::string_view level) {
  for (std::string_view l :
       {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    if (level == l) return true;
  }
  return false;
}

std::string EscapeOptionValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

Status ApplyMountOption(std::string_view option, MountOptions* out) {
  if (option.empty()) return Status::OK();
  const size_t eq = option.find('=');
  const std::string_view key = option.substr(0, eq);
  const std::string_view value =
      eq == std::string_view::npos ? std::string_view() : option.substr(eq + 1);
  const bool has_value = eq != std::string_view::npos;
  for (std::string_view k : kFstabOnly) {
    if (key == k) return Status::OK();
  }
  if (key.substr(0, 2) == "x-") return Status::OK();  // x-systemd.* etc.
  for (std::string_view k : kOwnedByRowfs) {
    if (key == k) return Status::OK();  // rowfs always sets these itself
  }
  auto need_value = [&]() -> Status {
    if (!has_value || value.empty()) {
      return Status::InvalidArgument("-o " + std::string(key) +
                                     " needs a value");
    }
    return Status::OK();
  };
  if (key == "versions") {
    ROWFS_RETURN_IF_ERROR(need_value());
    if (value != "hidden" && value != "shown") {
      return Status::InvalidArgument("-o versions wants hidden or shown");
    }
    out->fs.versions_hidden = value == "hidden";
    return Status::OK();
  }
  if (key == "entry_timeout" || key == "attr_timeout") {
    ROWFS_RETURN_IF_ERROR(need_value());
    return ParseSeconds(key, value,
                        key == "entry_timeout" ? &out->fs.entry_timeout
                                               : &out->fs.attr_timeout);
  }
  if (key == "uid" || key == "gid") {
    ROWFS_RETURN_IF_ERROR(need_value());
    return ParseId(key, value,
                   key == "uid" ? &out->fs.default_uid : &out->fs.default_gid);
  }
  if (key == "max_file_size") {
    ROWFS_RETURN_IF_ERROR(need_value());
    uint64_t bytes = 0;
    ROWFS_RETURN_IF_ERROR(ParseByteSize(value, &bytes));
    if (bytes == 0 || bytes > (4ull << 30)) {
      return Status::InvalidArgument("-o max_file_size must be 1..4G");
    }
    out->fs.max_file_size = bytes;
    return Status::OK();
  }
  if (key == "log_level") {
    ROWFS_RETURN_IF_ERROR(need_value());
    if (!ValidLogLevel(value)) {
      return Status::InvalidArgument("unknown log level '" +
                                     std::string(value) + "'");
    }
    out->log_level = std::string(value);
    return Status::OK();
  }
  if (key == "logfile") {
    ROWFS_RETURN_IF_ERROR(need_value());
    out->log_file = std::string(value);
    return Status::OK();
  }
  if (key == "follower") {
    out->store.mode = StoreOptions::Mode::kSecondary;
    out->store.secondary_path = std::string(value);  // empty: a temp dir
    out->fs.follower = true;
    // Read-only for the kernel too (/proc/mounts says "ro"); an immediate
    // catch-up is asked for by reading user.rowfs.ctl.catchup.
    out->fuse_options.emplace_back("ro");
    return Status::OK();
  }
  if (key == "catchup_interval") {
    ROWFS_RETURN_IF_ERROR(need_value());
    ROWFS_RETURN_IF_ERROR(ParseSeconds(key, value, &out->catchup_interval));
    if (out->catchup_interval < 0.01) {
      return Status::InvalidArgument("-o catchup_interval must be >= 0.01");
    }
    return Status::OK();
  }
  if (key == "gc_interval") {
    ROWFS_RETURN_IF_ERROR(need_value());
    ROWFS_RETURN_IF_ERROR(ParseSeconds(key, value, &out->gc_interval));
    if (out->gc_interval < 0.01) {
      return Status::InvalidArgument("-o gc_interval must be >= 0.01");
    }
    return Status::OK();
  }
  if (key == "max_snapshots") {
    ROWFS_RETURN_IF_ERROR(need_value());
    uint64_t n = 0;
    auto [p, ec] =
        std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || p != value.data() + value.size()) {
      return Status::InvalidArgument("-o max_snapshots wants a number");
    }
    out->fs.max_snapshots = n;
    return Status::OK();
  }
  if (key == "ro") {
    out->store.mode = StoreOptions::Mode::kReadOnly;
    out->fuse_options.emplace_back("ro");
    return Status::OK();
  }
  if (has_value) {
    Status s = SetStoreOption(&out->store, key, value);
    if (!s.IsNotFound()) {
      if (!s.ok()) {
        return Status::InvalidArgument("-o " + std::string(option) + ": " +
                                       s.message());
      }
      return s;
    }
  }
  // Everything else is libfuse's or the kernel's (allow_other, max_read=,
  // noatime, ...); libfuse rejects what it does not know.
  out->fuse_options.emplace_back(option);
  return Status::OK();
}

Status ParseCommandLine(int argc, char** argv, MountOptions* out,
                        std::string* exit_text) {
  exit_text->clear();
  cxxopts::Options parser("rowfs", "");
  parser.add_options()("f,foreground", "")("d,debug", "")(
      "s,single-threaded", "")("o,options", "",
                               cxxopts::value<std::vector<std::string>>())(
      "log-level", "", cxxopts::value<std::string>())("h,help", "")(
      "V,version", "")("db", "", cxxopts::value<std::string>())(
      "mountpoint", "", cxxopts::value<std::string>())(
      "extra", "", cxxopts::value<std::vector<std::string>>());
  // Single-string positionals: cxxopts splits vector values at commas, and
  // paths may contain them.
  parser.parse_positional({"db", "mountpoint", "extra"});
  cxxopts::ParseResult r;
  try {
    r = parser.parse(argc, argv);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(e.what());
  }
  if (r.count("help")) {
    *exit_text = HelpText();
    return Status::OK();
  }
  if (r.count("version")) {
    *exit_text = std::string("rowfs ") + ROWFS_VERSION + " (libfuse " +
                 std::to_string(fuse_version() / 100) + "." +
                 std::to_string(fuse_version() % 100) + ")\n";
    return Status::OK();
  }
  out->foreground = r.count("foreground") > 0;
  out->debug = r.count("debug") > 0;
  if (out->debug) {
    out->foreground = true;
    out->log_level = "debug";
  }
  out->single_threaded = r.count("single-threaded") > 0;
  out->fs.default_uid = static_cast<uint32_t>(geteuid());
  out->fs.default_gid = static_cast<uint32_t>(getegid());
  if (r.count("options")) {
    for (const std::string& group :
         r["options"].as<std::vector<std::string>>()) {
      size_t start = 0;
      while (start <= group.size()) {
        size_t comma = group.find(',', start);
        if (comma == std::string::npos) comma = group.size();
        ROWFS_RETURN_IF_ERROR(ApplyMountOption(
            std::string_view(group).substr(start, comma - start), out));
        start = comma + 1;
      }
    }
  }
  if (r.count("log-level")) {
    const std::string level = r["log-level"].as<std::string>();
    if (!ValidLogLevel(level)) {
      return Status::InvalidArgument("unknown log level '" + level + "'");
    }
    out->log_level = level;
  }
  if (!r.count("db") || !r.count("mountpoint") || r.count("extra")) {
    return Status::InvalidArgument(
        "usage: rowfs [options] DB_DIR MOUNTPOINT [-o opt,...] (see --help)");
  }
  const std::string positional[2] = {r["db"].as<std::string>(),
                                     r["mountpoint"].as<std::string>()};
  std::error_code ec;
  out->db_path =
      std::filesystem::absolute(positional[0], ec).lexically_normal();
  out->mountpoint =
      std::filesystem::absolute(positional[1], ec).lexically_normal();
  while (out->db_path.size() > 1 && out->db_path.back() == '/') {
    out->db_path.pop_back();
  }
  while (out->mountpoint.size() > 1 && out->mountpoint.back() == '/') {
    out->mountpoint.pop_back();
  }
  return Status::OK();
}

std::vector<std::string> FuseArguments(const MountOptions& o) {
  std::vector<std::string> args = {"rowfs"};
  if (o.debug) args.emplace_back("-d");
  std::string opts = "subtype=rowfs,fsname=" + EscapeOptionValue(o.db_path) +
                     ",default_permissions";
  for (const std::string& extra : o.fuse_options) opts += "," + extra;
  args.emplace_back("-o");
  args.push_back(opts);
  return args;
}

std::string HelpText() {
  return R"(usage: rowfs [options] DB_DIR MOUNTPOINT [-o opt[,opt...]]

Mounts the RocksDB database in DB_DIR (created when missing) at MOUNTPOINT:
datasets are directories, rows are directories inside them, columns are
files, and column@<ms> files are older versions. Unmount with
`fusermount3 -u MOUNTPOINT` (or `umount`, or SIGTERM to the daemon).

General options:
  -f, --foreground       stay in the foreground (default: daemonize)
  -d, --debug            log every request (implies -f, log level debug)
  -s, --single-threaded  serve one request at a time (default: threaded)
  --log-level LEVEL      trace|debug|info|warn|error|critical|off (default info)
  -o OPT[,OPT...]        mount options, repeatable, also after the positionals
  -h, --help             this text
  -V, --version          the version

rowfs mount options (-o):
  versions=hidden|shown  list only latest values (default shown); col@ts
                         names still resolve when hidden
  entry_timeout=SEC      kernel name cache timeout (default 60; at most 1
                         for the root, followers and datasets with a
                         TTL or max_versions)
  attr_timeout=SEC       kernel attribute cache timeout (same default)
  uid=N,gid=N            owner of entries stored without one (default: the
                         user running rowfs)
  max_file_size=SIZE     largest column value, K/M/G suffixes (default 1G)
  log_level=LEVEL        as --log-level
  logfile=PATH           log to PATH instead of stderr/syslog
  ro                     open the database read-only; every change is EROFS
  follower[=DIR]         follow a database another rowfs has open read-write
                         (a RocksDB secondary instance; DIR holds its own
                         state, default a temporary directory); read-only
  catchup_interval=SEC   follower: seconds between catch-ups (default 1);
                         `getfattr -n user.rowfs.ctl.catchup MNT` now
  gc_interval=SEC        seconds between garbage collections of a dataset's
                         unreferenced content (default 600)
  max_snapshots=N        snapshots (mkdir MNT/@snapshot/NAME, by root or
                         the mount's owner) that may exist at once
                         (default 64)
  wal_recovery=MODE      a damaged write-ahead log: point_in_time replays
                         it up to the damage, drops the rest and logs what
                         it dropped (default); strict refuses to mount

RocksDB tuning (-o):
  block_cache=SIZE       shared LRU block cache (default 256M)
  bloom_bits=N           bloom filter bits per key, 0 disables (default 10)
  row_prefix_bloom=BOOL  prefix bloom on the row part of keys (default false)
  write_buffer=SIZE      memtable size per dataset (default 8M)
  memory=SIZE            all datasets' memtables together, and the WAL's
                         bound (default RAM/32, 64M..1G)
  dirty_max=SIZE         bytes written to open files not yet stored, all
                         files together (default 64M)
  max_open_files=N       table files kept open, -1 = all (default: half the
                         open-file limit, which rowfs raises to the hard one)
  compression=ALGO       none|snappy|lz4|zstd|zlib (default lz4)
  blob_min=SIZE          values of at least SIZE go to blob files, 0 = never
                         (default 0)
  options_file=PATH      load a RocksDB OPTIONS file first; the options
                         above, when given, override it

Always set: subtype=rowfs, fsname=DB_DIR, default_permissions (the kernel
enforces modes and owners). Ignored (fstab only): _netdev, nofail, auto,
noauto, user, users, nouser, defaults, x-*. Any other -o (allow_other,
noatime, max_read=N, ...) goes to libfuse and the kernel.

Offline commands (the database unmounted):
  rowfs check DB_DIR     verify every table file, blob file and write-ahead
                         log; print each damaged file with the reason
  rowfs repair DB_DIR    save the damaged state as DB_DIR.damaged-<time>,
                         then rebuild the database from what can be read

Exit status: 0 mounted (or help), 1 start-up failure, 2 bad usage; check
and repair: 0 clean or repaired, 1 damaged, in use or failed, 2 bad usage.
)";
}

}  // namespace rowfs
