#include "actors/models/pipeline_stage.hpp"

#include <cmath>
#include <utility>

#include "actors/models/errors.hpp"
#include "actors/models/torch_plugin.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

using detail::err_size;
using detail::plugin_failure;
using detail::plugin_message;
using detail::torch_plugin;

namespace {

/// The caller's links behind the plugin's C callbacks; the first error a
/// link gave is kept whole (its category tells a lost peer).
struct c_bridge {
  stage_tensor_links& links;
  std::vector<int64_t> shape;
  caf::error first;

  static int receive(void* ctx, int kind, uint32_t micro, const float** data,
                     const int64_t** shape, int* ndim, char* err,
                     size_t err_size) {
    auto& b = *static_cast<c_bridge*>(ctx);
    const float* d = nullptr;
    if (auto e = b.links.receive(kind, micro, d, b.shape))
      return b.fail(std::move(e), err, err_size);
    *data = d;
    *shape = b.shape.data();
    *ndim = static_cast<int>(b.shape.size());
    return 0;
  }

  static int send(void* ctx, int kind, uint32_t micro, const float* data,
                  const int64_t* shape, int ndim, char* err, size_t err_size) {
    auto& b = *static_cast<c_bridge*>(ctx);
    std::vector<int64_t> dims(shape, shape + ndim);
    if (auto e = b.links.send(kind, micro, data, dims))
      return b.fail(std::move(e), err, err_size);
    return 0;
  }

  int fail(caf::error e, char* err, size_t size) {
    detail::put_message(err, size, describe(e));
    if (!first) first = std::move(e);
    return -1;
  }

  troupe_torch_stage_links c() {
    return {this, &c_bridge::receive, &c_bridge::send};
  }
};

int32_t activation_code(const std::string& a) {
  return a == "gelu" ? 1 : a == "tanh" ? 2 : 0;
}

int32_t task_code(const std::string& t) {
  return t == "binary" ? 0 : t == "multiclass" ? 1 : 2;
}

} // namespace

caf::expected<pipeline_stage> pipeline_stage::create(const stage_spec& spec) {
  if (spec.activation != "relu" && spec.activation != "gelu" &&
      spec.activation != "tanh")
    return make_error(troupe::errc::invalid_argument,
                      "pipeline stage: activation '" + spec.activation +
                          "' (relu, gelu or tanh)");
  if (spec.task != "binary" && spec.task != "multiclass" &&
      spec.task != "regression")
    return make_error(troupe::errc::invalid_argument,
                      "pipeline stage: task '" + spec.task + "'");
  if ((!spec.center.empty() || !spec.scale.empty()) &&
      (spec.center.size() != spec.inputs || spec.scale.size() != spec.inputs))
    return make_error(troupe::errc::invalid_argument,
                      "pipeline stage: " + std::to_string(spec.center.size()) +
                          " centres and " + std::to_string(spec.scale.size()) +
                          " scales for " + std::to_string(spec.inputs) +
                          " inputs");
  auto api = torch_plugin();
  if (!api) return api.error();
  troupe_torch_stage_params p{};
  p.inputs = static_cast<int32_t>(spec.inputs);
  p.outputs = static_cast<int32_t>(spec.outputs);
  p.layers = static_cast<int32_t>(spec.layers);
  p.width = static_cast<int32_t>(spec.width);
  p.activation = activation_code(spec.activation);
  p.task = task_code(spec.task);
  p.stage = static_cast<int32_t>(spec.stage);
  p.stages = static_cast<int32_t>(spec.stages);
  p.begin = static_cast<int32_t>(spec.begin);
  p.end = static_cast<int32_t>(spec.end);
  p.micro = static_cast<int32_t>(spec.micro);
  p.schedule = spec.schedule == pipeline_schedule::gpipe ? 0 : 1;
  p.recompute = spec.recompute ? 1 : 0;
  p.threads = static_cast<int32_t>(spec.threads);
  p.lr = spec.lr;
  p.weight_decay = spec.weight_decay;
  p.seed = spec.seed;
  p.center = spec.center.empty() ? nullptr : spec.center.data();
  p.scale = spec.scale.empty() ? nullptr : spec.scale.data();
  char err[err_size] = {0};
  auto* h = (*api)->stage_create(&p, err, err_size);
  if (!h)
    return make_error(troupe::errc::invalid_argument,
                      "pipeline stage: " + plugin_message(err));
  return pipeline_stage{plugin_handle{h, (*api)->stage_free}, spec};
}

caf::expected<double> pipeline_stage::step(const float* x, const float* y,
                                           size_t rows,
                                           stage_tensor_links& links,
                                           stage_seconds* seconds) {
  c_bridge b{links, {}, {}};
  auto c = b.c();
  double loss = std::nan("");
  double secs[2] = {0, 0};
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->stage_step(handle_.get(), x, y, rows, &c, &loss, secs, err,
                       err_size) != 0)
    return b.first ? std::move(b.first) : plugin_failure(err);
  if (seconds) *seconds = {secs[0], secs[1]};
  return loss;
}

caf::error pipeline_stage::forward(const float* x, size_t rows,
                                   stage_tensor_links& links, float* out) {
  c_bridge b{links, {}, {}};
  auto c = b.c();
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->stage_forward(handle_.get(), x, rows, &c, out, err, err_size) != 0)
    return b.first ? std::move(b.first) : plugin_failure(err);
  return caf::none;
}

caf::expected<std::vector<uint8_t>> pipeline_stage::save() const {
  std::vector<uint8_t> bytes;
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->stage_save(handle_.get(), &bytes, detail::append_bytes, err,
                       err_size) != 0)
    return plugin_failure(err);
  return bytes;
}

caf::error pipeline_stage::load(const std::vector<uint8_t>& bytes) {
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->stage_load(handle_.get(), bytes.data(), bytes.size(), err,
                       err_size) != 0)
    return make_error(troupe::errc::invalid_argument,
                      "pipeline stage " + std::to_string(spec_.stage) + ": " +
                          plugin_message(err));
  return caf::none;
}

std::vector<uint32_t> stage_starts(uint32_t inputs, uint32_t outputs,
                                   uint32_t layers, uint32_t width,
                                   uint32_t stages) {
  std::vector<double> costs;
  for (uint32_t i = 0; i <= layers; ++i) {
    double in = i == 0 ? inputs : width;
    double out = i == layers ? outputs : width;
    costs.push_back(in * out + out);
  }
  std::vector<uint32_t> starts;
  for (auto s : balance_stages(costs, stages))
    starts.push_back(static_cast<uint32_t>(s));
  return starts;
}

} // namespace troupe::models
