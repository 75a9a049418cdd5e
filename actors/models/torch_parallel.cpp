// The data-parallel part of the plugin libtroupe_torch.so: the
// troupe_torch_store_*, _group_* and _mlp_fit_group functions declared at
// the top of servable.hpp. The collective is c10d's ProcessGroupGloo from
// Debian's LibTorch; its rendezvous is c10d's TCPStore, which the job's
// coordinator serves. Gradients are averaged as DDP does it: the
// parameters are cut into buckets in the order backward produces their
// gradients (last layer first), a hook on each parameter copies its
// gradient into its bucket, and a full bucket's allreduce starts at once,
// while backward goes on with the layers below.

#define TROUPE_TORCH_PLUGIN_ABI_ONLY
#include "actors/models/servable.hpp"

#include "actors/models/torch_group.hpp"
#include "actors/models/torch_guard.hpp"
#include "actors/models/torch_mlp_state.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace {

using troupe::models::torch_mlp::make_gen;
using troupe::models::torch_mlp::mix;
using troupe::models::torch_mlp::mlp;
using troupe::models::torch_nn::column_sums;
using troupe::models::torch_nn::group_box;
using troupe::models::torch_nn::join_gloo_group;
using troupe::models::torch_nn::serve_store;
using troupe::models::torch_plugin::guarded;
using troupe::models::torch_plugin::put_error;
using troupe::models::torch_plugin::use_threads;

struct store_box {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

/// Sums `t` over the group in place (nothing alone).
void sum_over(group_box* g, torch::Tensor& t) {
  if (!g || g->world == 1) return;
  std::vector<at::Tensor> v{t};
  g->pg->allreduce(v)->wait();
}

/// The scaling of every worker's rows together, as fit_scaling computes it
/// over one process's rows (two passes, float64).
void fit_scaling_over(mlp& m, group_box* g, const torch::Tensor& X,
                      const torch::Tensor& Y) {
  if (!g || g->world == 1) return m.net->fit_scaling(X, Y);
  torch::NoGradGuard no_grad;
  auto fix = [](torch::Tensor s) {
    return torch::where(s > 1e-12, s, torch::ones_like(s));
  };
  // a block of rows at a time (column_sums): no float64 copy of the rows
  auto yc = Y.reshape({-1, 1});
  auto cols = X.size(1);
  // pass 1: sums and counts
  auto s1 = torch::cat(
      {column_sums(X), column_sums(yc),
       torch::full({1}, static_cast<double>(X.size(0)), torch::kFloat64)});
  sum_over(g, s1);
  auto n = s1[cols + 1];
  auto xm = s1.slice(0, 0, cols) / n;
  auto ym = s1[cols] / n;
  // pass 2: squared deviations
  auto s2 = torch::cat({column_sums(X, xm), column_sums(yc, ym.reshape({1}))});
  sum_over(g, s2);
  auto xs = fix((s2.slice(0, 0, cols) / n).sqrt());
  auto regression = m.task == 2;
  auto y_mean = regression ? ym : torch::zeros({}, torch::kFloat64);
  auto y_std = regression ? fix((s2[cols] / n).sqrt().reshape({1}))
                          : torch::ones({1}, torch::kFloat64);
  m.net->set_scaling(xm, xs, y_mean, y_std);
}

/// Gradient buckets: parameters in the order backward produces their
/// gradients, each bucket's gradients flattened into one tensor that is
/// allreduced as soon as all of them are in.
class bucketed_allreduce {
public:
  bucketed_allreduce(group_box* g, std::vector<torch::Tensor> params,
                     size_t bucket_bytes)
      : group_(g) {
    std::reverse(params.begin(), params.end());
    size_t bytes = 0;
    for (auto& p : params) {
      if (buckets_.empty() || bytes >= bucket_bytes) {
        buckets_.emplace_back();
        bytes = 0;
      }
      auto& b = buckets_.back();
      b.params.push_back(p);
      b.offsets.push_back(b.size);
      b.size += p.numel();
      bytes += static_cast<size_t>(p.numel()) * sizeof(float);
    }
    for (size_t k = 0; k < buckets_.size(); ++k) {
      auto& b = buckets_[k];
      b.flat = torch::zeros({b.size}, torch::kFloat32);
      for (size_t i = 0; i < b.params.size(); ++i) {
        auto p = b.params[i];
        hooks_.emplace_back(p, p.register_hook([this, k, i](torch::Tensor g) {
          arrived(k, i, g);
        }));
      }
    }
  }

