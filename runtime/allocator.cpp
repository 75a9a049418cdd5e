#include "runtime/allocator.hpp"

#include <dlfcn.h>
#include <sys/types.h>

#include <cstddef>
#include <mutex>
#include <string>

namespace troupe {

namespace {

using mallctl_fn = int (*)(const char*, void*, size_t*, void*, size_t);

/// jemalloc's control entry, looked up at run time (no link-time
/// dependency: sanitized builds run on the sanitizer's allocator).
mallctl_fn mallctl() {
  static auto* fn =
      reinterpret_cast<mallctl_fn>(::dlsym(RTLD_DEFAULT, "mallctl"));
  return fn;
}

std::mutex mtx;
int holders = 0;
decay_times before;

void set_decay(const decay_times& d) {
  auto* fn = mallctl();
  if (fn == nullptr) return;
  ssize_t dirty = d.dirty, muzzy = d.muzzy;
  // new arenas first, then each existing one by its index. Not through
  // "arena.4096." (MALLCTL_ARENAS_ALL), as the NAS command used to: its
  // ALL index is documented for purge, decay (the verb) and reset, not for
  // the decay times, and a node that set them through it crashed inside
  // jemalloc in a CAF thread twice in a row (dmesg); most likely the
  // index was taken for an arena past the end of jemalloc's table
  fn("arenas.dirty_decay_ms", nullptr, nullptr, &dirty, sizeof dirty);
  fn("arenas.muzzy_decay_ms", nullptr, nullptr, &muzzy, sizeof muzzy);
  unsigned narenas = 0;
  size_t len = sizeof narenas;
  if (fn("arenas.narenas", &narenas, &len, nullptr, 0) != 0) return;
  for (unsigned i = 0; i < narenas; ++i) {
    // an index with no arena yet answers EFAULT, harmlessly
    auto key = "arena." + std::to_string(i) + ".";
    fn((key + "dirty_decay_ms").c_str(), nullptr, nullptr, &dirty,
       sizeof dirty);
    fn((key + "muzzy_decay_ms").c_str(), nullptr, nullptr, &muzzy,
       sizeof muzzy);
  }
}

} // namespace

decay_times current_decay_times() {
  decay_times d;
  auto* fn = mallctl();
  if (fn == nullptr) return d;
  ssize_t v = 0;
  size_t len = sizeof v;
  if (fn("arenas.dirty_decay_ms", &v, &len, nullptr, 0) == 0) d.dirty = v;
  len = sizeof v;
  if (fn("arenas.muzzy_decay_ms", &v, &len, nullptr, 0) == 0) d.muzzy = v;
  return d;
}

freed_pages_kept::freed_pages_kept() {
  std::lock_guard<std::mutex> guard{mtx};
  if (holders++ > 0) return;
  before = current_decay_times();
  set_decay({-1, -1});
}

freed_pages_kept::~freed_pages_kept() {
  std::lock_guard<std::mutex> guard{mtx};
  if (--holders > 0) return;
  set_decay(before);
}

} // namespace troupe
