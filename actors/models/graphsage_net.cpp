#include "actors/models/graphsage_net.hpp"

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

/// The plugin's sampler callback over a sage_sample_fn: the last
/// minibatch lives here until the next call; an error of the caller's
/// sampler is kept to be returned as it was.
struct sampler_bridge {
  const sage_sample_fn& sample;
  sage_sample last;
  caf::error error;

  static int call(void* ctx, const uint32_t* seeds, size_t count,
                  uint64_t round, troupe_torch_sage_batch* out, char* err,
                  size_t err_size) {
    auto& self = *static_cast<sampler_bridge*>(ctx);
    auto s = self.sample(std::vector<uint32_t>(seeds, seeds + count), round);
    if (!s) {
      self.error = s.error();
      detail::put_message(err, err_size, describe(self.error));
      return -1;
    }
    self.last = std::move(*s);
    auto& b = self.last;
    auto rows = b.labels.size();
    if (b.dims == 0 || b.x.size() != rows * b.dims) {
      self.error = make_error(
          troupe::errc::invalid_argument,
          "a GraphSAGE minibatch of " + std::to_string(rows) + " labels has " +
              std::to_string(b.x.size()) + " feature values of " +
              std::to_string(b.dims) + " columns");
      detail::put_message(err, err_size, describe(self.error));
      return -1;
    }
    for (int h = 0; h < 2; ++h) {
      auto& f = b.frontier[static_cast<size_t>(h)];
      auto& o = b.offsets[static_cast<size_t>(h)];
      auto& n = b.neighbours[static_cast<size_t>(h)];
      if (o.size() != f.size() + 1 || o.back() != n.size()) {
        self.error =
            make_error(troupe::errc::invalid_argument,
                       "a GraphSAGE minibatch's hop " + std::to_string(h) +
                           ": its offsets do not cut its neighbours "
                           "by its frontier");
        detail::put_message(err, err_size, describe(self.error));
        return -1;
      }
      out->frontier[h] = f.data();
      out->frontier_size[h] = f.size();
      out->offsets[h] = o.data();
      out->neighbours[h] = n.data();
    }
    out->x = b.x.data();
    out->labels = b.labels.data();
    out->rows = rows;
    out->dims = b.dims;
    return 0;
  }

  troupe_torch_sage_sampler c() { return {this, &sampler_bridge::call}; }

  /// The plugin's failure: the sampler's own error when it was that.
  caf::error outcome(const char* err) const {
    return error ? error : plugin_failure(err);
  }
};

} // namespace

caf::expected<sage_model> sage_model::create(const sage_spec& spec,
                                             const torch_group* group) {
  auto api = torch_plugin();
  if (!api) return api.error();
  troupe_torch_sage_params p{};
  p.inputs = static_cast<int32_t>(spec.inputs);
  p.hidden = static_cast<int32_t>(spec.hidden);
  p.classes = static_cast<int32_t>(spec.classes);
  p.threads = static_cast<int32_t>(spec.threads);
  p.lr = spec.lr;
  p.weight_decay = spec.weight_decay;
  p.seed = spec.seed;
  char err[err_size] = {0};
  auto* h =
      (*api)->sage_create(&p, group ? group->handle() : nullptr, err, err_size);
  if (!h)
    return make_error(troupe::errc::invalid_argument,
                      "GraphSAGE net: " + plugin_message(err));
  return sage_model{plugin_handle{h, (*api)->sage_free}};
}

caf::expected<sage_fit>
sage_model::fit_epoch(const std::vector<uint32_t>& train, uint32_t batch,
                      uint64_t order_seed, const sage_sample_fn& sample) {
  sampler_bridge bridge{sample, {}, caf::none};
  auto c = bridge.c();
  sage_fit f;
  double seconds[3] = {0, 0, 0};
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->sage_fit_epoch(handle_.get(), train.data(), train.size(), batch,
                           order_seed, &c, &f.loss, seconds, err,
                           err_size) != 0)
    return bridge.outcome(err);
  f.sample_seconds = seconds[0];
  f.compute_seconds = seconds[1];
  f.comm_seconds = seconds[2];
  return f;
}

caf::expected<sage_eval>
sage_model::evaluate(const std::vector<uint32_t>& nodes, uint32_t batch,
                     const sage_sample_fn& sample) {
  sampler_bridge bridge{sample, {}, caf::none};
  auto c = bridge.c();
  sage_eval s;
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->sage_evaluate(handle_.get(), nodes.data(), nodes.size(), batch, &c,
                          &s.logloss, &s.accuracy, err, err_size) != 0)
    return bridge.outcome(err);
  return s;
}

caf::expected<std::vector<uint8_t>> sage_model::save() const {
  std::vector<uint8_t> bytes;
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->sage_save(handle_.get(), &bytes, detail::append_bytes, err,
                      err_size) != 0)
    return plugin_failure(err);
  return bytes;
}

caf::error sage_model::load(const std::vector<uint8_t>& bytes) {
  char err[err_size] = {0};
  if ((*torch_plugin())
          ->sage_load(handle_.get(), bytes.data(), bytes.size(), err,
                      err_size) != 0)
    return make_error(troupe::errc::invalid_argument,
                      "GraphSAGE net: " + plugin_message(err));
  return caf::none;
}

} // namespace troupe::models
