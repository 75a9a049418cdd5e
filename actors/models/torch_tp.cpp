// The torch plugin's tensor-parallel nets (servable.hpp's troupe_torch_tp_*):
// a classifier built of torch_tensor_parallel.hpp's split layers over a
// group joined through troupe_torch_group_join, each layer's rows drawn
// from the seed and the row's index so that any split starts from the same
// net, trained by AdamW on the same rows on every worker.

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#define TROUPE_TORCH_PLUGIN_ABI_ONLY
#include "actors/models/servable.hpp"
#include "actors/models/torch_group.hpp"
#include "actors/models/torch_guard.hpp"
#include "actors/models/torch_state.hpp"
#include "actors/models/torch_tensor_parallel.hpp"

namespace {

using namespace troupe::models::torch_plugin;
namespace nn = troupe::models::torch_nn;

constexpr const char* format_name = "troupe-tensor-parallel";

/// Row r of a layer [rows, fan_in]: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
/// (torch's Linear) from a generator of the seed and r alone, then its
/// bias entry.
std::pair<torch::Tensor, float> draw_row(uint64_t seed, int64_t r,
                                         int64_t fan_in) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(
      seed * 1000003ULL + static_cast<uint64_t>(r) + 1);
  auto bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  auto row = torch::empty({fan_in});
  row.uniform_(-bound, bound, gen);
  auto b = torch::empty({1});
  b.uniform_(-bound, bound, gen);
  return {row, b.item<float>()};
}

/// A layer split by output rows (column-parallel, the classifier):
/// weight [part, in], bias [part] or none.
void draw_rows(torch::Tensor& weight, torch::Tensor* bias, nn::span part,
               uint64_t seed) {
  torch::NoGradGuard off;
  auto in = weight.size(1);
  for (int64_t r = part.begin; r < part.end; ++r) {
    auto [row, b] = draw_row(seed, r, in);
    weight[r - part.begin].copy_(row);
    if (bias) (*bias)[r - part.begin].fill_(b);
  }
}

/// A layer split by input columns (row-parallel): weight [out, part],
/// bias [out] whole.
void draw_columns(torch::Tensor& weight, torch::Tensor& bias, nn::span part,
                  int64_t in, uint64_t seed) {
  torch::NoGradGuard off;
  for (int64_t r = 0; r < weight.size(0); ++r) {
    auto [row, b] = draw_row(seed, r, in);
    weight[r].copy_(row.narrow(0, part.begin, part.size()));
    bias[r].fill_(b);
  }
}

struct tp_net {
  troupe_torch_tp_params params{};
  nn::group_ptr group;
  int rank = 0, world = 1;
  nn::column_parallel_linear input{nullptr};
  std::vector<nn::parallel_mlp_block> blocks;
  nn::sharded_classifier head{nullptr};
  std::vector<torch::Tensor> all;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  torch::Tensor center, scale;

  torch::Tensor features(torch::Tensor x) {
    if (center.defined()) x = (x - center) / scale;
    auto h = torch::relu(input->forward(x));
    for (auto& b : blocks)
      h = h + b->forward(h);
    return h;
  }
};

torch::Tensor rows_of(const float* p, size_t rows, int64_t cols) {
  return torch::from_blob(const_cast<float*>(p),
                          {static_cast<int64_t>(rows), cols}, torch::kFloat32);
}

torch::Tensor labels_of(const float* y, size_t rows) {
  return torch::from_blob(const_cast<float*>(y), {static_cast<int64_t>(rows)},
                          torch::kFloat32)
      .to(torch::kLong);
}

/// Every worker's largest value of each row, and the lowest class holding
/// it: its predicted class, found without gathering the logits.
torch::Tensor predicted(tp_net& n, const torch::Tensor& logits) {
  auto [m, a] = logits.max(1);
  auto best = m.clone();
  std::vector<at::Tensor> v{best};
  n.group->allreduce(v, c10d::AllreduceOptions{c10d::ReduceOp::MAX})->wait();
  auto first = n.head->part().begin;
  auto total = static_cast<double>(n.params.classes);
  // the lowest class among the workers holding the maximum: -index summed
  // by MAX
  auto mine = torch::where(m == best, -(a.to(torch::kDouble) + first),
                           torch::full_like(m, -total, torch::kDouble));
  std::vector<at::Tensor> w{mine};
  n.group->allreduce(w, c10d::AllreduceOptions{c10d::ReduceOp::MAX})->wait();
  return (-mine).to(torch::kLong);
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) void*
troupe_torch_tp_create(const troupe_torch_tp_params* p, void* group, char* err,
                       size_t err_size) {
  return guarded(err, err_size, static_cast<void*>(nullptr), [&]() -> void* {
    if (!group)
      throw std::invalid_argument("a tensor-parallel net needs a group");
    if (p->inputs < 1 || p->classes < 2 || p->width < 1 || p->hidden < 1 ||
        p->blocks < 0)
      throw std::invalid_argument(
          "a tensor-parallel net needs inputs, width and hidden >= 1 and "
          "classes >= 2");
    auto* g = static_cast<nn::group_box*>(group);
    if (p->classes < g->world || p->hidden < g->world || p->width < g->world)
      throw std::invalid_argument(
          "a net of " + std::to_string(p->classes) + " classes, width " +
          std::to_string(p->width) + " and hidden " +
          std::to_string(p->hidden) + " cannot be split over " +
          std::to_string(g->world) + " workers");
    use_threads(p->threads);
    auto n = std::make_unique<tp_net>();
    n->params = *p;
    n->params.center = nullptr;
    n->params.scale = nullptr;
    n->group = g->pg;
    n->rank = g->rank;
    n->world = g->world;
    auto seed = p->seed;
    n->input = nn::column_parallel_linear(p->inputs, p->width, n->group, true);
    draw_rows(n->input->weight, &n->input->bias, n->input->part(), seed);
    for (int32_t b = 0; b < p->blocks; ++b) {
      nn::parallel_mlp_block block(p->width, p->hidden, p->width, n->group);
      auto s = seed + 10 * static_cast<uint64_t>(b + 1);
      draw_rows(block->up->weight, &block->up->bias, block->up->part(), s);
      draw_columns(block->down->weight, block->down->bias, block->down->part(),
                   p->hidden, s + 5);
      n->blocks.push_back(block);
    }
    n->head = nn::sharded_classifier(p->width, p->classes, n->group);
    draw_rows(n->head->weight, nullptr, n->head->part(), seed + 7);
    auto add = [&](torch::nn::Module& m) {
      for (auto& t : m.parameters())
        n->all.push_back(t);
    };
    add(*n->input);
    for (auto& b : n->blocks)
      add(*b);
    add(*n->head);
    if (p->center && p->scale) {
      n->center = torch::from_blob(const_cast<float*>(p->center), {p->inputs},
                                   torch::kFloat32)
                      .clone();
      n->scale = torch::from_blob(const_cast<float*>(p->scale), {p->inputs},
                                  torch::kFloat32)
                     .clone()
                     .clamp_min(1e-6f);
    }
    n->optimizer = std::make_unique<torch::optim::AdamW>(
        n->all,
        torch::optim::AdamWOptions(p->lr).weight_decay(p->weight_decay));
    return n.release();
  });
}

