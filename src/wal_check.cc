#include "wal_check.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <system_error>

namespace rowfs {
namespace {

// The log format (RocksDB db/log_format.h, doc "Write Ahead Log File
// Format"): the file is a sequence of 32 KiB blocks; a block holds records
//   crc32c (4, masked) | length (2) | type (1) | [log number (4)] | payload
// and ends with zero padding when fewer than a header's bytes are left. A
// write (a WriteBatch) is one kFull record or a kFirst, kMiddle..., kLast
// chain; types 5-8 are the same in recycled logs, with the log number.
constexpr size_t kBlockSize = 32768;
constexpr size_t kHeaderSize = 7;
constexpr size_t kRecyclableHeaderSize = 11;
enum RecordType : unsigned {
  kZeroType = 0,
  kFullType = 1,
  kFirstType = 2,
  kMiddleType = 3,
  kLastType = 4,
  kRecyclableFullType = 5,
  kRecyclableFirstType = 6,
  kRecyclableMiddleType = 7,
  kRecyclableLastType = 8,
  kSetCompressionType = 9,
};
// A WriteBatch starts with its sequence number (8 bytes) and count (4).
constexpr size_t kBatchHeader = 12;

uint32_t Fixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));  // little-endian, as RocksDB writes it
  return v;
}

uint64_t Fixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), eight bytes at a
// time ("slicing by 8"): logs can be hundreds of MiB and are read at every
// start.
class Crc32c {
 public:
  Crc32c() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
      table_[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (size_t t = 1; t < 8; ++t) {
        table_[t][i] =
            (table_[t - 1][i] >> 8) ^ table_[0][table_[t - 1][i] & 0xff];
      }
    }
  }

  uint32_t Value(const char* data, size_t n) const {
    const auto* p = reinterpret_cast<const unsigned char*>(data);
    uint32_t c = 0xFFFFFFFFu;
    while (n >= 8) {
      const uint32_t lo = c ^ Fixed32(reinterpret_cast<const char*>(p));
      const uint32_t hi = Fixed32(reinterpret_cast<const char*>(p) + 4);
      c = table_[7][lo & 0xff] ^ table_[6][(lo >> 8) & 0xff] ^
          table_[5][(lo >> 16) & 0xff] ^ table_[4][lo >> 24] ^
          table_[3][hi & 0xff] ^ table_[2][(hi >> 8) & 0xff] ^
          table_[1][(hi >> 16) & 0xff] ^ table_[0][hi >> 24];
      p += 8;
      n -= 8;
    }
    while (n-- > 0) c = (c >> 8) ^ table_[0][(c ^ *p++) & 0xff];
    return ~c;
  }

 private:
  std::array<std::array<uint32_t, 256>, 8> table_;
};

// RocksDB stores CRCs masked, so that a CRC of data holding CRCs is not
// degenerate (util/crc32c.h, Mask()).
uint32_t Unmask(uint32_t masked) {
  const uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

const Crc32c& Crc() {
  static const Crc32c crc;
  return crc;
}

// One log read the way RocksDB's log::Reader reads it in point-in-time
// mode, up to the first thing it would report as corruption.
struct LogScan {
  uint64_t size = 0;
  uint64_t records = 0;               // intact writes before the damage
  std::optional<uint64_t> first_seq;  // of the first intact write
  std::optional<uint64_t> next_seq;   // after the last intact write
  bool compressed = false;            // payloads compressed: no sequences
  bool damaged = false;
  uint64_t damage_offset = 0;  // first byte recovery drops
  std::string reason;
  uint64_t records_after = 0;  // intact writes found after the damage
};

// Counts the writes that end in intact records from offset `start` on,
// resyncing at each block (where recovery would have gone on, had it gone
// on).
uint64_t CountIntactAfter(int fd, uint64_t size, uint64_t start,
                          std::string* buf) {
  uint64_t count = 0;
  size_t pos = static_cast<size_t>(start % kBlockSize);
  for (uint64_t base = start - pos; base < size; base += kBlockSize, pos = 0) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(kBlockSize, size - base));
    if (pread(fd, buf->data(), n, static_cast<off_t>(base)) !=
        static_cast<ssize_t>(n)) {
      break;
    }
    while (n - pos >= kHeaderSize) {
      const char* p = buf->data() + pos;
      const size_t len =
          static_cast<unsigned char>(p[4]) |
          (static_cast<size_t>(static_cast<unsigned char>(p[5])) << 8);
      const unsigned type = static_cast<unsigned char>(p[6]);
      const size_t header =
          type >= kRecyclableFullType && type <= kRecyclableLastType
              ? kRecyclableHeaderSize
              : kHeaderSize;
      if (header + len > n - pos || (type == kZeroType && len == 0) ||
          Crc().Value(p + 6, header - 6 + len) != Unmask(Fixed32(p))) {
        break;
      }
      if (type == kFullType || type == kLastType ||
          type == kRecyclableFullType || type == kRecyclableLastType) {
        ++count;
      }
      pos += header + len;
    }
  }
  return count;
}

