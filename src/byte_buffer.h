// A growable byte string for whole-file contents.
//
// std::string grows by copying into a new block at every doubling, so a
// file written sequentially is copied (and its pages faulted in) about
// twice over. ByteBuffer grows with realloc, which glibc does for large
// blocks with mremap: the pages move, nothing is copied or touched anew.
// Large buffers are advised for transparent huge pages (AdviseHugePages).
//
// Thread-safety: none; callers synchronise.
#ifndef ROWFS_SRC_BYTE_BUFFER_H_
#define ROWFS_SRC_BYTE_BUFFER_H_

#include <cstddef>
#include <string_view>

namespace rowfs {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ~ByteBuffer();
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  size_t size() const { return size_; }
  std::string_view view() const { return {data_, size_}; }

  // Replaces the content with a copy of `bytes`.
  void Assign(std::string_view bytes);
  // Copies `bytes` in at `offset`, growing as needed; a gap between the old
  // end and `offset` reads as zeros.
  void WriteAt(size_t offset, std::string_view bytes);
  // Shrinks, or grows with zeros.
  void Resize(size_t size);
  // Empties the buffer and releases its memory.
  void Clear();

 private:
  // Makes room for at least `capacity` bytes, growing geometrically.
  // Throws std::bad_alloc when memory runs out, like std::string.
  void Reserve(size_t capacity);

  char* data_ = nullptr;  // malloc'ed, owned
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Advises the whole 2 MiB pages inside [p, p + size) for transparent huge
// pages when the block is large (8 MiB or more); best effort, and a no-op
// where THP is off. On virtual machines a 4 KiB page fault costs
// microseconds: touching 256 MiB of new memory took 1.1-1.8 s here with
// 4 KiB pages and 0.07 s with 2 MiB ones, and Debian's THP mode is
// "madvise" (nothing gets huge pages unless asked).
void AdviseHugePages(void* p, size_t size);

}  // namespace rowfs

#endif  // ROWFS_SRC_BYTE_BUFFER_H_
