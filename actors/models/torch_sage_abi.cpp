// The torch plugin's GraphSAGE replicas (servable.hpp's troupe_torch_sage_*):
// torch_sage.hpp's net and its AdamW, trained by sage_epoch on minibatches
// the caller's sampler callback hands over (graph shard actors answer
// them on the caller's side), in a c10d gloo group or alone.

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#define TROUPE_TORCH_PLUGIN_ABI_ONLY
#include "actors/models/servable.hpp"
#include "actors/models/torch_group.hpp"
#include "actors/models/torch_guard.hpp"
#include "actors/models/torch_sage.hpp"
#include "actors/models/torch_state.hpp"

namespace {

using namespace troupe::models::torch_plugin;
namespace nn = troupe::models::torch_nn;

constexpr const char* format_name = "troupe-graphsage";

struct sage_replica {
  troupe_torch_sage_params params{};
  nn::group_ptr group;
  nn::sage_net net{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
};

/// The callback's minibatch as sage_batch: hops and labels copied, the
/// feature rows not (the callback's buffers live until its next call, and
/// sage_epoch and sage_evaluate are done with a minibatch before they ask
/// for the next; the rows need no gradient, so no graph keeps them).
nn::sage_sampler sampler_of(const troupe_torch_sage_sampler& s) {
  return [s](const std::vector<uint32_t>& seeds, uint64_t round) {
    troupe_torch_sage_batch b{};
    char err[1024] = {0};
    if (s.sample(s.ctx, seeds.data(), seeds.size(), round, &b, err,
                 sizeof err) != 0)
      throw std::runtime_error(err[0] ? err : "the sampler failed");
    std::vector<nn::sage_hop> hops(2);
    for (int h = 0; h < 2; ++h) {
      auto& hop = hops[static_cast<size_t>(h)];
      auto n = b.frontier_size[h];
      hop.frontier.assign(b.frontier[h], b.frontier[h] + n);
      hop.offsets.assign(b.offsets[h], b.offsets[h] + n + 1);
      hop.neighbours.assign(b.neighbours[h], b.neighbours[h] + hop.offsets[n]);
      for (auto v : hop.frontier)
        if (v >= b.rows)
          throw std::invalid_argument("the sampler's hop " + std::to_string(h) +
                                      " names row " + std::to_string(v) +
                                      " of " + std::to_string(b.rows));
    }
    auto x = torch::from_blob(
        const_cast<float*>(b.x),
        {static_cast<int64_t>(b.rows), static_cast<int64_t>(b.dims)},
        torch::kFloat32);
    std::vector<uint32_t> labels(b.labels, b.labels + b.rows);
    return nn::sage_batch{std::move(hops), std::move(x), std::move(labels)};
  };
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) void*
troupe_torch_sage_create(const troupe_torch_sage_params* p, void* group,
                         char* err, size_t err_size) {
  return guarded(err, err_size, static_cast<void*>(nullptr), [&]() -> void* {
    if (p->inputs < 1 || p->hidden < 1 || p->classes < 2)
      throw std::invalid_argument(
          "a GraphSAGE net needs inputs and hidden >= 1 and classes >= 2");
    use_threads(p->threads);
    auto r = std::make_unique<sage_replica>();
    r->params = *p;
    if (group) r->group = static_cast<nn::group_box*>(group)->pg;
    r->net = nn::sage_net(p->inputs, p->hidden, p->classes);
    // drawn from the seed alone (torch's Linear init, a generator of our
    // own): every replica starts as the same net whatever else the
    // process draws
    auto gen = at::make_generator<at::CPUGeneratorImpl>(p->seed);
    {
      torch::NoGradGuard off;
      for (auto* l : {&r->net->layer1, &r->net->layer2}) {
        auto bound = 1.0 / std::sqrt(static_cast<double>((*l)->weight.size(1)));
        (*l)->weight.uniform_(-bound, bound, gen);
        (*l)->bias.uniform_(-bound, bound, gen);
      }
    }
    r->optimizer = std::make_unique<torch::optim::AdamW>(
        r->net->parameters(),
        torch::optim::AdamWOptions(p->lr).weight_decay(p->weight_decay));
    return r.release();
  });
}

__attribute__((visibility("default"))) int troupe_torch_sage_fit_epoch(
    void* handle, const uint32_t* train, size_t count, uint32_t batch,
    uint64_t order_seed, const troupe_torch_sage_sampler* sampler, double* loss,
    double* seconds, char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& r = *static_cast<sage_replica*>(handle);
    use_threads(r.params.threads);
    std::vector<uint32_t> nodes(train, train + count);
    nn::sage_epoch_seconds spent;
    *loss = nn::sage_epoch(r.net, *r.optimizer, torch::Tensor{}, {}, nodes,
                           sampler_of(*sampler), batch, order_seed, r.group,
                           &spent);
    if (seconds) {
      seconds[0] = spent.sample;
      seconds[1] = spent.compute;
      seconds[2] = spent.comm;
    }
    return 0;
  });
}

__attribute__((visibility("default"))) int troupe_torch_sage_evaluate(
    void* handle, const uint32_t* nodes, size_t count, uint32_t batch,
    const troupe_torch_sage_sampler* sampler, double* logloss, double* accuracy,
    char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& r = *static_cast<sage_replica*>(handle);
    use_threads(r.params.threads);
    std::vector<uint32_t> v(nodes, nodes + count);
    auto s = nn::sage_evaluate(r.net, torch::Tensor{}, {}, v,
                               sampler_of(*sampler), batch);
    *logloss = s.logloss;
    *accuracy = s.accuracy;
    return 0;
  });
}

__attribute__((visibility("default"))) int
troupe_torch_sage_save(const void* handle, void* sink,
                       void (*write)(void* sink, const void* data, size_t size),
                       char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& r = *static_cast<sage_replica*>(const_cast<void*>(handle));
    auto& p = r.params;
    save_part(
        format_name,
        {{"inputs", p.inputs}, {"hidden", p.hidden}, {"classes", p.classes}},
        r.net->parameters(), *r.optimizer, sink, write);
    return 0;
  });
}

__attribute__((visibility("default"))) int
troupe_torch_sage_load(void* handle, const void* bytes, size_t size, char* err,
                       size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& r = *static_cast<sage_replica*>(handle);
    auto& p = r.params;
    load_part(
        format_name, "a GraphSAGE net's state",
        {{"inputs", p.inputs}, {"hidden", p.hidden}, {"classes", p.classes}},
        r.net->parameters(), *r.optimizer, bytes, size);
    return 0;
  });
}

__attribute__((visibility("default"))) void troupe_torch_sage_free(void* h) {
  delete static_cast<sage_replica*>(h);
}

} // extern "C"