Status ScanLog(const std::string& path, uint64_t number, LogScan* out) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return Status::FromErrno(err, "stat " + path);
  }
  out->size = static_cast<uint64_t>(st.st_size);
  std::string buf(kBlockSize, '\0');

  bool in_fragment = false;
  uint64_t fragment_start = 0;
  std::string head;  // the current write's first bytes (its batch header)
  uint64_t record_size = 0;
  bool record_read = false;
  bool ended = false;  // a record of an earlier use of a recycled log: EOF
  // Where counting the intact writes after the damage starts.
  uint64_t resume_at = 0;
  // Recovery drops from the start of the write being assembled. `resume`:
  // the next record that may be intact; by default the next block.
  auto damage = [&](uint64_t at, const std::string& why,
                    std::optional<uint64_t> resume = std::nullopt) {
    out->damaged = true;
    out->damage_offset = in_fragment ? fragment_start : at;
    out->reason = why;
    resume_at = resume.value_or((at / kBlockSize + 1) * kBlockSize);
  };
  auto complete = [&](uint64_t start, uint64_t end) {
    record_read = true;
    in_fragment = false;
    if (out->compressed) {
      ++out->records;
      return;
    }
    if (record_size < kBatchHeader) {
      damage(start, "log record too small", end);
      return;
    }
    const uint64_t seq = Fixed64(head.data());
    if (!out->first_seq) out->first_seq = seq;
    out->next_seq = seq + Fixed32(head.data() + 8);
    ++out->records;
  };
  auto append = [&](const char* payload, size_t len) {
    record_size += len;
    if (head.size() < kBatchHeader) {
      head.append(payload, std::min(len, kBatchHeader - head.size()));
    }
  };

  Status status;
  for (uint64_t base = 0; base < out->size && !out->damaged && !ended;
       base += kBlockSize) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(kBlockSize, out->size - base));
    if (pread(fd, buf.data(), n, static_cast<off_t>(base)) !=
        static_cast<ssize_t>(n)) {
      status = Status::IOError("reading " + path + " at offset " +
                               std::to_string(base) + ": " +
                               (errno != 0 ? strerror(errno) : "short read"));
      break;
    }
    // Only a short read marks the end of the file for the reader, so a
    // record overrunning a full block is a bad length, not a cut-off tail.
    const bool last = n < kBlockSize;
    size_t pos = 0;
    while (!out->damaged && !ended) {
      const size_t left = n - pos;
      const uint64_t at = base + pos;
      const char* p = buf.data() + pos;
      if (left < kHeaderSize) {
        if (last && left > 0) damage(at, "truncated header");
        break;  // otherwise the block's zero trailer
      }
      const size_t len =
          static_cast<unsigned char>(p[4]) |
          (static_cast<size_t>(static_cast<unsigned char>(p[5])) << 8);
      const unsigned type = static_cast<unsigned char>(p[6]);
      size_t header = kHeaderSize;
      if (type >= kRecyclableFullType && type <= kRecyclableLastType) {
        header = kRecyclableHeaderSize;
        if (left < header) {
          if (last) damage(at, "truncated header");
          break;
        }
        if (Fixed32(p + 7) != static_cast<uint32_t>(number)) {
          ended = true;  // left from the file's previous use
          break;
        }
      }
      if (header + len > left) {
        damage(at, last ? "truncated record body" : "bad record length");
        break;
      }
      if (type == kZeroType && len == 0) break;  // preallocated, never written
      if (Crc().Value(p + 6, header - 6 + len) != Unmask(Fixed32(p))) {
        // Its length may be what is damaged; if not, what follows in the
        // block is found intact.
        damage(at, "checksum mismatch", at + header + len);
        break;
      }
      const char* payload = p + header;
      switch (type) {
        case kFullType:
        case kRecyclableFullType:
          if (in_fragment && record_size > 0) {
            damage(at, "partial record without end", at);
            break;
          }
          head.clear();
          record_size = 0;
          append(payload, len);
          complete(at, at + header + len);
          break;
        case kFirstType:
        case kRecyclableFirstType:
          if (in_fragment && record_size > 0) {
            damage(at, "partial record without end", at);
            break;
          }
          in_fragment = true;
          fragment_start = at;
          head.clear();
          record_size = 0;
          append(payload, len);
          break;
        case kMiddleType:
        case kRecyclableMiddleType:
          if (!in_fragment) {
            damage(at, "missing start of fragmented record", at + header + len);
            break;
          }
          append(payload, len);
          break;
        case kLastType:
        case kRecyclableLastType:
          if (!in_fragment) {
            damage(at, "missing start of fragmented record", at + header + len);
            break;
          }
          append(payload, len);
          complete(fragment_start, at + header + len);
          break;
        case kSetCompressionType:
          if (out->compressed || record_read) {
            damage(at, "misplaced SetCompressionType record",
                   at + header + len);
            break;
          }
          out->compressed = true;
          break;
        default:
          damage(at, "unknown record type " + std::to_string(type),
                 at + header + len);
          break;
      }
      pos += header + len;
    }
  }
  if (status.ok() && !out->damaged && in_fragment) {
    damage(fragment_start, "incomplete record at the end");
  }
  if (status.ok() && out->damaged) {
    out->records_after = CountIntactAfter(fd, out->size, resume_at, &buf);
  }
  close(fd);
  return status;
}