  bucketed_allreduce(const bucketed_allreduce&) = delete;
  bucketed_allreduce& operator=(const bucketed_allreduce&) = delete;

  ~bucketed_allreduce() {
    for (auto& [p, h] : hooks_)
      p.remove_hook(h);
  }

  /// Before a step's backward.
  void reset() {
    for (auto& b : buckets_) {
      b.ready = 0;
      b.work.reset();
    }
  }

  /// After backward: waits for every bucket and writes the summed
  /// gradients into the parameters' .grad.
  void finish() {
    for (size_t k = 0; k < buckets_.size(); ++k)
      if (!buckets_[k].work && group_) launch(k); // a bucket without grads
    torch::NoGradGuard no_grad;
    for (auto& b : buckets_) {
      if (b.work) b.work->wait();
      for (size_t i = 0; i < b.params.size(); ++i) {
        auto& p = b.params[i];
        auto g = b.flat.slice(0, b.offsets[i], b.offsets[i] + p.numel())
                     .view(p.sizes());
        if (p.mutable_grad().defined())
          p.mutable_grad().copy_(g);
        else
          p.mutable_grad() = g.clone();
      }
    }
  }

private:
  struct bucket {
    std::vector<torch::Tensor> params;
    std::vector<int64_t> offsets;
    int64_t size = 0;
    torch::Tensor flat;
    size_t ready = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };

  void arrived(size_t k, size_t i, const torch::Tensor& grad) {
    auto& b = buckets_[k];
    {
      torch::NoGradGuard no_grad;
      b.flat.slice(0, b.offsets[i], b.offsets[i] + grad.numel())
          .copy_(grad.reshape({-1}));
    }
    if (++b.ready == b.params.size() && group_) launch(k);
  }

  void launch(size_t k) {
    std::vector<at::Tensor> v{buckets_[k].flat};
    buckets_[k].work = group_->pg->allreduce(v);
  }

  group_box* group_;
  std::vector<bucket> buckets_;
  std::vector<std::pair<torch::Tensor, unsigned>> hooks_;
};

} // namespace

