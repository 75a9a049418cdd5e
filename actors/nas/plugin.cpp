#include "actors/nas/plugin.hpp"

#include <cstdlib>
#include <memory>
#include <mutex>

#include "actors/nas/errors.hpp"
#include "actors/nas/plugin_abi.hpp"
#include "runtime/plugin.hpp"

namespace troupe::nas {

/// The plugin's functions, resolved once.
struct plugin_api {
  decltype(&troupe_nas_abi_version) abi_version = nullptr;
  decltype(&troupe_nas_set_threads) set_threads = nullptr;
  decltype(&troupe_nas_net_new) net_new = nullptr;
  decltype(&troupe_nas_net_free) net_free = nullptr;
  decltype(&troupe_nas_net_extract) extract = nullptr;
  decltype(&troupe_nas_net_train_step) train_step = nullptr;
  decltype(&troupe_nas_net_forward) forward = nullptr;
  decltype(&troupe_nas_net_calibrate) calibrate = nullptr;
  decltype(&troupe_nas_net_weights) weights = nullptr;
  decltype(&troupe_nas_net_save) save = nullptr;
};

namespace {

constexpr const char* plugin_name = "libtroupe_nas.so";

caf::error torch_error(const std::string& what) {
  return make_error(errc::torch_failure, what);
}

std::string message(const char* err) {
  return err[0] ? std::string{err} : std::string{"unknown error"};
}

/// The layout text of `sub`, or "" for the whole network.
std::string active_text(const net_arch* sub) {
  return sub ? layout_json(*sub) : std::string{};
}

} // namespace

caf::expected<const plugin_api*> load_plugin() {
  static std::mutex mtx;
  static std::unique_ptr<plugin_api> api;
  std::lock_guard<std::mutex> guard{mtx};
  if (api) return api.get();
#ifdef TROUPE_NAS_PLUGIN_BUILD_PATH
  std::string build_path = TROUPE_NAS_PLUGIN_BUILD_PATH;
#else
  std::string build_path;
#endif
  std::string tried;
  auto bind = [&](void* lib) -> std::string {
    auto a = std::make_unique<plugin_api>();
    if (!plugin_symbol(lib, a->abi_version, "troupe_nas_abi_version") ||
        !plugin_symbol(lib, a->set_threads, "troupe_nas_set_threads") ||
        !plugin_symbol(lib, a->net_new, "troupe_nas_net_new") ||
        !plugin_symbol(lib, a->net_free, "troupe_nas_net_free") ||
        !plugin_symbol(lib, a->extract, "troupe_nas_net_extract") ||
        !plugin_symbol(lib, a->train_step, "troupe_nas_net_train_step") ||
        !plugin_symbol(lib, a->forward, "troupe_nas_net_forward") ||
        !plugin_symbol(lib, a->calibrate, "troupe_nas_net_calibrate") ||
        !plugin_symbol(lib, a->weights, "troupe_nas_net_weights") ||
        !plugin_symbol(lib, a->save, "troupe_nas_net_save"))
      return "not a troupe NAS plugin (symbols missing)";
    if (a->abi_version() != TROUPE_NAS_ABI_VERSION)
      return "plugin interface " + std::to_string(a->abi_version()) +
             ", this troupe needs " + std::to_string(TROUPE_NAS_ABI_VERSION);
    api = std::move(a);
    return {};
  };
  if (open_plugin(
          plugin_candidates("TROUPE_NAS_PLUGIN", plugin_name, build_path), bind,
          tried))
    return api.get();
  return torch_error(std::string{"neural architecture search needs "} +
                     plugin_name +
                     " (built by the troupe_nas_plugin target), which was "
                     "not found or did not load; set TROUPE_NAS_PLUGIN to its "
                     "path. Tried:" +
                     tried);
}

caf::error set_torch_threads(int threads) {
  auto api = load_plugin();
  if (!api) return api.error();
  (*api)->set_threads(threads);
  return caf::none;
}

network::network(const plugin_api* api, void* handle, net_arch a)
    : api_(api), handle_(handle), arch_(std::move(a)) {}

network::network(network&& other) noexcept
    : api_(other.api_), handle_(other.handle_), arch_(std::move(other.arch_)) {
  other.handle_ = nullptr;
}

network& network::operator=(network&& other) noexcept {
  if (this != &other) {
    if (handle_) api_->net_free(handle_);
    api_ = other.api_;
    handle_ = other.handle_;
    arch_ = std::move(other.arch_);
    other.handle_ = nullptr;
  }
  return *this;
}

network::~network() {
  if (handle_) api_->net_free(handle_);
}

caf::expected<network> network::create(const net_arch& a, uint64_t seed) {
  auto api = load_plugin();
  if (!api) return api.error();
  char err[1024] = "";
  auto h = (*api)->net_new(layout_json(a).c_str(), seed, err, sizeof(err));
  if (!h)
    return torch_error("cannot build the network " + describe(a) + ": " +
                       message(err));
  return network{*api, h, a};
}

caf::expected<network> network::extract(const net_arch& sub) const {
  char err[1024] = "";
  auto h = api_->extract(handle_, layout_json(sub).c_str(), err, sizeof(err));
  if (!h)
    return torch_error("cannot extract " + describe(sub) + " from " +
                       describe(arch_) + ": " + message(err));
  return network{api_, h, sub};
}

caf::expected<double> network::train_step(const net_arch* sub, const float* x,
                                          const int64_t* y, size_t rows,
                                          double lr) {
  char err[1024] = "";
  double loss = 0;
  auto text = active_text(sub);
  if (api_->train_step(handle_, text.c_str(), x, y, rows, lr, &loss, err,
                       sizeof(err)) != 0)
    return torch_error("training step failed: " + message(err));
  return loss;
}

caf::expected<std::vector<float>> network::forward(const net_arch* sub,
                                                   const float* x, size_t rows,
                                                   bool batch_stats) const {
  std::vector<float> out(rows * static_cast<size_t>(arch_.classes));
  char err[1024] = "";
  auto text = active_text(sub);
  if (api_->forward(handle_, text.c_str(), x, rows, batch_stats ? 1 : 0,
                    out.data(), err, sizeof(err)) != 0)
    return torch_error("forward failed: " + message(err));
  return out;
}

caf::error network::calibrate(const float* x, size_t rows, size_t batch) {
  char err[1024] = "";
  if (api_->calibrate(handle_, x, rows, batch, err, sizeof(err)) != 0)
    return torch_error("batch-norm calibration failed: " + message(err));
  return caf::none;
}

caf::expected<int64_t> network::param_count(const net_arch* sub) const {
  char err[1024] = "";
  size_t n = 0;
  auto text = active_text(sub);
  if (api_->weights(handle_, text.c_str(), nullptr, 0, &n, err, sizeof(err)) !=
      0)
    return torch_error("cannot count parameters: " + message(err));
  return static_cast<int64_t>(n);
}

caf::expected<std::vector<float>> network::weights(const net_arch* sub) const {
  auto n = param_count(sub);
  if (!n) return n.error();
  std::vector<float> out(static_cast<size_t>(*n));
  char err[1024] = "";
  size_t count = 0;
  auto text = active_text(sub);
  if (api_->weights(handle_, text.c_str(), out.data(), out.size(), &count, err,
                    sizeof(err)) != 0)
    return torch_error("cannot read weights: " + message(err));
  return out;
}

caf::error network::save(const std::string& path) const {
  char err[1024] = "";
  if (api_->save(handle_, path.c_str(), err, sizeof(err)) != 0)
    return torch_error("cannot save TorchScript model '" + path +
                       "': " + message(err));
  return caf::none;
}

} // namespace troupe::nas
