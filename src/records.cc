#include "records.h"

#include "coding.h"

namespace rowfs {
namespace {

constexpr char kAttrsFormatV1 = 1;  // mode, uid, gid, mtime
constexpr char kAttrsFormat = 2;    // V1 + flags
constexpr char kDatasetFormat = 1;

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

std::string EncodeDatasetRecord(const Attrs& attrs, const Policy& policy) {
  std::string out(1, kDatasetFormat);
  AppendAttrs(&out, attrs);
  PutFixed64BE(&out, policy.max_versions);
  PutFixed64BE(&out, policy.ttl_seconds);
  return out;
}

Status DecodeDatasetRecord(std::string_view data, Attrs* attrs,
                           Policy* policy) {
  if (data.empty() || data[0] != kDatasetFormat) {
    return Status::Corruption("unknown dataset record format");
  }
  data.remove_prefix(1);
  if (!ReadAttrs(&data, attrs) || !GetFixed64BE(&data, &policy->max_versions) ||
      !GetFixed64BE(&data, &policy->ttl_seconds)) {
    return Status::Corruption("short dataset record");
  }
  return Status::OK();
}

std::string DatasetRecordKey(std::string_view dataset) {
  std::string key = "dataset/";
  key.append(dataset);
  return key;
}

std::string FloorRecordKey(std::string_view dataset) {
  std::string key = "floor/";
  key.append(dataset);
  return key;
}

}  // namespace rowfs
