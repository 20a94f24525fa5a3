// libFuzzer target for names (include/rowfs/names.h).
//
// The input, whole, is tried as an entry name, a timestamp, a dataset / row
// / column name and a mount path. Nothing may crash; failures are only
// InvalidArgument or NameTooLong; every OK result satisfies the
// invariants: "column@ts" names rebuild exactly with VersionName, parsed
// parts point into the input and are themselves valid, timestamps are
// canonical, paths rebuild exactly from their parts. Then names built from
// fuzzed parts parse back to those parts.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "rowfs/key_codec.h"
#include "rowfs/names.h"
#include "rowfs/status.h"

namespace {

using rowfs::Status;

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() &&
          part.data() + part.size() <= whole.data() + whole.size());
}

void CheckFailure(const Status& s) {
  FUZZ_CHECK(s.code() == Status::Code::kInvalidArgument ||
             s.code() == Status::Code::kNameTooLong);
}

// Properties every valid component shares.
void CheckComponent(std::string_view name, size_t limit) {
  FUZZ_CHECK(!name.empty() && name.size() <= limit);
  FUZZ_CHECK(name != "." && name != "..");
  FUZZ_CHECK(name.find('/') == std::string_view::npos);
  FUZZ_CHECK(name.find('\0') == std::string_view::npos);
}

std::string EntryText(const rowfs::EntryName& e) {
  return e.ts ? rowfs::VersionName(e.column, *e.ts) : std::string(e.column);
}

void CheckEntryName(std::string_view name) {
  rowfs::EntryName e;
  const Status s = rowfs::ParseEntryName(name, &e);
  const Status column_status = rowfs::ValidateColumnName(name);
  if (!s.ok()) {
    CheckFailure(s);
    FUZZ_CHECK(!column_status.ok());  // a valid column is a valid entry
    return;
  }
  FUZZ_CHECK(name.size() <= rowfs::kMaxNameBytes);
  FUZZ_CHECK(Inside(e.column, name));
  FUZZ_CHECK(rowfs::ValidateColumnName(e.column).ok());
  CheckComponent(e.column, rowfs::kMaxColumnNameBytes);
  FUZZ_CHECK(EntryText(e) == name);
  if (e.ts) {
    FUZZ_CHECK(*e.ts <= rowfs::kMaxTimestamp);
    FUZZ_CHECK(!column_status.ok());  // "col@123" is no column name
  } else {
    FUZZ_CHECK(e.column == name);
    FUZZ_CHECK(column_status.ok());
  }
}

void CheckTimestamp(std::string_view digits) {
  uint64_t ts = 0;
  const Status s = rowfs::ParseTimestamp(digits, &ts);
  if (!s.ok()) {
    CheckFailure(s);
    return;
  }
  FUZZ_CHECK(ts <= rowfs::kMaxTimestamp);
  FUZZ_CHECK(std::to_string(ts) == digits);  // canonical
}

void CheckDatasetAndRow(std::string_view name) {
  const Status ds = rowfs::ValidateDatasetName(name);
  if (ds.ok()) {
    CheckComponent(name, rowfs::kMaxNameBytes);
    FUZZ_CHECK(name != rowfs::kMetaColumnFamily);
  } else {
    CheckFailure(ds);
  }
  const Status row = rowfs::ValidateRowName(name);
  if (row.ok()) {
    CheckComponent(name, rowfs::kMaxNameBytes);
  } else {
    CheckFailure(row);
  }
  // Rows accept everything datasets do.
  if (ds.ok()) FUZZ_CHECK(row.ok());
}

void CheckPath(std::string_view path) {
  rowfs::ParsedPath p;
  const Status s = rowfs::ParsePath(path, &p);
  if (!s.ok()) {
    CheckFailure(s);
    return;
  }
  using Level = rowfs::ParsedPath::Level;
  std::string rebuilt = "/";
  if (p.level != Level::kRoot) {
    FUZZ_CHECK(Inside(p.dataset, path));
    FUZZ_CHECK(rowfs::ValidateDatasetName(p.dataset).ok());
    rebuilt += p.dataset;
  }
  if (p.level == Level::kRow || p.level == Level::kColumn) {
    FUZZ_CHECK(Inside(p.row, path));
    FUZZ_CHECK(rowfs::ValidateRowName(p.row).ok());
    rebuilt += "/";
    rebuilt += p.row;
  }
  if (p.level == Level::kColumn) {
    FUZZ_CHECK(Inside(p.entry.column, path));
    FUZZ_CHECK(rowfs::ValidateColumnName(p.entry.column).ok());
    rebuilt += "/" + EntryText(p.entry);
  }
  FUZZ_CHECK(rebuilt == path);
}

// Names made from fuzzed parts.
void CheckBuilt(FuzzedDataProvider& in) {
  const uint64_t ts =
      in.ConsumeIntegralInRange<uint64_t>(0, rowfs::kMaxTimestamp);
  const std::string column = in.ConsumeRandomLengthString(300);
  const std::string ds = in.ConsumeRandomLengthString(300);
  const std::string row = in.ConsumeRandomLengthString(300);
  uint64_t parsed = 0;
  FUZZ_CHECK(rowfs::ParseTimestamp(std::to_string(ts), &parsed).ok());
  FUZZ_CHECK(parsed == ts);
  if (!rowfs::ValidateColumnName(column).ok()) return;
  // Any valid column leaves room for any version suffix.
  const std::string version = rowfs::VersionName(column, ts);
  FUZZ_CHECK(version.size() <= rowfs::kMaxNameBytes);
  rowfs::EntryName e;
  FUZZ_CHECK(rowfs::ParseEntryName(version, &e).ok());
  FUZZ_CHECK(e.column == column && e.ts && *e.ts == ts);
  FUZZ_CHECK(rowfs::ParseEntryName(column, &e).ok());
  FUZZ_CHECK(e.column == column && !e.ts);
  if (!rowfs::ValidateDatasetName(ds).ok() ||
      !rowfs::ValidateRowName(row).ok()) {
    return;
  }
  const std::string path = "/" + ds + "/" + row + "/" + version;
  rowfs::ParsedPath p;
  FUZZ_CHECK(rowfs::ParsePath(path, &p).ok());
  FUZZ_CHECK(p.level == rowfs::ParsedPath::Level::kColumn);
  FUZZ_CHECK(p.dataset == ds && p.row == row && p.entry.column == column);
  FUZZ_CHECK(p.entry.ts && *p.entry.ts == ts);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  CheckEntryName(input);
  CheckTimestamp(input);
  CheckDatasetAndRow(input);
  CheckPath(input);
  FuzzedDataProvider in(data, size);
  CheckBuilt(in);
  return 0;
}