extern "C" {

__attribute__((visibility("default"))) void*
troupe_torch_store_serve(const char* host, int world, double timeout_s,
                         uint16_t* port, char* err, size_t err_size) {
  return guarded(err, err_size, static_cast<void*>(nullptr), [&]() -> void* {
    auto box = std::make_unique<store_box>();
    box->store = serve_store(host, world, timeout_s);
    *port = box->store->getPort();
    return box.release();
  });
}

__attribute__((visibility("default"))) void
troupe_torch_store_free(void* store) {
  delete static_cast<store_box*>(store);
}

__attribute__((visibility("default"))) void*
troupe_torch_group_join(const char* store_host, uint16_t store_port,
                        const char* prefix, int rank, int world,
                        const char* self_host, double timeout_s, char* err,
                        size_t err_size) {
  return guarded(err, err_size, static_cast<void*>(nullptr), [&]() -> void* {
    if (world < 1 || rank < 0 || rank >= world) {
      put_error(err, err_size,
                "rank " + std::to_string(rank) + " of " +
                    std::to_string(world) + " workers");
      return nullptr;
    }
    auto box = std::make_unique<group_box>();
    box->pg = join_gloo_group(store_host, store_port, prefix, rank, world,
                              self_host, timeout_s);
    box->rank = rank;
    box->world = world;
    return box.release();
  });
}

__attribute__((visibility("default"))) void
troupe_torch_group_free(void* group) {
  delete static_cast<group_box*>(group);
}

__attribute__((visibility("default"))) int troupe_torch_mlp_fit_group(
    void* handle, void* group, const float* x, const float* y, size_t rows,
    size_t cols, size_t local_batch, size_t global_batch, size_t steps,
    int shuffle, size_t bucket_bytes, int threads, double* loss,
    double* seconds, char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& m = *static_cast<mlp*>(handle);
    auto* g = static_cast<group_box*>(group);
    if (cols != m.inputs) {
      put_error(err, err_size,
                std::string{m.script ? "the module takes " : "the MLP takes "} +
                    std::to_string(m.inputs) + " columns, not " +
                    std::to_string(cols));
      return -1;
    }
    if (local_batch == 0 || global_batch < local_batch ||
        steps * local_batch > rows) {
      put_error(err, err_size,
                std::to_string(steps) + " steps of " +
                    std::to_string(local_batch) + " rows (of a global batch " +
                    "of " + std::to_string(global_batch) + ") need more than " +
                    "this worker's " + std::to_string(rows) + " rows");
      return -1;
    }
    use_threads(threads);
    auto X = torch::from_blob(
        const_cast<float*>(x),
        {static_cast<int64_t>(rows), static_cast<int64_t>(cols)},
        torch::kFloat32);
    auto Y = torch::from_blob(const_cast<float*>(y),
                              {static_cast<int64_t>(rows)}, torch::kFloat32);
    // the epoch's phases: data, compute, comm (the caller's `seconds`)
    using clock = std::chrono::steady_clock;
    double phase[3] = {0, 0, 0};
    auto mark = clock::now();
    auto lap = [&](int into) {
      auto now = clock::now();
      phase[into] += std::chrono::duration<double>(now - mark).count();
      mark = now;
    };
    // troupe's MLP learns its scaling; a user's module takes the rows as
    // they are
    if (m.script)
      m.script->module.train();
    else if (m.epochs == 0)
      fit_scaling_over(m, g, X, Y);
    auto rank = static_cast<uint64_t>(g ? g->rank : 0);
    auto gen = make_gen(mix(m.seed ^ mix(m.epochs + 1) ^ mix(rank + 17)));
    auto n = static_cast<int64_t>(rows);
    auto order = shuffle ? torch::randperm(n, gen, torch::kLong)
                         : torch::arange(n, torch::kLong);
    lap(0);
    auto lb = static_cast<int64_t>(local_batch);
    auto weight =
        static_cast<double>(local_batch) / static_cast<double>(global_batch);
    // alone, the gradients are the group's already: no buckets, no hooks
    std::optional<bucketed_allreduce> reduce;
    if (g && g->world > 1)
      reduce.emplace(g, m.parameters(), std::max<size_t>(bucket_bytes, 1));
    double total = 0;
    for (size_t s = 0; s < steps; ++s) {
      auto idx = order.slice(0, static_cast<int64_t>(s) * lb,
                             static_cast<int64_t>(s + 1) * lb);
      auto xb = X.index_select(0, idx);
      auto yb = Y.index_select(0, idx);
      lap(0);
      m.opt->zero_grad();
      if (reduce) reduce->reset();
      auto l = (m.script ? m.script->loss_of(m.script->forward(xb), yb)
                         : m.net->loss(m.net->forward(xb, gen), yb)) *
               weight;
      l.backward();
      lap(1);
      if (reduce) reduce->finish();
      lap(2);
      m.opt->step();
      total += l.item<double>();
      lap(1);
    }
    auto sum = torch::full({1}, total, torch::kFloat64);
    sum_over(g, sum);
    lap(2);
    if (seconds) std::copy(phase, phase + 3, seconds);
    auto mean = steps ? sum.item<double>() / static_cast<double>(steps) : 0.0;
    if (!std::isfinite(mean)) {
      put_error(err, err_size,
                "training diverged in epoch " + std::to_string(m.epochs + 1) +
                    " (the loss is " + std::to_string(mean) +
                    "); a smaller lr may help");
      return -1;
    }
    if (loss) *loss = mean;
    ++m.epochs;
    return 0;
  });
}

__attribute__((visibility("default"))) int
troupe_torch_mlp_weights(const void* handle, float* out, size_t out_size,
                         size_t* count, char* err, size_t err_size) {
  return guarded(err, err_size, -1, [&]() -> int {
    auto& m = *static_cast<mlp*>(const_cast<void*>(handle));
    size_t n = 0;
    auto params = m.parameters();
    for (auto& p : params)
      n += static_cast<size_t>(p.numel());
    *count = n;
    if (out_size < n) {
      put_error(err, err_size,
                "the MLP has " + std::to_string(n) + " weights, the buffer " +
                    "holds " + std::to_string(out_size));
      return -1;
    }
    torch::NoGradGuard no_grad;
    for (auto& p : params) {
      auto c = p.detach().contiguous();
      std::memcpy(out, c.data_ptr<float>(),
                  static_cast<size_t>(c.numel()) * sizeof(float));
      out += c.numel();
    }
    return 0;
  });
}

} // extern "C"