// "000012.log" -> 12; nullopt for any other name.
std::optional<uint64_t> LogNumber(const std::string& name) {
  constexpr std::string_view kSuffix = ".log";
  if (name.size() <= kSuffix.size() ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) !=
          0) {
    return std::nullopt;
  }
  uint64_t number = 0;
  const char* end = name.data() + name.size() - kSuffix.size();
  auto [p, ec] = std::from_chars(name.data(), end, number);
  if (ec != std::errc() || p != end) return std::nullopt;
  return number;
}

std::string Basename(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// Links (or, where a link is refused, copies) each damaged log into
// DB_DIR/lost/: once recovery has replayed what it could, RocksDB deletes
// the logs, and with them the only copy of the writes after the damage.
void KeepDamagedLogs(const std::string& db_path,
                     const std::vector<WalDamage>& damage) {
  const std::string lost = db_path + "/lost";
  std::error_code ec;
  std::filesystem::create_directories(lost, ec);
  chmod(lost.c_str(), 0700);
  const std::string stamp = std::to_string(std::time(nullptr));
  for (const WalDamage& d : damage) {
    const std::string target = lost + "/" + Basename(d.file) + "." + stamp;
    if (link(d.file.c_str(), target.c_str()) != 0) {
      std::filesystem::copy_file(d.file, target, ec);
      if (ec) {
        spdlog::warn("cannot keep a copy of {} in {}: {}", d.file, lost,
                     ec.message());
        continue;
      }
    }
    spdlog::warn("kept the damaged log {} as {}", Basename(d.file), target);
  }
}

}  // namespace

std::string WalDamage::Describe() const {
  const std::string n = std::to_string(intact_records);
  const char* s = intact_records == 1 ? "" : "s";
  if (whole_file) {
    return "WAL " + file + ": dropped whole (" + std::to_string(bytes) +
           " bytes, " + n + " write" + s + "): " + reason;
  }
  return "WAL " + file + ": " + reason + " at offset " +
         std::to_string(offset) +
         "; recovery drops the log from there: " + std::to_string(bytes) +
         " bytes, with " + n + " intact write" + s + " after the damage";
}

