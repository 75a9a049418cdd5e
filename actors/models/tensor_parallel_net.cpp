#include "actors/models/tensor_parallel_net.hpp"

#include <utility>

#include "actors/models/errors.hpp"
#include "actors/models/torch_plugin.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

using detail::err_size;
using detail::plugin_failure;
using detail::plugin_message;
using detail::torch_plugin;

caf::expected<tp_net> tp_net::create(const tp_spec& spec,
                                     const torch_group& group) {
  if ((!spec.center.empty() || !spec.scale.empty()) &&
      (spec.center.size() != spec.inputs || spec.scale.size() != spec.inputs))
    return make_error(
        troupe::errc::invalid_argument,
        "tensor-parallel net: " + std::to_string(spec.center.size()) +
            " centres for " + std::to_string(spec.inputs) + " inputs");
  auto api = torch_plugin();
  if (!api) return api.error();
  troupe_torch_tp_params p{};
  p.inputs = static_cast<int32_t>(spec.inputs);
  p.classes = static_cast<int32_t>(spec.classes);
  p.width = static_cast<int32_t>(spec.width);
  p.hidden = static_cast<int32_t>(spec.hidden);
  p.blocks = static_cast<int32_t>(spec.blocks);
  p.threads = static_cast<int32_t>(spec.threads);
  p.lr = spec.lr;
  p.weight_decay = spec.weight_decay;
  p.seed = spec.seed;
  p.center = spec.center.empty() ? nullptr : spec.center.data();
  p.scale = spec.scale.empty() ? nullptr : spec.scale.data();
  char err[err_size] = {0};
  auto* h = (*api)->tp_create(&p, group.handle(), err, err_size);
  if (!h)
    return make_error(troupe::errc::invalid_argument,
                      "tensor-parallel net: " + plugin_message(err));
  return tp_net{plugin_handle{h, (*api)->tp_free}};
}

caf::expected<double> tp_net::fit_epoch(const float* x, const float* y,
                                        size_t rows, size_t batch, size_t steps,
                                        uint64_t order_seed) {
  double loss = 0;
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->tp_fit_epoch(handle_.get(), x, y, rows, batch, steps, order_seed,
                         &loss, err, err_size) != 0)
    return plugin_failure(err);
  return loss;
}

caf::expected<tp_scores> tp_net::evaluate(const float* x, const float* y,
                                          size_t rows) {
  tp_scores s;
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->tp_evaluate(handle_.get(), x, y, rows, &s.logloss, &s.accuracy, err,
                        err_size) != 0)
    return plugin_failure(err);
  return s;
}

caf::expected<std::vector<uint8_t>> tp_net::save() const {
  std::vector<uint8_t> bytes;
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->tp_save(handle_.get(), &bytes, detail::append_bytes, err,
                    err_size) != 0)
    return plugin_failure(err);
  return bytes;
}

caf::error tp_net::load(const std::vector<uint8_t>& bytes) {
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->tp_load(handle_.get(), bytes.data(), bytes.size(), err, err_size) !=
      0)
    return make_error(troupe::errc::invalid_argument,
                      "tensor-parallel net: " + plugin_message(err));
  return caf::none;
}

size_t tp_net::parameter_bytes() const {
  return (*torch_plugin())->tp_parameter_bytes(handle_.get());
}

} // namespace troupe::models
