#include "corruption_guard.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <vector>

namespace rowfs {
namespace {

constexpr uint64_t kRelogMs = 10 * 60 * 1000;

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// The table or blob file a Corruption status names ("block checksum
// mismatch: ... in /db/000012.sst offset 8 size 4096"), or the compaction's
// inputs when it names none.
std::string DamagedFile(const std::string& status,
                        const std::vector<std::string>& inputs) {
  std::istringstream words(status);
  for (std::string w; words >> w;) {
    while (!w.empty() && std::string_view(",;:)'\"").find(w.back()) !=
                             std::string_view::npos) {
      w.pop_back();
    }
    while (!w.empty() &&
           (w.front() == '(' || w.front() == '\'' || w.front() == '"')) {
      w.erase(w.begin());
    }
    if (w.ends_with(".sst") || w.ends_with(".blob")) return w;
  }
  std::string names;
  for (const std::string& in : inputs) {
    if (!names.empty()) names += ", ";
    names += in;
  }
  return names.empty() ? "(unnamed)" : "one of " + names;
}

}  // namespace

void CompactionCorruptionGuard::SetFamilyResolver(FamilyResolver resolver,
                                                  FamilyNamer namer) {
  std::lock_guard lock(mu_);
  if (stop_) return;
  resolver_ = std::move(resolver);
  namer_ = std::move(namer);
  cv_.notify_all();
}

void CompactionCorruptionGuard::Stop() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    resolver_ = nullptr;
    thread.swap(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) thread.join();
}

void CompactionCorruptionGuard::OnCompactionCompleted(
    rocksdb::DB* /*db*/, const rocksdb::CompactionJobInfo& info) {
  if (!info.status.IsCorruption()) return;
  const std::string file =
      DamagedFile(info.status.ToString(), info.input_files);
  bool log = false;
  bool first = false;
  uint64_t failures = 0;
  FamilyNamer namer;
  {
    std::lock_guard lock(mu_);
    namer = namer_;
    Seen& seen = seen_files_[file];
    ++seen.failures;
    const uint64_t now = NowMs();
    if (seen.logged_ms == 0 || now - seen.logged_ms >= kRelogMs) {
      log = true;
      first = seen.logged_ms == 0;
      failures = seen.failures;
      seen.logged_ms = now;
      seen.failures = 0;
    }
    if (!stop_ && quarantined_.count(info.cf_name) == 0 &&
        pending_.insert(info.cf_name).second) {
      if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
      cv_.notify_all();
    }
  }
  if (!log) return;
  const std::string dataset =
      namer != nullptr ? namer(info.cf_name) : info.cf_name;
  const std::string db_dir = std::filesystem::path(file).parent_path().string();
  if (first) {
    spdlog::error(
        "dataset {}: a compaction failed on the damaged table file {} ({}); "
        "reads of its damaged blocks answer EIO, everything else keeps "
        "working and writes go on; unmount, then run `rowfs check {}` and "
        "`rowfs repair {}`",
        dataset, file, info.status.ToString(),
        db_dir.empty() ? "DB_DIR" : db_dir, db_dir.empty() ? "DB_DIR" : db_dir);
  } else {
    spdlog::error(
        "dataset {}: {} more compactions failed on the damaged table file "
        "{} in the last 10 minutes",
        dataset, failures, file);
  }
}

void CompactionCorruptionGuard::OnBackgroundError(
    rocksdb::BackgroundErrorReason reason, rocksdb::Status* bg_error) {
  if (reason != rocksdb::BackgroundErrorReason::kCompaction ||
      bg_error == nullptr || !bg_error->IsCorruption()) {
    return;
  }
  // Left as it is, this stops every write until the database is reopened;
  // the compaction installed nothing, so there is nothing to protect.
  spdlog::debug("compaction error not stopping writes: {}",
                bg_error->ToString());
  *bg_error = rocksdb::Status::OK();
}

void CompactionCorruptionGuard::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] {
      return stop_ || (!pending_.empty() && resolver_ != nullptr);
    });
    if (stop_) return;
    std::set<std::string> batch;
    batch.swap(pending_);
    const FamilyResolver resolver = resolver_;
    const FamilyNamer namer = namer_;
    quarantined_.insert(batch.begin(), batch.end());
    // Not under mu_: SetOptions waits for RocksDB's write thread, and
    // RocksDB calls the listener methods above from its own threads.
    lock.unlock();
    for (const std::string& family : batch) {
      const std::string name = namer != nullptr ? namer(family) : family;
      const bool found = resolver(
          family, [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
            rocksdb::Status s =
                db->SetOptions(cf, {{"disable_auto_compactions", "true"}});
            if (s.ok()) {
              spdlog::warn(
                  "dataset {}: automatic compactions are off until the next "
                  "mount, so that RocksDB does not retry the failing one every "
                  "second",
                  name);
            } else {
              spdlog::error("dataset {}: cannot switch compactions off: {}",
                            name, s.ToString());
            }
          });
      if (!found) spdlog::debug("dataset {} is gone: nothing to stop", name);
    }
    lock.lock();
  }
}

}  // namespace rowfs
