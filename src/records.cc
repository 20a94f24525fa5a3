#include "records.h"

#include "coding.h"

namespace rowfs {
namespace {

constexpr char kAttrsFormatV1 = 1;    // mode, uid, gid, mtime
constexpr char kAttrsFormat = 2;      // V1 + flags
constexpr char kDatasetFormatV1 = 1;  // attrs, max_versions, ttl
constexpr char kDatasetFormat = 2;    // V1 + keep_deleted

void AppendAttrs(std::string* out, const Attrs& a) {
  PutFixed32BE(out, a.mode);
  PutFixed32BE(out, a.uid);
  PutFixed32BE(out, a.gid);
  PutFixed64BE(out, a.mtime_ms);
}

bool ReadAttrs(std::string_view* in, Attrs* a) {
  return GetFixed32BE(in, &a->mode) && GetFixed32BE(in, &a->uid) &&
         GetFixed32BE(in, &a->gid) && GetFixed64BE(in, &a->mtime_ms);
}

}  // namespace

std::string EncodeAttrs(const Attrs& attrs) {
  std::string out(1, kAttrsFormat);
  AppendAttrs(&out, attrs);
  PutFixed32BE(&out, attrs.flags);
  return out;
}

Status DecodeAttrs(std::string_view data, Attrs* attrs) {
  if (data.empty() || (data[0] != kAttrsFormat && data[0] != kAttrsFormatV1)) {
    return Status::Corruption("unknown attrs record format");
  }
  const bool has_flags = data[0] == kAttrsFormat;
  data.remove_prefix(1);
  attrs->flags = 0;
  if (!ReadAttrs(&data, attrs) ||
      (has_flags && !GetFixed32BE(&data, &attrs->flags))) {
    return Status::Corruption("short attrs record");
  }
  return Status::OK();
}

namespace {
// Stored in the meta record's flags word, never shown to callers.
constexpr uint32_t kDeletedColumnBit = 1u << 31;
constexpr uint32_t kNoAttrsBit = 1u << 30;
constexpr uint32_t kStoreBits = kDeletedColumnBit | kNoAttrsBit;
}  // namespace

std::string EncodeColumnMeta(const std::optional<Attrs>& attrs, bool deleted) {
  Attrs a = attrs.value_or(Attrs{});
  a.flags &= ~kStoreBits;
  if (deleted) a.flags |= kDeletedColumnBit;
  if (!attrs) a.flags |= kNoAttrsBit;
  return EncodeAttrs(a);
}

Status DecodeColumnMeta(std::string_view data, std::optional<Attrs>* attrs,
                        bool* deleted) {
  Attrs a;
  ROWFS_RETURN_IF_ERROR(DecodeAttrs(data, &a));
  *deleted = (a.flags & kDeletedColumnBit) != 0;
  const bool none = (a.flags & kNoAttrsBit) != 0;
  a.flags &= ~kStoreBits;
  attrs->reset();
  if (!none) *attrs = a;
  return Status::OK();
}

std::string EncodeDatasetRecord(const Attrs& attrs, const Policy& policy) {
  std::string out(1, kDatasetFormat);
  AppendAttrs(&out, attrs);
  PutFixed64BE(&out, policy.max_versions);
  PutFixed64BE(&out, policy.ttl_seconds);
  PutFixed64BE(&out, policy.keep_deleted_seconds);
  return out;
}

Status DecodeDatasetRecord(std::string_view data, Attrs* attrs,
                           Policy* policy) {
  if (data.empty() ||
      (data[0] != kDatasetFormat && data[0] != kDatasetFormatV1)) {
    return Status::Corruption("unknown dataset record format");
  }
  const bool v1 = data[0] == kDatasetFormatV1;
  data.remove_prefix(1);
  *policy = Policy{};
  if (!ReadAttrs(&data, attrs) || !GetFixed64BE(&data, &policy->max_versions) ||
      !GetFixed64BE(&data, &policy->ttl_seconds) ||
      (!v1 && !GetFixed64BE(&data, &policy->keep_deleted_seconds))) {
    return Status::Corruption("short dataset record");
  }
  return Status::OK();
}

std::string DatasetRecordKey(std::string_view dataset) {
  std::string key = "dataset/";
  key.append(dataset);
  return key;
}

std::string FamilyRecordKey(std::string_view dataset) {
  std::string key = "family/";
  key.append(dataset);
  return key;
}

std::string DroppedFamilyKey(std::string_view family) {
  std::string key = "dropped/";
  key.append(family);
  return key;
}

std::string PooledFamilyName(uint64_t seq) { return "@" + std::to_string(seq); }

std::optional<uint64_t> PooledFamilySeq(std::string_view family) {
  if (family.size() < 2 || family.size() > 21 || family[0] != '@') {
    return std::nullopt;
  }
  uint64_t seq = 0;
  for (char c : family.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return seq;
}

std::string FloorRecordKey(std::string_view dataset) {
  std::string key = "floor/";
  key.append(dataset);
  return key;
}

std::string ContentCounterKey(std::string_view dataset) {
  std::string key = "content/";
  key.append(dataset);
  return key;
}

}  // namespace rowfs
