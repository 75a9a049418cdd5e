#pragma once

// Tensor (intra-layer) parallelism over a c10d group (gloo, the engine of
// data parallelism): linear layers split over N workers by output columns
// or input rows, the MLP block made of one of each (one all-reduce forward,
// one backward), and a classification layer split by classes whose softmax
// cross-entropy is computed without gathering the logits: each worker
// all-reduces the rows' max and sum of exponentials and the target's logit,
// so no worker ever holds more than its own classes' logits. Every worker
// runs the same code on the same (replicated) input rows. Included by torch
// code only.

#include <cstdint>

#include <torch/torch.h>

#include "actors/models/torch_group.hpp"

namespace troupe::models::torch_nn {

/// A contiguous part [begin, end) of something split over workers.
struct span {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

/// The part of `total` that worker `rank` of `ranks` owns: contiguous, in
/// rank order, sizes differing by at most one.
span owned_part(int64_t total, int rank, int ranks);

/// Identity forward; the gradient summed over the group backward. Put in
/// front of a split layer whose input is replicated: each worker's gradient
/// of that input covers its own part of the layer only.
torch::Tensor copy_to_group(const torch::Tensor& x, const group_ptr& group);

/// Summed over the group forward; identity backward. The output of a layer
/// split by its input rows.
torch::Tensor reduce_from_group(const torch::Tensor& x, const group_ptr& group);

/// The workers' [rows, part] tensors side by side along the last dimension
/// forward (parts as owned_part(total) gives them); this worker's columns
/// of the gradient backward.
torch::Tensor gather_from_group(const torch::Tensor& x, int64_t total,
                                const group_ptr& group);

/// A Linear layer split by output features: this worker holds rows
/// owned_part(out) of the weight and bias. The output is this worker's
/// features, or all of them with `gather`.
class column_parallel_linearImpl : public torch::nn::Module {
public:
  column_parallel_linearImpl(int64_t in, int64_t out, group_ptr group,
                             bool gather, uint64_t seed = 0);
  torch::Tensor forward(const torch::Tensor& x);
  /// Copies this worker's part of an unsplit layer's weight [out, in] and
  /// bias [out].
  void load_part(const torch::Tensor& weight, const torch::Tensor& bias);
  const span& part() const { return part_; }

  torch::Tensor weight, bias;

private:
  group_ptr group_;
  int64_t out_;
  bool gather_;
  span part_;
};
TORCH_MODULE(column_parallel_linear);

/// A Linear layer split by input features: this worker holds columns
/// owned_part(in) of the weight and reads only those features of its input
/// (the output of a column-parallel layer without gather); the partial
/// products are summed over the group and the (whole) bias added once.
class row_parallel_linearImpl : public torch::nn::Module {
public:
  row_parallel_linearImpl(int64_t in, int64_t out, group_ptr group,
                          uint64_t seed = 0);
  /// `x`: [rows, part().size()], this worker's input features.
  torch::Tensor forward(const torch::Tensor& x);
  void load_part(const torch::Tensor& weight, const torch::Tensor& bias);
  const span& part() const { return part_; }

  torch::Tensor weight, bias;

private:
  group_ptr group_;
  span part_;
};
TORCH_MODULE(row_parallel_linear);

/// An MLP block: column-parallel Linear(in, hidden), ReLU, row-parallel
/// Linear(hidden, out). Replicated input, replicated output.
class parallel_mlp_blockImpl : public torch::nn::Module {
public:
  parallel_mlp_blockImpl(int64_t in, int64_t hidden, int64_t out,
                         group_ptr group, uint64_t seed = 0);
  torch::Tensor forward(const torch::Tensor& x);

  column_parallel_linear up{nullptr};
  row_parallel_linear down{nullptr};
};
TORCH_MODULE(parallel_mlp_block);

/// Softmax cross-entropy, mean over rows, of logits split by classes:
/// `logits` [rows, classes this worker owns, starting at `first_class`],
/// `targets` [rows] global class indices. The same value on every worker;
/// the gradient flows to this worker's logits only.
torch::Tensor sharded_cross_entropy(const torch::Tensor& logits,
                                    const torch::Tensor& targets,
                                    int64_t first_class,
                                    const group_ptr& group);

/// A classification layer of `classes` x `features` split by classes
/// (ArcFace's millions of identities): this worker holds owned_part(classes)
/// of the weight ([part, features], no bias) and computes only those
/// logits.
class sharded_classifierImpl : public torch::nn::Module {
public:
  sharded_classifierImpl(int64_t features, int64_t classes, group_ptr group,
                         uint64_t seed = 0);
  /// This worker's logits of replicated features `h` [rows, features].
  torch::Tensor forward(const torch::Tensor& h);
  /// The mean cross-entropy of `h` against class indices `targets`.
  torch::Tensor loss(const torch::Tensor& h, const torch::Tensor& targets);
  void load_part(const torch::Tensor& weight);
  const span& part() const { return part_; }

  torch::Tensor weight;

private:
  group_ptr group_;
  span part_;
};
TORCH_MODULE(sharded_classifier);

} // namespace troupe::models::torch_nn
