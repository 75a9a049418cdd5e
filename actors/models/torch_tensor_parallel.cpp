#include "actors/models/torch_tensor_parallel.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/custom_function.h>

namespace troupe::models::torch_nn {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

group_ptr group_of(AutogradContext* ctx) {
  return c10::static_intrusive_pointer_cast<c10d::ProcessGroup>(
      ctx->saved_data["group"].toCapsule());
}

void keep_group(AutogradContext* ctx, const group_ptr& group) {
  ctx->saved_data["group"] = at::IValue::make_capsule(group);
}

/// Reduces `t` over the group in place.
void all_reduce(const group_ptr& group, torch::Tensor& t,
                c10d::ReduceOp op = c10d::ReduceOp::SUM) {
  if (group->getSize() == 1) return;
  std::vector<at::Tensor> v{t};
  c10d::AllreduceOptions o;
  o.reduceOp = op;
  group->allreduce(v, o)->wait();
}

struct copy_fn : torch::autograd::Function<copy_fn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               group_ptr group) {
    keep_group(ctx, group);
    return x;
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    auto grad = g[0].contiguous().clone();
    all_reduce(group_of(ctx), grad);
    return {grad, torch::Tensor{}};
  }
};

struct reduce_fn : torch::autograd::Function<reduce_fn> {
  static torch::Tensor forward(AutogradContext*, const torch::Tensor& x,
                               group_ptr group) {
    auto sum = x.contiguous().clone();
    all_reduce(group, sum);
    return sum;
  }
  static variable_list backward(AutogradContext*, variable_list g) {
    return {g[0], torch::Tensor{}};
  }
};

struct gather_fn : torch::autograd::Function<gather_fn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               int64_t total, group_ptr group) {
    auto ranks = group->getSize();
    int64_t widest = 0;
    for (int r = 0; r < ranks; ++r)
      widest = std::max(widest, owned_part(total, r, ranks).size());
    auto rows = x.size(0);
    // gloo gathers equal sizes: every part padded to the widest
    auto padded = torch::zeros({rows, widest}, x.options());
    padded.narrow(1, 0, x.size(1)).copy_(x);
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < ranks; ++r)
      out[0].push_back(torch::empty({rows, widest}, x.options()));
    std::vector<at::Tensor> in{padded};
    group->allgather(out, in)->wait();
    std::vector<torch::Tensor> parts;
    for (int r = 0; r < ranks; ++r)
      parts.push_back(
          out[0][r].narrow(1, 0, owned_part(total, r, ranks).size()));
    auto mine = owned_part(total, group->getRank(), ranks);
    ctx->saved_data["begin"] = mine.begin;
    ctx->saved_data["size"] = mine.size();
    return torch::cat(parts, 1);
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    auto begin = ctx->saved_data["begin"].toInt();
    auto size = ctx->saved_data["size"].toInt();
    return {g[0].narrow(1, begin, size).contiguous(), torch::Tensor{},
            torch::Tensor{}};
  }
};

/// The distributed softmax cross-entropy; saves the softmax of its own
/// classes for the backward pass, the size of its logits.
struct cross_entropy_fn : torch::autograd::Function<cross_entropy_fn> {
  static torch::Tensor forward(AutogradContext* ctx,
                               const torch::Tensor& logits,
                               const torch::Tensor& targets,
                               int64_t first_class, group_ptr group) {
    auto rows = logits.size(0), classes = logits.size(1);
    auto t = targets.to(torch::kLong);
    // the rows' max over every worker's classes
    auto max = std::get<0>(logits.max(1)).contiguous();
    all_reduce(group, max, c10d::ReduceOp::MAX);
    auto e = (logits - max.unsqueeze(1)).exp_(); // in (0, 1]
    // one all-reduce for the sum of exponentials and the target's logit
    auto local = t - first_class;
    auto mine = (local >= 0).logical_and(local < classes);
    auto idx = local.clamp(0, std::max<int64_t>(classes - 1, 0));
    auto target_logit =
        classes > 0 ? logits.gather(1, idx.unsqueeze(1)).squeeze(1) - max
                    : torch::zeros({rows}, logits.options());
    auto sums =
        torch::stack({e.sum(1), torch::where(mine, target_logit,
                                             torch::zeros_like(target_logit))});
    all_reduce(group, sums);
    auto total = sums[0], z = sums[1];
    auto loss = (total.log() - z).mean();
    e.div_(total.unsqueeze(1)); // this worker's softmax
    ctx->save_for_backward({e, idx, mine});
    return loss;
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    auto saved = ctx->get_saved_variables();
    auto grad = saved[0].clone();
    auto idx = saved[1], mine = saved[2];
    auto rows = grad.size(0);
    if (grad.size(1) > 0)
      grad.scatter_add_(1, idx.unsqueeze(1),
                        -mine.to(grad.scalar_type()).unsqueeze(1));
    grad.mul_(g[0] / static_cast<double>(rows));
    return {grad, torch::Tensor{}, torch::Tensor{}, torch::Tensor{}};
  }
};

