#pragma once

// Control of the allocator troupe's programs run on (jemalloc; options in
// runtime/malloc/malloc_conf.cpp): keeping freed pages while training runs.
//
// LibTorch and XGBoost free and allocate the same large buffers every step.
// jemalloc hands freed pages back to the kernel over its decay time (10 s),
// and each one taken again is a fault that zeroes a fresh page: 26% of a
// data-parallel MLP worker's time went to clear_page_erms (perf, Fashion-
// MNIST, 1 worker). PyTorch's GPU caching allocator keeps what it frees for
// the same reason.

namespace troupe {

/// While at least one lives, jemalloc keeps the pages the process frees
/// (dirty and muzzy decay off, for every arena, existing and new); when the
/// last goes, the decay times before the first are set back, and the pages
/// go back to the kernel as they decay. Counted: holders may overlap, from
/// any thread. Does nothing when the process does not run on jemalloc (a
/// sanitizer's allocator).
class freed_pages_kept {
public:
  freed_pages_kept();
  ~freed_pages_kept();
  freed_pages_kept(const freed_pages_kept&) = delete;
  freed_pages_kept& operator=(const freed_pages_kept&) = delete;
};

/// jemalloc's decay times for new arenas, in ms ("arenas.dirty_decay_ms",
/// "arenas.muzzy_decay_ms"); -1: kept forever; {0, 0} without jemalloc.
struct decay_times {
  long dirty = 0;
  long muzzy = 0;
};
decay_times current_decay_times();

} // namespace troupe
