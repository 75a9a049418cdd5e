#include "runtime/gpu_usage.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

namespace troupe {

// NVML's C interface, as far as troupe uses it (nvml.h: every function
// returns an nvmlReturn_t, 0 for success; a device is an opaque handle).
struct gpu_usage::api {
  using init_fn = int (*)();
  using count_fn = int (*)(unsigned*);
  using handle_fn = int (*)(unsigned, void**);
  struct rates {
    unsigned gpu;    ///< percent of the sample period a kernel ran
    unsigned memory; ///< percent of it memory was read or written
  };
  using rates_fn = int (*)(void*, rates*);
  using error_fn = const char* (*)(int);
  init_fn init = nullptr;
  count_fn count = nullptr;
  handle_fn handle = nullptr;
  rates_fn utilization = nullptr;
  error_fn error = nullptr;
};

gpu_usage::gpu_usage(const std::string& file) {
  void* lib = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    why_ = "no NVML: " + file + ": " + (e ? e : "cannot be loaded");
    return;
  }
  auto owned = std::make_unique<api>();
  auto& a = *owned;
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::decay_t<decltype(fn)>>(dlsym(lib, name));
    return fn != nullptr;
  };
  if (!sym(a.init, "nvmlInit_v2") || !sym(a.count, "nvmlDeviceGetCount_v2") ||
      !sym(a.handle, "nvmlDeviceGetHandleByIndex_v2") ||
      !sym(a.utilization, "nvmlDeviceGetUtilizationRates") ||
      !sym(a.error, "nvmlErrorString")) {
    why_ = "no NVML: " + file + " lacks the functions troupe reads";
    return;
  }
  if (auto rc = a.init(); rc != 0) {
    why_ = std::string{"no NVML: nvmlInit: "} + a.error(rc);
    return;
  }
  unsigned n = 0;
  if (auto rc = a.count(&n); rc != 0) {
    why_ = std::string{"no NVML: nvmlDeviceGetCount: "} + a.error(rc);
    return;
  }
  if (n == 0) {
    why_ = "no GPU: NVML sees no device";
    return;
  }
  api_ = std::move(owned);
  devices_ = n;
}

gpu_usage::gpu_usage(gpu_usage&&) noexcept = default;
gpu_usage::~gpu_usage() = default;

const gpu_usage& gpu_usage::get() {
  static const gpu_usage g{[] {
    const char* env = std::getenv("TROUPE_NVML_LIBRARY");
    return std::string{env && *env ? env : "libnvidia-ml.so.1"};
  }()};
  return g;
}

std::optional<double> gpu_usage::utilisation(unsigned index) const {
  if (!api_ || index >= devices_) return std::nullopt;
  void* dev = nullptr;
  if (api_->handle(index, &dev) != 0) return std::nullopt;
  api::rates r{};
  if (api_->utilization(dev, &r) != 0) return std::nullopt;
  return r.gpu / 100.0;
}

std::optional<double> gpu_usage::utilisation() const {
  unsigned index = 0;
  if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES"); v && *v) {
    char* end = nullptr;
    auto i = std::strtoul(v, &end, 10);
    if (end != v && (*end == '\0' || *end == ','))
      index = static_cast<unsigned>(i);
  }
  return utilisation(index);
}

} // namespace troupe
