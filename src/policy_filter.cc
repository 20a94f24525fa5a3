#include "policy_filter.h"

#include <string>

#include "column_history.h"
#include "rowfs/key_codec.h"
#include "version_record.h"

namespace rowfs {
namespace {

class PolicyFilter : public rocksdb::CompactionFilter {
 public:
  PolicyFilter(Policy policy, uint64_t now_ms, PolicyCell* cell)
      : filter_(policy, now_ms), cell_(cell) {}

  bool Filter(int /*level*/, const rocksdb::Slice& key,
              const rocksdb::Slice& value, std::string* /*new_value*/,
              bool* /*value_changed*/) const override {
    ParsedKey parsed;
    // Keys rowfs did not write, meta records and content are left alone.
    if (!ParseKey(std::string_view(key.data(), key.size()), &parsed).ok() ||
        parsed.kind != KeyKind::kCell) {
      return false;
    }
    VersionRecord header;
    if (!DecodeRecordHeader(std::string_view(value.data(), value.size()),
                            &header)
             .ok()) {
      return false;  // not a record of this format: never drop data
    }
    if (parsed.row != row_ || parsed.column != column_) {
      row_.assign(parsed.row);
      column_.assign(parsed.column);
      filter_.Reset();
    }
    if (!filter_.Dead(parsed.ts, header)) return false;
    cell_->CountDropped();
    return true;
  }

  const char* Name() const override { return "rowfs.PolicyFilter"; }

 private:
  // A filter instance serves one (sub)compaction on one thread, and sees its
  // keys in order; RocksDB's Filter is const, hence mutable.
  mutable EntryFilter filter_;
  mutable std::string row_, column_;
  PolicyCell* const cell_;  // outlives the filter (the factory holds it)
};

}  // namespace

std::unique_ptr<rocksdb::CompactionFilter>
PolicyFilterFactory::CreateCompactionFilter(
    const rocksdb::CompactionFilter::Context& /*context*/) {
  if (!policy_->ready()) return nullptr;
  // Always: deleted columns' history expires whatever the policy.
  return std::make_unique<PolicyFilter>(policy_->Load(), clock_->NowMs(),
                                        policy_.get());
}

}  // namespace rowfs
