// The rowfs executable's global operator new: large blocks are advised for
// transparent huge pages (AdviseHugePages in byte_buffer.h says why).
//
// Besides an open file's content (a ByteBuffer), a large value passes
// through several fresh multi-MiB buffers: the write batch, the memtable
// arena, the flush's block, the value a read returns. Replacing operator
// new in the executable covers every C++ allocation of the process,
// RocksDB's included (its `new char[]` and std::string buffers resolve to
// this definition). operator delete stays the default (free), which
// matches malloc.
//
// Sanitizer builds keep their own allocator.
#include <cstdlib>
#include <new>

#include "byte_buffer.h"

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)

namespace {

void* Allocate(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  rowfs::AdviseHugePages(p, size);
  return p;
}

}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }

#endif
