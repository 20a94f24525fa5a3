// Wall-clock time in milliseconds, injectable so tests can control version
// timestamps and TTL expiry.
#ifndef ROWFS_CLOCK_H_
#define ROWFS_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace rowfs {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch. Thread-safe.
  virtual uint64_t NowMs() const = 0;
  // The process-wide real clock (CLOCK_REALTIME). Never null; not owned.
  static Clock* Real();
};

// A clock that only moves when told to. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(uint64_t now_ms) : now_(now_ms) {}
  uint64_t NowMs() const override { return now_.load(); }
  void Set(uint64_t now_ms) { now_.store(now_ms); }
  void Advance(uint64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<uint64_t> now_;
};

}  // namespace rowfs

#endif  // ROWFS_CLOCK_H_
