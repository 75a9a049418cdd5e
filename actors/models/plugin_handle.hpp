#pragma once

// An object a plugin made (a torch plugin's stage, tensor-parallel net or
// GraphSAGE replica), owned through its opaque pointer and given back to
// the plugin's own free function when its owner goes; moves carry it.
// Plain C++: for the wrappers that include no plugin header.

#include <utility>

namespace troupe::models {

class plugin_handle {
public:
  using free_fn = void (*)(void*);

  plugin_handle() = default;
  plugin_handle(void* h, free_fn free) : h_(h), free_(free) {}
  plugin_handle(plugin_handle&& o) noexcept
      : h_(std::exchange(o.h_, nullptr)), free_(o.free_) {}
  plugin_handle& operator=(plugin_handle&& o) noexcept {
    std::swap(h_, o.h_);
    std::swap(free_, o.free_);
    return *this;
  }
  plugin_handle(const plugin_handle&) = delete;
  plugin_handle& operator=(const plugin_handle&) = delete;
  ~plugin_handle() {
    if (h_ && free_) free_(h_);
  }

  void* get() const { return h_; }

private:
  void* h_ = nullptr;
  free_fn free_ = nullptr;
};

} // namespace troupe::models