Status FindWalDamage(const std::string& wal_dir,
                     std::vector<WalDamage>* damage) {
  damage->clear();
  std::vector<std::pair<uint64_t, std::string>> logs;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(wal_dir, ec)) {
    const std::string name = e.path().filename().string();
    std::error_code type_ec;
    if (auto number = LogNumber(name); number && e.is_regular_file(type_ec)) {
      logs.emplace_back(*number, e.path().string());
    }
  }
  if (ec) return Status::IOError("listing " + wal_dir + ": " + ec.message());
  std::sort(logs.begin(), logs.end());

  // Point-in-time recovery stops at the first damage; a later log is
  // replayed again only if its first write continues the sequence numbers
  // where the replay stopped (db/db_impl/db_impl_open.cc).
  bool stopped = false;
  bool sequences_known = true;
  std::optional<uint64_t> next_seq;
  std::string damaged_log;
  for (const auto& [number, path] : logs) {
    LogScan scan;
    ROWFS_RETURN_IF_ERROR(ScanLog(path, number, &scan));
    if (scan.compressed) sequences_known = false;
    if (stopped) {
      const bool resumes = sequences_known && scan.first_seq && next_seq &&
                           *scan.first_seq == *next_seq;
      if (!resumes) {
        if (scan.size > 0) {
          damage->push_back({path, true, 0, scan.size,
                             scan.records + scan.records_after,
                             "it comes after the damage in " + damaged_log});
        }
        continue;
      }
      stopped = false;
    }
    if (scan.next_seq) next_seq = scan.next_seq;
    if (scan.damaged) {
      damage->push_back({path, false, scan.damage_offset,
                         scan.size - scan.damage_offset, scan.records_after,
                         scan.reason});
      stopped = true;
      damaged_log = Basename(path);
    }
  }
  return Status::OK();
}

bool DatabaseLockHolder(const std::string& db_path, pid_t* pid) {
  const int fd = open((db_path + "/LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  const bool held = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  close(fd);
  if (held && pid != nullptr) *pid = fl.l_pid;
  return held;
}

Status CheckWalBeforeOpen(const StoreOptions& options, const std::string& path,
                          rocksdb::DBOptions* db_options) {
  using Mode = StoreOptions::Mode;
  if (options.mode == Mode::kSecondary) return Status::OK();
  if (options.strict_wal_recovery) {
    db_options->wal_recovery_mode =
        rocksdb::WALRecoveryMode::kAbsoluteConsistency;
  }
  if (DatabaseLockHolder(path, nullptr)) return Status::OK();
  const std::string dir =
      db_options->wal_dir.empty() ? path : db_options->wal_dir;
  std::vector<WalDamage> damage;
  Status s = FindWalDamage(dir, &damage);
  if (!s.ok()) {
    // RocksDB reads the same files next and reports what it cannot.
    spdlog::warn("cannot check the write-ahead log: {}", s.ToString());
    return Status::OK();
  }
  if (damage.empty()) return Status::OK();
  if (options.strict_wal_recovery) {
    std::string more;
    if (damage.size() > 1) {
      more = " (and " + std::to_string(damage.size() - 1) + " more log" +
             (damage.size() > 2 ? "s" : "") + " after it)";
    }
    return Status::Corruption(
        damage.front().Describe() + more +
        "; refusing to open with wal_recovery=strict: run `rowfs check " +
        path + "` and `rowfs repair " + path +
        "`, or mount without wal_recovery=strict to recover up to the damage");
  }
  for (const WalDamage& d : damage) spdlog::warn("{}", d.Describe());
  const bool read_write = options.mode == Mode::kReadWrite;
  spdlog::warn(
      "the write-ahead log of {} is damaged: point-in-time recovery replays "
      "it up to the damage and drops the rest{}",
      path,
      read_write ? "; -o wal_recovery=strict would refuse to mount instead"
                 : "");
  if (read_write) KeepDamagedLogs(path, damage);
  return Status::OK();
}

}  // namespace rowfs
