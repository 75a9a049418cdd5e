#pragma once

// Counts the bytes LibTorch's CPU allocator hands out and takes back while
// a meter lives: the balance and its peak. It listens on c10's profiler
// memory hook, the one torch.profiler's profile_memory reads, so a meter
// here and PyTorch's profiler count the same allocations the same way.
// Allocations on the thread that holds the meter count, and on the threads
// that inherit its thread-local state (at::parallel_for's workers; the
// backward pass of CPU tensors runs on the calling thread). Included by
// torch code only.

#include <atomic>
#include <cstdint>
#include <memory>

#include <c10/util/ThreadLocalDebugInfo.h>

namespace troupe::models::torch_nn {

class allocation_meter {
public:
  allocation_meter();
  ~allocation_meter();
  allocation_meter(const allocation_meter&) = delete;
  allocation_meter& operator=(const allocation_meter&) = delete;

  /// Bytes allocated minus bytes freed since the meter started (negative
  /// when older tensors were freed).
  int64_t current_bytes() const;
  /// The highest current_bytes() has been.
  int64_t peak_bytes() const;
  /// The largest single allocation.
  int64_t largest_bytes() const;

  /// The counters, shared with c10's hook.
  struct counts {
    std::atomic<int64_t> current{0};
    std::atomic<int64_t> peak{0};
    std::atomic<int64_t> largest{0};
  };

private:
  std::shared_ptr<counts> counts_;
  std::unique_ptr<c10::DebugInfoGuard> guard_;
};

} // namespace troupe::models::torch_nn
