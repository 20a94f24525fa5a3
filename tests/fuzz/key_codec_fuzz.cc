// libFuzzer target for the key codec (include/rowfs/key_codec.h).
//
// 1. ParseKey on arbitrary bytes never crashes; it fails only with
//    InvalidArgument; a successful parse re-encodes, with the builders, to
//    exactly the parsed key, and the key lies inside its row's (and
//    column's) bounds.
// 2. Keys built from fuzzed names and timestamps parse back to the same
//    parts, and a column's versions sort newest first after its meta record.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "rowfs/key_codec.h"
#include "rowfs/status.h"

namespace {

using rowfs::KeyKind;
using rowfs::ParsedKey;

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() &&
          part.data() + part.size() <= whole.data() + whole.size());
}

void CheckParse(std::string_view key) {
  ParsedKey p;
  const rowfs::Status s = rowfs::ParseKey(key, &p);
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == rowfs::Status::Code::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(!p.row.empty());
  FUZZ_CHECK(p.row.find('\0') == std::string_view::npos);
  FUZZ_CHECK(p.column.find('\0') == std::string_view::npos);
  FUZZ_CHECK(Inside(p.row, key) && Inside(p.column, key));
  std::string rebuilt;
  switch (p.kind) {
    case KeyKind::kCell:
      FUZZ_CHECK(!p.column.empty());
      FUZZ_CHECK(p.ts <= rowfs::kMaxTimestamp);
      rebuilt = rowfs::CellKey(p.row, p.column, p.ts);
      break;
    case KeyKind::kColumnMeta:
      FUZZ_CHECK(!p.column.empty());
      rebuilt = rowfs::ColumnMetaKey(p.row, p.column);
      break;
    case KeyKind::kRowMeta:
      FUZZ_CHECK(p.column.empty());
      rebuilt = rowfs::RowMetaKey(p.row);
      // The row meta record is the row's first key.
      FUZZ_CHECK(rowfs::RowBegin(p.row) < rebuilt);
      break;
  }
  FUZZ_CHECK(rebuilt == key);
  FUZZ_CHECK(rowfs::RowBegin(p.row) <= key && key < rowfs::RowEnd(p.row));
  if (p.kind != KeyKind::kRowMeta) {
    FUZZ_CHECK(rowfs::ColumnBegin(p.row, p.column) <= key &&
               key < rowfs::ColumnEnd(p.row, p.column));
    FUZZ_CHECK(rowfs::ColumnMetaKey(p.row, p.column) <= key);
    FUZZ_CHECK(rowfs::RowMetaKey(p.row) < key);
  }
}

// A name the builders accept: no NUL byte (the codec's only requirement).
std::string Name(FuzzedDataProvider& in, bool allow_empty) {
  std::string s = in.ConsumeRandomLengthString(300);
  for (char& c : s) {
    if (c == '\0') c = '\x01';
  }
  if (s.empty() && !allow_empty) s = "r";
  return s;
}

void CheckBuild(FuzzedDataProvider& in) {
  const std::string row = Name(in, false);
  const std::string column = Name(in, false);
  const uint64_t ts1 =
      in.ConsumeIntegralInRange<uint64_t>(0, rowfs::kMaxTimestamp);
  const uint64_t ts2 =
      in.ConsumeIntegralInRange<uint64_t>(0, rowfs::kMaxTimestamp);

  const std::string cell = rowfs::CellKey(row, column, ts1);
  ParsedKey p;
  FUZZ_CHECK(rowfs::ParseKey(cell, &p).ok());
  FUZZ_CHECK(p.kind == KeyKind::kCell && p.row == row && p.column == column &&
             p.ts == ts1);
  const std::string meta = rowfs::ColumnMetaKey(row, column);
  FUZZ_CHECK(rowfs::ParseKey(meta, &p).ok());
  FUZZ_CHECK(p.kind == KeyKind::kColumnMeta && p.row == row &&
             p.column == column);
  const std::string row_meta = rowfs::RowMetaKey(row);
  FUZZ_CHECK(rowfs::ParseKey(row_meta, &p).ok());
  FUZZ_CHECK(p.kind == KeyKind::kRowMeta && p.row == row && p.column.empty());

  // Newest first, after the column's meta record, inside the bounds.
  const std::string other = rowfs::CellKey(row, column, ts2);
  if (ts1 > ts2) FUZZ_CHECK(cell < other);
  if (ts1 == ts2) FUZZ_CHECK(cell == other);
  FUZZ_CHECK(meta < cell);
  FUZZ_CHECK(row_meta < meta);
  FUZZ_CHECK(rowfs::ColumnBegin(row, column) <= meta);
  FUZZ_CHECK(cell < rowfs::ColumnEnd(row, column));
  FUZZ_CHECK(rowfs::RowBegin(row) <= row_meta);
  FUZZ_CHECK(rowfs::ColumnEnd(row, column) <= rowfs::RowEnd(row));
  // A timestamp above the limit never parses.
  std::string over = cell;
  const uint64_t inverted = UINT64_MAX - (uint64_t{rowfs::kMaxTimestamp} + 1);
  for (int i = 0; i < 8; ++i) {
    over[over.size() - 8 + i] =
        static_cast<char>((inverted >> (56 - 8 * i)) & 0xff);
  }
  FUZZ_CHECK(!rowfs::ParseKey(over, &p).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string key(reinterpret_cast<const char*>(data), size);
  CheckParse(key);
  FuzzedDataProvider in(data, size);
  CheckBuild(in);
  return 0;
}
