#include "byte_buffer.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace rowfs {

namespace {
constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
// Below this a block spans at most a few whole huge pages: not worth a
// system call per allocation.
constexpr size_t kAdviseFrom = 4 * kHugePage;
}  // namespace

void AdviseHugePages(void* p, size_t size) {
  if (size < kAdviseFrom) return;
  const uintptr_t start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t begin = (start + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (start + size) & ~(kHugePage - 1);
  madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

ByteBuffer::~ByteBuffer() { std::free(data_); }

void ByteBuffer::Reserve(size_t capacity) {
  if (capacity <= capacity_) return;
  capacity = std::max(capacity, capacity_ * 2);
  void* grown = std::realloc(data_, capacity);
  if (grown == nullptr) throw std::bad_alloc();
  data_ = static_cast<char*>(grown);
  capacity_ = capacity;
  AdviseHugePages(data_, capacity_);
}

void ByteBuffer::Assign(std::string_view bytes) {
  size_ = 0;
  WriteAt(0, bytes);
}

void ByteBuffer::WriteAt(size_t offset, std::string_view bytes) {
  const size_t end = offset + bytes.size();
  if (end > size_) {
    Reserve(end);
    if (offset > size_) std::memset(data_ + size_, 0, offset - size_);
    size_ = end;
  }
  if (!bytes.empty()) std::memcpy(data_ + offset, bytes.data(), bytes.size());
}

void ByteBuffer::Resize(size_t size) {
  if (size > size_) {
    Reserve(size);
    std::memset(data_ + size_, 0, size - size_);
  }
  size_ = size;
}

void ByteBuffer::Clear() {
  std::free(data_);
  data_ = nullptr;
  size_ = capacity_ = 0;
}

}  // namespace rowfs
