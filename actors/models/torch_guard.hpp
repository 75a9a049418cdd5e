#pragma once

// What the translation units of the torch plugin (libtroupe_torch.so) share
// at their C boundary: writing a message into the caller's buffer, catching
// every exception (LibTorch throws c10::Error) and setting the intra-op
// threads of the calling thread. Included by torch code only.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <exception>
#include <string>

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

namespace troupe::models::torch_plugin {

/// Copies `msg`, cut to fit and NUL-terminated, into err[0..err_size).
inline void put_error(char* err, size_t err_size, const std::string& msg) {
  if (err == nullptr || err_size == 0) return;
  auto n = std::min(msg.size(), err_size - 1);
  std::memcpy(err, msg.data(), n);
  err[n] = '\0';
}

/// Runs `f`, turning any exception into a message in `err` and `failed`:
/// nothing throws across the C boundary.
template <class R, class F>
R guarded(char* err, size_t err_size, R failed, F&& f) {
  try {
    return f();
  } catch (const c10::Error& e) {
    put_error(err, err_size, e.what_without_backtrace());
  } catch (const std::exception& e) {
    put_error(err, err_size, e.what());
  } catch (...) {
    put_error(err, err_size, "unknown exception");
  }
  return failed;
}

/// Sets the intra-op threads of the calling thread (OpenMP's count is per
/// thread): replicas and trials are parallel actors, and intra-op threads
/// on top of them would oversubscribe the cores, hence a count per call.
inline void use_threads(int n) {
  thread_local int current = 0;
  n = std::max(n, 1);
  if (current == n) return;
  at::set_num_threads(n);
  current = n;
}

} // namespace troupe::models::torch_plugin
