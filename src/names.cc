#include "rowfs/names.h"

#include "rowfs/key_codec.h"

namespace rowfs {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status ValidateComponent(std::string_view what, std::string_view name,
                         size_t max_bytes) {
  if (name.empty())
    return Status::InvalidArgument(std::string(what) + " name is empty");
  if (name == "." || name == "..") {
    return Status::InvalidArgument(std::string(what) + " name is '.' or '..'");
  }
  if (name.size() > max_bytes) {
    return Status::NameTooLong(std::string(what) + " name is " +
                               std::to_string(name.size()) + " bytes, limit " +
                               std::to_string(max_bytes));
  }
  if (name.find('/') != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + " name contains '/'");
  }
  if (name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + " name contains NUL");
  }
  return Status::OK();
}

// Position of the '@' that starts a trailing "@<digits>", or npos.
size_t VersionSuffixStart(std::string_view name) {
  size_t i = name.size();
  while (i > 0 && IsDigit(name[i - 1])) --i;
  if (i == name.size() || i == 0 || name[i - 1] != '@') {
    return std::string_view::npos;
  }
  return i - 1;
}

}  // namespace

Status ValidateDatasetName(std::string_view name) {
  ROWFS_RETURN_IF_ERROR(ValidateComponent("dataset", name, kMaxNameBytes));
  if (name == kMetaColumnFamily) {
    return Status::InvalidArgument("'default' is reserved for rowfs metadata");
  }
  if (name[0] == kViewPrefix) {
    return Status::InvalidArgument(
        "dataset names may not begin with '@' (reserved for views)");
  }
  return Status::OK();
}

Status ValidateRowName(std::string_view name) {
  return ValidateComponent("row", name, kMaxNameBytes);
}

Status ValidateColumnName(std::string_view name) {
  ROWFS_RETURN_IF_ERROR(ValidateComponent("column", name, kMaxColumnNameBytes));
  if (VersionSuffixStart(name) != std::string_view::npos) {
    return Status::InvalidArgument(
        "column name ends in @<digits>, which names a version");
  }
  return Status::OK();
}

Status ParseTimestamp(std::string_view digits, uint64_t* ts) {
  if (digits.empty()) return Status::InvalidArgument("empty timestamp");
  if (digits.size() > 1 && digits[0] == '0') {
    return Status::InvalidArgument("timestamp has a leading zero");
  }
  uint64_t v = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return Status::InvalidArgument("timestamp is not decimal");
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (kMaxTimestamp - d) / 10) {
      return Status::InvalidArgument("timestamp out of range");
    }
    v = v * 10 + d;
  }
  *ts = v;
  return Status::OK();
}

Status ParseEntryName(std::string_view name, EntryName* out) {
  if (name.size() > kMaxNameBytes) {
    return Status::NameTooLong("name is " + std::to_string(name.size()) +
                               " bytes, limit " +
                               std::to_string(kMaxNameBytes));
  }
  const size_t at = VersionSuffixStart(name);
  if (at == std::string_view::npos) {
    out->column = name;
    out->ts.reset();
    return ValidateColumnName(name);
  }
  uint64_t ts = 0;
  ROWFS_RETURN_IF_ERROR(ParseTimestamp(name.substr(at + 1), &ts));
  out->column = name.substr(0, at);
  out->ts = ts;
  return ValidateColumnName(out->column);
}

std::string VersionName(std::string_view column, uint64_t ts) {
  std::string name(column);
  name.push_back('@');
  name.append(std::to_string(ts));
  return name;
}

Status ParsePath(std::string_view path, ParsedPath* out) {
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument("path does not start with '/'");
  }
  path.remove_prefix(1);
  *out = ParsedPath{};
  if (path.empty()) return Status::OK();
  std::string_view parts[3];
  size_t n = 0;
  while (true) {
    const size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (part.empty()) return Status::InvalidArgument("empty path component");
    if (n == 3) return Status::InvalidArgument("path deeper than a column");
    parts[n++] = part;
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  ROWFS_RETURN_IF_ERROR(ValidateDatasetName(parts[0]));
  out->dataset = parts[0];
  out->level = ParsedPath::Level::kDataset;
  if (n == 1) return Status::OK();
  ROWFS_RETURN_IF_ERROR(ValidateRowName(parts[1]));
  out->row = parts[1];
  out->level = ParsedPath::Level::kRow;
  if (n == 2) return Status::OK();
  ROWFS_RETURN_IF_ERROR(ParseEntryName(parts[2], &out->entry));
  out->level = ParsedPath::Level::kColumn;
  return Status::OK();
}

}  // namespace rowfs