__attribute__((visibility("default"))) int
troupe_torch_tp_fit_epoch(void* handle, const float* x, const float* y,
                          size_t rows, size_t batch, size_t steps,
                          uint64_t order_seed, double* loss, char* err,
                          size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& n = *static_cast<tp_net*>(handle);
    use_threads(n.params.threads);
    if (batch == 0 || steps * batch > rows)
      throw std::invalid_argument(std::to_string(rows) + " rows make no " +
                                  std::to_string(steps) + " minibatches of " +
                                  std::to_string(batch));
    auto X = rows_of(x, rows, n.params.inputs);
    auto Y = labels_of(y, rows);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(order_seed);
    auto order = torch::randperm(static_cast<int64_t>(rows), gen);
    double sum = 0;
    for (size_t s = 0; s < steps; ++s) {
      auto idx = order.narrow(0, static_cast<int64_t>(s * batch),
                              static_cast<int64_t>(batch));
      auto l = n.head->loss(n.features(X.index_select(0, idx)),
                            Y.index_select(0, idx));
      n.optimizer->zero_grad();
      l.backward();
      n.optimizer->step();
      sum += l.item<double>();
    }
    if (loss) *loss = sum / static_cast<double>(steps);
    return 0;
  });
}

__attribute__((visibility("default"))) int
troupe_torch_tp_evaluate(void* handle, const float* x, const float* y,
                         size_t rows, double* logloss, double* accuracy,
                         char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& n = *static_cast<tp_net*>(handle);
    use_threads(n.params.threads);
    torch::NoGradGuard off;
    auto X = rows_of(x, rows, n.params.inputs);
    auto Y = labels_of(y, rows);
    double loss = 0, right = 0;
    constexpr int64_t chunk = 1024;
    for (int64_t r = 0; r < static_cast<int64_t>(rows); r += chunk) {
      auto k = std::min<int64_t>(chunk, static_cast<int64_t>(rows) - r);
      auto h = n.features(X.narrow(0, r, k));
      auto logits = n.head->forward(h);
      auto yk = Y.narrow(0, r, k);
      loss +=
          nn::sharded_cross_entropy(logits, yk, n.head->part().begin, n.group)
              .item<double>() *
          static_cast<double>(k);
      right += (predicted(n, logits) == yk).sum().item<double>();
    }
    if (logloss) *logloss = rows ? loss / static_cast<double>(rows) : 0;
    if (accuracy) *accuracy = rows ? right / static_cast<double>(rows) : 0;
    return 0;
  });
}

__attribute__((visibility("default"))) int
troupe_torch_tp_save(const void* handle, void* sink,
                     void (*write)(void* sink, const void* data, size_t size),
                     char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& n = *static_cast<tp_net*>(const_cast<void*>(handle));
    save_part(format_name, {{"rank", n.rank}, {"world", n.world}}, n.all,
              *n.optimizer, sink, write);
    return 0;
  });
}

__attribute__((visibility("default"))) int
troupe_torch_tp_load(void* handle, const void* bytes, size_t size, char* err,
                     size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& n = *static_cast<tp_net*>(handle);
    load_part(format_name, "a tensor-parallel worker's state",
              {{"rank", n.rank}, {"world", n.world}}, n.all, *n.optimizer,
              bytes, size);
    return 0;
  });
}

__attribute__((visibility("default"))) size_t
troupe_torch_tp_parameter_bytes(const void* handle) {
  auto& n = *static_cast<const tp_net*>(handle);
  size_t out = 0;
  for (auto& t : n.all)
    out += static_cast<size_t>(t.numel()) * t.element_size();
  return out;
}

__attribute__((visibility("default"))) void troupe_torch_tp_free(void* h) {
  delete static_cast<tp_net*>(h);
}

} // extern "C"
