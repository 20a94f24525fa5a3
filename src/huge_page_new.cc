// The rowfs executable's global operator new: large blocks are advised for
// transparent huge pages.
//
// A large value passes through several fresh multi-MiB buffers on its way
// in and out (the open file's content, the write batch, the memtable arena,
// the flush's block, the value a read returns), and on virtual machines a
// 4 KiB page fault costs microseconds: measured here, touching 256 MiB of
// new memory took 1.1-1.8 s with 4 KiB pages and 0.07 s with 2 MiB ones.
// Debian's THP mode is "madvise": nothing gets huge pages unless asked.
// Replacing operator new in the executable covers every C++ allocation of
// the process, RocksDB's included (its `new char[]` and std::string buffers
// resolve to this definition). operator delete stays the default (free),
// which matches malloc.
//
// Sanitizer builds keep their own allocator.
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)

namespace {

constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
// Below this a block spans at most a few whole huge pages: not worth a
// system call per allocation.
constexpr std::size_t kAdviseFrom = 4 * kHugePage;

void* Allocate(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  if (size >= kAdviseFrom) {
    const uintptr_t start = reinterpret_cast<uintptr_t>(p);
    const uintptr_t begin = (start + kHugePage - 1) & ~(kHugePage - 1);
    const uintptr_t end = (start + size) & ~(kHugePage - 1);
    // Best effort: without THP support the advice fails, changing nothing.
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
  return p;
}

}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }

#endif
