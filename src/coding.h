// Fixed-width big-endian integer encoding, so that encoded integers compare
// bytewise in numeric order (what RocksDB's default comparator sees).
#ifndef ROWFS_SRC_CODING_H_
#define ROWFS_SRC_CODING_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace rowfs {

void PutFixed32BE(std::string* dst, uint32_t v);
void PutFixed64BE(std::string* dst, uint64_t v);
// REQUIRES: p points at >= 4 (resp. 8) readable bytes.
uint32_t DecodeFixed32BE(const char* p);
uint64_t DecodeFixed64BE(const char* p);

// Reads a fixed-width value from the front of *in and advances it. Returns
// false (leaving *in unspecified) when *in is too short.
bool GetFixed32BE(std::string_view* in, uint32_t* v);
bool GetFixed64BE(std::string_view* in, uint64_t* v);

// LEB128 varints (as LevelDB's): small numbers in few bytes.
void PutVarint64(std::string* dst, uint64_t v);
bool GetVarint64(std::string_view* in, uint64_t* v);

}  // namespace rowfs

#endif  // ROWFS_SRC_CODING_H_
