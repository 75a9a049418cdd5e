#include "actors/models/torch_memory_meter.hpp"

#include <c10/core/Allocator.h>

namespace troupe::models::torch_nn {

namespace {

/// c10 calls reportMemoryUsage for every allocation (positive size) and
/// free (negative) of a tensor's storage while memoryProfilingEnabled().
class reporter : public c10::MemoryReportingInfoBase {
public:
  explicit reporter(std::shared_ptr<allocation_meter::counts> c)
      : counts_(std::move(c)) {}

  void reportMemoryUsage(void* /*ptr*/, int64_t alloc_size,
                         int64_t /*total_allocated*/,
                         int64_t /*total_reserved*/,
                         c10::Device /*device*/) override {
    auto now = counts_->current.fetch_add(alloc_size) + alloc_size;
    auto peak = counts_->peak.load();
    while (now > peak && !counts_->peak.compare_exchange_weak(peak, now)) {
    }
    auto largest = counts_->largest.load();
    while (alloc_size > largest &&
           !counts_->largest.compare_exchange_weak(largest, alloc_size)) {
    }
  }

  bool memoryProfilingEnabled() const override { return true; }

private:
  std::shared_ptr<allocation_meter::counts> counts_;
};

} // namespace

allocation_meter::allocation_meter()
    : counts_(std::make_shared<counts>()),
      guard_(std::make_unique<c10::DebugInfoGuard>(
          c10::DebugInfoKind::PROFILER_STATE,
          std::make_shared<reporter>(counts_))) {}

allocation_meter::~allocation_meter() = default;

int64_t allocation_meter::current_bytes() const {
  return counts_->current.load();
}

int64_t allocation_meter::peak_bytes() const {
  return counts_->peak.load();
}

int64_t allocation_meter::largest_bytes() const {
  return counts_->largest.load();
}

} // namespace troupe::models::torch_nn