/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (torch's Linear) from a generator
/// seeded by `seed` and the first index of the worker's part: parts differ,
/// and a run is repeatable. load_part() sets them from an unsplit layer.
void draw(torch::Tensor& t, int64_t fan_in, uint64_t seed, int64_t first) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(
      seed * 1000003ULL + static_cast<uint64_t>(first));
  auto bound =
      1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(fan_in, 1)));
  t.uniform_(-bound, bound, gen);
}

} // namespace

span owned_part(int64_t total, int rank, int ranks) {
  ranks = std::max(ranks, 1);
  return {total * rank / ranks, total * (rank + 1) / ranks};
}

torch::Tensor copy_to_group(const torch::Tensor& x, const group_ptr& group) {
  return copy_fn::apply(x, group);
}

torch::Tensor reduce_from_group(const torch::Tensor& x,
                                const group_ptr& group) {
  return reduce_fn::apply(x, group);
}

torch::Tensor gather_from_group(const torch::Tensor& x, int64_t total,
                                const group_ptr& group) {
  return gather_fn::apply(x, total, group);
}

column_parallel_linearImpl::column_parallel_linearImpl(int64_t in, int64_t out,
                                                       group_ptr group,
                                                       bool gather,
                                                       uint64_t seed)
    : group_(std::move(group)), out_(out), gather_(gather),
      part_(owned_part(out, group_->getRank(), group_->getSize())) {
  weight = register_parameter("weight", torch::empty({part_.size(), in}));
  bias = register_parameter("bias", torch::empty({part_.size()}));
  draw(weight, in, seed, part_.begin);
  draw(bias, in, seed + 1, part_.begin);
}

torch::Tensor column_parallel_linearImpl::forward(const torch::Tensor& x) {
  auto y =
      torch::nn::functional::linear(copy_to_group(x, group_), weight, bias);
  return gather_ ? gather_from_group(y, out_, group_) : y;
}

void column_parallel_linearImpl::load_part(const torch::Tensor& w,
                                           const torch::Tensor& b) {
  torch::NoGradGuard no_grad;
  weight.copy_(w.narrow(0, part_.begin, part_.size()));
  bias.copy_(b.narrow(0, part_.begin, part_.size()));
}

row_parallel_linearImpl::row_parallel_linearImpl(int64_t in, int64_t out,
                                                 group_ptr group, uint64_t seed)
    : group_(std::move(group)),
      part_(owned_part(in, group_->getRank(), group_->getSize())) {
  weight = register_parameter("weight", torch::empty({out, part_.size()}));
  bias = register_parameter("bias", torch::empty({out}));
  draw(weight, in, seed, part_.begin);
  draw(bias, in, seed + 1, 0); // the same on every worker
}

torch::Tensor row_parallel_linearImpl::forward(const torch::Tensor& x) {
  return reduce_from_group(x.matmul(weight.t()), group_) + bias;
}

void row_parallel_linearImpl::load_part(const torch::Tensor& w,
                                        const torch::Tensor& b) {
  torch::NoGradGuard no_grad;
  weight.copy_(w.narrow(1, part_.begin, part_.size()));
  bias.copy_(b);
}

parallel_mlp_blockImpl::parallel_mlp_blockImpl(int64_t in, int64_t hidden,
                                               int64_t out, group_ptr group,
                                               uint64_t seed) {
  up = register_module("up",
                       column_parallel_linear(in, hidden, group, false, seed));
  down = register_module("down",
                         row_parallel_linear(hidden, out, group, seed + 2));
}

torch::Tensor parallel_mlp_blockImpl::forward(const torch::Tensor& x) {
  return down->forward(torch::relu(up->forward(x)));
}

torch::Tensor sharded_cross_entropy(const torch::Tensor& logits,
                                    const torch::Tensor& targets,
                                    int64_t first_class,
                                    const group_ptr& group) {
  return cross_entropy_fn::apply(logits, targets, first_class, group);
}

sharded_classifierImpl::sharded_classifierImpl(int64_t features,
                                               int64_t classes, group_ptr group,
                                               uint64_t seed)
    : group_(std::move(group)),
      part_(owned_part(classes, group_->getRank(), group_->getSize())) {
  weight = register_parameter("weight", torch::empty({part_.size(), features}));
  draw(weight, features, seed, part_.begin);
}

torch::Tensor sharded_classifierImpl::forward(const torch::Tensor& h) {
  return copy_to_group(h, group_).matmul(weight.t());
}

torch::Tensor sharded_classifierImpl::loss(const torch::Tensor& h,
                                           const torch::Tensor& targets) {
  return sharded_cross_entropy(forward(h), targets, part_.begin, group_);
}

void sharded_classifierImpl::load_part(const torch::Tensor& w) {
  torch::NoGradGuard no_grad;
  weight.copy_(w.narrow(0, part_.begin, part_.size()));
}

} // namespace troupe::models::torch_nn
