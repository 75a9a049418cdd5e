#include "actors/models/parallel_mlp.hpp"

#include <utility>

#include "actors/models/errors.hpp"
#include "actors/models/torch_plugin.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

using detail::err_size;
using detail::plugin_failure;
using detail::plugin_message;
using detail::torch_api;
using detail::torch_plugin;

namespace {

/// The plugin's task: 0 binary, 1 multiclass, 2 regression.
int task_code(tabular::task_kind task) {
  return task == tabular::task_kind::binary       ? 0
         : task == tabular::task_kind::multiclass ? 1
                                                  : 2;
}

} // namespace

// -- torch_rendezvous --------------------------------------------------------

caf::expected<torch_rendezvous>
torch_rendezvous::serve(const std::string& host, int world, double timeout_s) {
  auto api = torch_plugin();
  if (!api) return api.error();
  char err[err_size] = {0};
  uint16_t port = 0;
  auto* h =
      (*api)->store_serve(host.c_str(), world, timeout_s, &port, err, err_size);
  if (!h) return plugin_failure(err);
  return torch_rendezvous{h, port};
}

torch_rendezvous::torch_rendezvous(torch_rendezvous&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), port_(other.port_) {}

torch_rendezvous&
torch_rendezvous::operator=(torch_rendezvous&& other) noexcept {
  std::swap(handle_, other.handle_);
  std::swap(port_, other.port_);
  return *this;
}

torch_rendezvous::~torch_rendezvous() {
  if (handle_) (*torch_plugin())->store_free(handle_);
}

// -- torch_group -------------------------------------------------------------

caf::expected<torch_group>
torch_group::join(const std::string& store_host, uint16_t store_port,
                  const std::string& prefix, int rank, int world,
                  const std::string& self_host, double timeout_s) {
  auto api = torch_plugin();
  if (!api) return api.error();
  char err[err_size] = {0};
  auto* h =
      (*api)->group_join(store_host.c_str(), store_port, prefix.c_str(), rank,
                         world, self_host.c_str(), timeout_s, err, err_size);
  if (!h) return plugin_failure(err);
  return torch_group{h, rank, world};
}

torch_group::torch_group(torch_group&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), rank_(other.rank_),
      world_(other.world_) {}

torch_group& torch_group::operator=(torch_group&& other) noexcept {
  std::swap(handle_, other.handle_);
  std::swap(rank_, other.rank_);
  std::swap(world_, other.world_);
  return *this;
}

torch_group::~torch_group() {
  if (handle_) (*torch_plugin())->group_free(handle_);
}

// -- mlp_replica -------------------------------------------------------------

caf::expected<mlp_replica>
mlp_replica::create(const troupe_torch_mlp_params& params, size_t inputs,
                    size_t classes, tabular::task_kind task, uint64_t seed) {
  auto api = torch_plugin();
  if (!api) return api.error();
  int t = task_code(task);
  char err[err_size] = {0};
  auto* h =
      (*api)->mlp_create(&params, inputs, classes, t, seed, err, err_size);
  if (!h)
    return make_error(troupe::errc::invalid_argument,
                      "mlp: " + plugin_message(err));
  return mlp_replica{h};
}

caf::expected<mlp_replica>
mlp_replica::create_script(const std::vector<uint8_t>& module,
                           const std::string& loss, double lr,
                           double weight_decay, size_t inputs, size_t classes,
                           tabular::task_kind task, uint64_t seed) {
  auto api = torch_plugin();
  if (!api) return api.error();
  int t = task_code(task);
  char err[err_size] = {0};
  auto* h = (*api)->script_create(module.data(), module.size(), loss.c_str(),
                                  lr, weight_decay, inputs, classes, t, seed,
                                  err, err_size);
  if (!h)
    return make_error(troupe::errc::invalid_argument,
                      "TorchScript module: " + plugin_message(err));
  return mlp_replica{h};
}

caf::expected<mlp_replica>
mlp_replica::load(const std::vector<uint8_t>& bytes) {
  auto api = torch_plugin();
  if (!api) return api.error();
  char err[err_size] = {0};
  auto* h = (*api)->mlp_load(bytes.data(), bytes.size(), err, err_size);
  if (!h) return plugin_failure(err);
  return mlp_replica{h};
}

mlp_replica::mlp_replica(mlp_replica&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)) {}

mlp_replica& mlp_replica::operator=(mlp_replica&& other) noexcept {
  std::swap(handle_, other.handle_);
  return *this;
}

mlp_replica::~mlp_replica() {
  if (handle_) (*torch_plugin())->mlp_free(handle_);
}

caf::expected<double> mlp_replica::fit_epoch(const torch_group* group,
                                             const float* x, const float* y,
                                             size_t rows, size_t cols,
                                             const parallel_epoch& e,
                                             epoch_times* times) {
  char err[err_size] = {0};
  double loss = 0;
  double seconds[3] = {0, 0, 0};
  if ((*torch_plugin())
          ->mlp_fit_group(handle_, group ? group->handle() : nullptr, x, y,
                          rows, cols, e.local_batch, e.global_batch, e.steps,
                          e.shuffle ? 1 : 0, e.bucket_bytes, e.threads, &loss,
                          seconds, err, err_size) != 0)
    return plugin_failure(err);
  if (times) *times = {seconds[0], seconds[1], seconds[2]};
  return loss;
}

caf::expected<std::vector<float>> mlp_replica::predict(const float* x,
                                                       size_t rows, size_t cols,
                                                       int threads) const {
  std::vector<float> out(rows * outputs());
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->mlp_predict(handle_, x, rows, cols, threads, out.data(), out.size(),
                        err, err_size) != 0)
    return plugin_failure(err);
  return out;
}

caf::expected<std::vector<float>> mlp_replica::weights() const {
  char err[err_size] = {0};
  size_t n = 0;
  (void)(*torch_plugin())->mlp_weights(handle_, nullptr, 0, &n, err, err_size);
  std::vector<float> out(n);
  if ((*torch_plugin())
          ->mlp_weights(handle_, out.data(), out.size(), &n, err, err_size) !=
      0)
    return plugin_failure(err);
  return out;
}

caf::expected<std::vector<uint8_t>> mlp_replica::save() const {
  std::vector<uint8_t> bytes;
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->mlp_save(handle_, &bytes, detail::append_bytes, err, err_size) != 0)
    return plugin_failure(err);
  return bytes;
}

caf::error mlp_replica::export_torchscript(const std::string& path) const {
  char err[err_size] = {0};
  if ((*torch_plugin())->mlp_export(handle_, path.c_str(), err, err_size) != 0)
    return plugin_failure(err);
  return caf::none;
}

uint64_t mlp_replica::epochs() const {
  troupe_torch_mlp_info info{};
  (*torch_plugin())->mlp_describe(handle_, &info);
  return info.epochs;
}

std::string mlp_replica::loss() const {
  troupe_torch_mlp_info info{};
  (*torch_plugin())->mlp_describe(handle_, &info);
  return info.loss;
}

size_t mlp_replica::outputs() const {
  troupe_torch_mlp_info info{};
  (*torch_plugin())->mlp_describe(handle_, &info);
  return info.outputs;
}

} // namespace troupe::models
