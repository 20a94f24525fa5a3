#include "transient_errors.h"

#include <string>

namespace rowfs {
namespace {

using rocksdb::FileOptions;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

// PosixFileSystem keeps no errno: its messages end in strerror()'s text.
IOStatus MarkTransient(IOStatus s) {
  if (s.IsIOError()) {
    const std::string text = s.ToString();
    if (text.find("Too many open files") != std::string::npos) {
      s.SetRetryable(true);
    }
  }
  return s;
}

class TransientErrorFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit TransientErrorFileSystem(
      const std::shared_ptr<rocksdb::FileSystem>& base)
      : FileSystemWrapper(base) {}
  static const char* kClassName() { return "rowfs.TransientErrorFileSystem"; }
  const char* Name() const override { return kClassName(); }

  IOStatus NewSequentialFile(const std::string& f, const FileOptions& o,
                             std::unique_ptr<rocksdb::FSSequentialFile>* r,
                             IODebugContext* d) override {
    return MarkTransient(target()->NewSequentialFile(f, o, r, d));
  }
  IOStatus NewRandomAccessFile(const std::string& f, const FileOptions& o,
                               std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                               IODebugContext* d) override {
    return MarkTransient(target()->NewRandomAccessFile(f, o, r, d));
  }
  IOStatus NewWritableFile(const std::string& f, const FileOptions& o,
                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                           IODebugContext* d) override {
    return MarkTransient(target()->NewWritableFile(f, o, r, d));
  }
  IOStatus ReopenWritableFile(const std::string& f, const FileOptions& o,
                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                              IODebugContext* d) override {
    return MarkTransient(target()->ReopenWritableFile(f, o, r, d));
  }
  IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                             const FileOptions& o,
                             std::unique_ptr<rocksdb::FSWritableFile>* r,
                             IODebugContext* d) override {
    return MarkTransient(target()->ReuseWritableFile(f, old, o, r, d));
  }
  IOStatus NewDirectory(const std::string& name, const IOOptions& o,
                        std::unique_ptr<rocksdb::FSDirectory>* r,
                        IODebugContext* d) override {
    return MarkTransient(target()->NewDirectory(name, o, r, d));
  }
};

}  // namespace

rocksdb::Env* TransientErrorEnv() {
  static rocksdb::Env* const env =
      rocksdb::NewCompositeEnv(std::make_shared<TransientErrorFileSystem>(
                                   rocksdb::FileSystem::Default()))
          .release();
  return env;
}

}  // namespace rowfs
