// The NAS plugin's C interface (plugin_abi.hpp) over torch_net.hpp. Every
// c10::Error (and any other exception) is caught here and turned into a
// message; nothing throws across the C boundary.

#include "actors/nas/plugin_abi.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>

#include <ATen/Parallel.h>

#include "actors/models/torch_guard.hpp"
#include "actors/nas/torch_net.hpp"

namespace {

using troupe::nas::plugin::bn_mode;
using troupe::nas::plugin::layout;
using troupe::nas::plugin::net;
using troupe::nas::plugin::parse_layout;

// the C boundary's error handling, shared with libtroupe_torch.so
using troupe::models::torch_plugin::guarded;
using troupe::models::torch_plugin::put_error;

/// The parsed `active` layout, or none for the whole network.
struct active_layout {
  explicit active_layout(const char* text) {
    if (text != nullptr && *text != '\0') {
      value = parse_layout(text);
      ptr = &value;
    }
  }
  layout value;
  const layout* ptr = nullptr;
};

torch::Tensor rows_of(const float* x, size_t rows, const layout& l) {
  return torch::from_blob(
      const_cast<float*>(x),
      {static_cast<int64_t>(rows), int64_t{l.in} * l.image * l.image},
      torch::kFloat32);
}

net* as_net(void* p) {
  return static_cast<net*>(p);
}

#define TROUPE_EXPORT extern "C" __attribute__((visibility("default")))

} // namespace

TROUPE_EXPORT int troupe_nas_abi_version(void) {
  return TROUPE_NAS_ABI_VERSION;
}

TROUPE_EXPORT void troupe_nas_set_threads(int threads) {
  at::set_num_threads(std::max(threads, 1));
}

TROUPE_EXPORT void* troupe_nas_net_new(const char* layout_text, uint64_t seed,
                                       char* err, size_t err_size) {
  return guarded(err, err_size, static_cast<void*>(nullptr), [&]() -> void* {
    return new net(parse_layout(layout_text), seed);
  });
}

TROUPE_EXPORT void troupe_nas_net_free(void* n) {
  delete as_net(n);
}

TROUPE_EXPORT void* troupe_nas_net_extract(void* n, const char* active,
                                           char* err, size_t err_size) {
  return guarded(err, err_size, static_cast<void*>(nullptr), [&]() -> void* {
    auto a = parse_layout(active);
    auto out = std::make_unique<net>(a, 0);
    out->copy_from(*as_net(n), a);
    return out.release();
  });
}

TROUPE_EXPORT int troupe_nas_net_train_step(void* n, const char* active,
                                            const float* x, const int64_t* y,
                                            size_t rows, double lr,
                                            double* loss, char* err,
                                            size_t err_size) {
  return guarded(err, err_size, -1, [&] {
    active_layout a{active};
    auto& shape = as_net(n)->shape();
    auto xs = rows_of(x, rows, shape);
    auto ys = torch::from_blob(const_cast<int64_t*>(y),
                               {static_cast<int64_t>(rows)}, torch::kInt64);
    *loss = as_net(n)->train_step(a.ptr, xs, ys, lr);
    return 0;
  });
}

TROUPE_EXPORT int troupe_nas_net_forward(void* n, const char* active,
                                         const float* x, size_t rows,
                                         int batch_stats, float* out, char* err,
                                         size_t err_size) {
  return guarded(err, err_size, -1, [&] {
    torch::NoGradGuard no_grad;
    active_layout a{active};
    auto& shape = as_net(n)->shape();
    auto logits = as_net(n)
                      ->forward(a.ptr, rows_of(x, rows, shape),
                                batch_stats ? bn_mode::batch : bn_mode::running)
                      .contiguous();
    std::memcpy(out, logits.data_ptr<float>(),
                sizeof(float) * static_cast<size_t>(logits.numel()));
    return 0;
  });
}

TROUPE_EXPORT int troupe_nas_net_calibrate(void* n, const float* x, size_t rows,
                                           size_t batch, char* err,
                                           size_t err_size) {
  return guarded(err, err_size, -1, [&] {
    auto& shape = as_net(n)->shape();
    as_net(n)->calibrate(rows_of(x, rows, shape), static_cast<int64_t>(batch));
    return 0;
  });
}

TROUPE_EXPORT int troupe_nas_net_weights(void* n, const char* active,
                                         float* out, size_t out_size,
                                         size_t* count, char* err,
                                         size_t err_size) {
  return guarded(err, err_size, -1, [&] {
    active_layout a{active};
    auto uses = as_net(n)->slices(a.ptr);
    size_t total = 0;
    for (auto& u : uses)
      if (!u.buffer) total += static_cast<size_t>(u.value.numel());
    *count = total;
    if (out == nullptr) return 0;
    if (out_size < total)
      throw std::invalid_argument("the buffer holds " +
                                  std::to_string(out_size) + " floats, " +
                                  std::to_string(total) + " are needed");
    size_t at = 0;
    for (auto& u : uses) {
      if (u.buffer) continue;
      auto flat = u.value.contiguous().view(-1);
      std::memcpy(out + at, flat.data_ptr<float>(),
                  sizeof(float) * static_cast<size_t>(flat.numel()));
      at += static_cast<size_t>(flat.numel());
    }
    return 0;
  });
}

TROUPE_EXPORT int troupe_nas_net_save(void* n, const char* path, char* err,
                                      size_t err_size) {
  return guarded(err, err_size, -1, [&] {
    troupe::nas::plugin::save_torchscript(*as_net(n), path);
    return 0;
  });
}
