#include "rowfs/key_codec.h"

#include <limits>

#include "coding.h"

namespace rowfs {
namespace {

constexpr char kSep = '\0';
constexpr size_t kSuffixBytes = 8;
constexpr uint64_t kMetaSuffix = 0;

std::string Build(std::string_view row, std::string_view column,
                  uint64_t inverted) {
  std::string key;
  key.reserve(row.size() + column.size() + 2 + kSuffixBytes);
  key.append(row);
  key.push_back(kSep);
  key.append(column);
  key.push_back(kSep);
  PutFixed64BE(&key, inverted);
  return key;
}

}  // namespace

std::string CellKey(std::string_view row, std::string_view column,
                    uint64_t ts) {
  return Build(row, column, std::numeric_limits<uint64_t>::max() - ts);
}

std::string ColumnMetaKey(std::string_view row, std::string_view column) {
  return Build(row, column, kMetaSuffix);
}

std::string RowMetaKey(std::string_view row) {
  return Build(row, {}, kMetaSuffix);
}

std::string RowBegin(std::string_view row) {
  std::string k(row);
  k.push_back(kSep);
  return k;
}

std::string RowEnd(std::string_view row) {
  std::string k(row);
  k.push_back('\x01');
  return k;
}

std::string ColumnBegin(std::string_view row, std::string_view column) {
  std::string k = RowBegin(row);
  k.append(column);
  k.push_back(kSep);
  return k;
}

std::string ColumnEnd(std::string_view row, std::string_view column) {
  std::string k = RowBegin(row);
  k.append(column);
  k.push_back('\x01');
  return k;
}

Status ParseKey(std::string_view key, ParsedKey* out) {
  // Smallest key: one row byte, two separators, the suffix.
  if (key.size() < 1 + 2 + kSuffixBytes) {
    return Status::InvalidArgument("key too short");
  }
  const uint64_t inverted = DecodeFixed64BE(key.data() + key.size() - 8);
  std::string_view names = key.substr(0, key.size() - kSuffixBytes);
  if (names.back() != kSep) {
    return Status::InvalidArgument("no separator before the timestamp");
  }
  names.remove_suffix(1);
  const size_t sep = names.find(kSep);
  if (sep == std::string_view::npos) {
    return Status::InvalidArgument("no separator between row and column");
  }
  out->row = names.substr(0, sep);
  out->column = names.substr(sep + 1);
  if (out->row.empty()) return Status::InvalidArgument("empty row name");
  if (out->column.find(kSep) != std::string_view::npos) {
    return Status::InvalidArgument("separator inside the column name");
  }
  if (inverted == kMetaSuffix) {
    out->kind = out->column.empty() ? KeyKind::kRowMeta : KeyKind::kColumnMeta;
    out->ts = 0;
    return Status::OK();
  }
  if (out->column.empty()) {
    return Status::InvalidArgument("cell with an empty column name");
  }
  const uint64_t ts = std::numeric_limits<uint64_t>::max() - inverted;
  if (ts > kMaxTimestamp) {
    return Status::InvalidArgument("timestamp out of range");
  }
  out->kind = KeyKind::kCell;
  out->ts = ts;
  return Status::OK();
}

namespace {
constexpr char kContentTag = 'c';
}  // namespace

std::string ContentKey(uint64_t content, uint32_t index) {
  std::string key = ContentBegin(content);
  PutFixed32BE(&key, index);
  return key;
}

std::string ContentBegin(uint64_t content) {
  std::string key = ContentSpaceBegin();
  PutFixed64BE(&key, content);
  return key;
}

std::string ContentEnd(uint64_t content) {
  // Content ids never reach UINT64_MAX: the next id's begin ends this one.
  return ContentBegin(content + 1);
}

std::string ContentSpaceBegin() { return std::string{'\0', kContentTag}; }

std::string ContentSpaceEnd() {
  return std::string{'\0', static_cast<char>(kContentTag + 1)};
}

bool ParseContentKey(std::string_view key, uint64_t* content, uint32_t* index) {
  if (key.size() != 2 + 8 + 4 || key[0] != '\0' || key[1] != kContentTag) {
    return false;
  }
  *content = DecodeFixed64BE(key.data() + 2);
  *index = DecodeFixed32BE(key.data() + 10);
  return true;
}

}  // namespace rowfs
