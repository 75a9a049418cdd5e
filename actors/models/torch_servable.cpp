// The TorchScript part of the plugin libtroupe_torch.so (torch_mlp.cpp is
// the MLP part; only these two translation units include LibTorch).
// servable.cpp dlopen()s it when a TorchScript model is loaded; its
// interface is the C functions declared at the top of servable.hpp. Every
// c10::Error (and any other exception) is caught here and turned into a
// message; nothing throws across the C boundary.

#define TROUPE_TORCH_PLUGIN_ABI_ONLY
#include "actors/models/servable.hpp"

#include "actors/models/torch_guard.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include <ATen/Parallel.h>
#include <torch/script.h>

namespace {

using troupe::models::torch_plugin::guarded;
using troupe::models::torch_plugin::put_error;
using troupe::models::torch_plugin::use_threads;

/// A loaded module and the intra-op threads a forward() call may use.
struct model {
  torch::jit::Module module;
  int threads = 1;
};

} // namespace

extern "C" {

__attribute__((visibility("default"))) int troupe_torch_abi_version(void) {
  return TROUPE_TORCH_ABI_VERSION;
}

__attribute__((visibility("default"))) void*
troupe_torch_load(const char* path, int threads, char* err, size_t err_size) {
  return guarded(err, err_size, static_cast<void*>(nullptr), [&]() -> void* {
    auto m = std::make_unique<model>();
    m->module = torch::jit::load(path);
    m->module.eval();
    m->threads = std::max(threads, 1);
    return m.release();
  });
}

__attribute__((visibility("default"))) void troupe_torch_free(void* handle) {
  delete static_cast<struct model*>(handle);
}

__attribute__((visibility("default"))) int
troupe_torch_forward(void* handle, const float* x, size_t rows, size_t cols,
                     float* out, size_t out_size, int64_t* shape, size_t* ndim,
                     char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto* m = static_cast<struct model*>(handle);
    use_threads(m->threads);
    c10::InferenceMode guard;
    // A copy: forward() may modify its input in place.
    auto input = torch::from_blob(
                     const_cast<float*>(x),
                     {static_cast<int64_t>(rows), static_cast<int64_t>(cols)},
                     torch::kFloat32)
                     .clone();
    auto result = m->module.forward({input});
    if (!result.isTensor()) {
      put_error(err, err_size,
                "forward() returned a " + result.tagKind() + ", not a tensor");
      return -1;
    }
    auto y = result.toTensor().to(torch::kCPU, torch::kFloat32).contiguous();
    auto dims = y.sizes();
    if (dims.size() > 8) {
      put_error(err, err_size,
                "forward() returned a tensor of " +
                    std::to_string(dims.size()) + " dimensions");
      return -1;
    }
    *ndim = dims.size();
    for (size_t i = 0; i < dims.size(); ++i)
      shape[i] = dims[i];
    auto n = static_cast<size_t>(y.numel());
    if (n <= out_size && n > 0)
      std::memcpy(out, y.data_ptr<float>(), n * sizeof(float));
    return 0;
  });
}

__attribute__((visibility("default"))) int
troupe_torch_write_linear(const char* path, const float* w, size_t outputs,
                          size_t inputs, const float* b, const char* activation,
                          int squeeze, char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    std::string act = activation ? activation : "";
    if (act != "" && act != "sigmoid" && act != "softmax") {
      put_error(err, err_size, "unknown activation '" + act + "'");
      return -1;
    }
    auto o = static_cast<int64_t>(outputs);
    auto i = static_cast<int64_t>(inputs);
    torch::jit::Module m{"troupe_linear"};
    m.register_parameter(
        "w", torch::from_blob(const_cast<float*>(w), {o, i}).clone(), false);
    m.register_parameter(
        "b", torch::from_blob(const_cast<float*>(b), {o}).clone(), false);
    std::string body = "    y = x.matmul(self.w.t()) + self.b\n";
    if (act == "sigmoid") body += "    y = torch.sigmoid(y)\n";
    if (act == "softmax") body += "    y = torch.softmax(y, 1)\n";
    if (squeeze && outputs == 1) body += "    y = y.squeeze(1)\n";
    m.define("def forward(self, x):\n" + body + "    return y\n");
    m.save(path);
    return 0;
  });
}

} // extern "C"
