#pragma once

// GraphSAGE (Hamilton et al., 2017) in LibTorch: two mean-aggregator
// layers over a sampled two-hop neighbourhood, h1(v) = ReLU(W1 [x(v) ||
// mean x(N(v))]) and logits(v) = W2 [h1(v) || mean h1(N(v))], trained with
// softmax cross-entropy on labelled seed nodes. Minibatches come from a
// sampler the caller injects (the whole graph in one process, or graph
// shards answering for the nodes they own: the same neighbourhoods either
// way). Included by torch code only.

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "actors/models/torch_group.hpp"

namespace troupe::models::torch_nn {

/// One hop of a sampled neighbourhood (graph::sampled_hop's shape):
/// frontier node i's sampled neighbours are neighbours[offsets[i] ..
/// offsets[i + 1]).
struct sage_hop {
  std::vector<uint32_t> frontier;
  std::vector<uint64_t> offsets{0};
  std::vector<uint32_t> neighbours;
};

/// A minibatch: the two hops of the seeds' neighbourhood (hops[0].frontier
/// the seeds, hops[1].frontier the distinct nodes sampled at hop 0), and
/// the feature rows their node IDs index: `x`, the minibatch's own table
/// (graph shards serve each minibatch's rows), or, undefined, the table
/// given to train_sage (every node's row, in one process). `labels`, when
/// not empty, are the labels of x's rows (the seeds' are read there instead
/// of in the labels given to train_sage).
struct sage_batch {
  sage_batch(std::vector<sage_hop> h) : hops(std::move(h)) {}
  sage_batch(std::vector<sage_hop> h, torch::Tensor rows,
             std::vector<uint32_t> row_labels = {})
      : hops(std::move(h)), x(std::move(rows)), labels(std::move(row_labels)) {}
  std::vector<sage_hop> hops;
  torch::Tensor x;
  std::vector<uint32_t> labels;
};

/// The minibatch of `seeds` (global node IDs); `round` varies the sample
/// between epochs. Training and evaluation drop a minibatch before they
/// ask for the next (its rows may be a view of the sampler's buffer).
using sage_sampler = std::function<sage_batch(
    const std::vector<uint32_t>& seeds, uint64_t round)>;

class sage_netImpl : public torch::nn::Module {
public:
  sage_netImpl(int64_t inputs, int64_t hidden, int64_t classes);
  /// The logits [seeds, classes] of hops[0].frontier; `x` [nodes, inputs]
  /// holds every node's features. Throws unless hops has 2 hops whose
  /// shapes agree.
  torch::Tensor forward(const torch::Tensor& x,
                        const std::vector<sage_hop>& hops);

  torch::nn::Linear layer1{nullptr}, layer2{nullptr};
};
TORCH_MODULE(sage_net);

struct sage_train_options {
  int64_t hidden = 128;
  uint32_t batch = 256;
  uint32_t epochs = 5;
  double lr = 0.01;
  double weight_decay = 1e-5;
  uint64_t seed = 1;
};

/// Trains `net` on `train` nodes (labels[v] their classes) by AdamW, epoch
/// e a sage_epoch of order seed seed * 1000003 + e, minibatches sampled by
/// `sample` (their rows in `x` unless the minibatch brings its own); returns
/// each epoch's mean loss. With a `group` of W data-parallel workers (each
/// calling this with the same arguments and its own replica, started
/// equal), worker r trains on its W-th of each minibatch's seeds and the
/// gradients are summed over the group (c10d all-reduce): the replicas
/// stay one net, which takes the same steps as one process.
std::vector<double> train_sage(sage_net& net, const torch::Tensor& x,
                               const std::vector<uint32_t>& labels,
                               const std::vector<uint32_t>& train,
                               const sage_sampler& sample,
                               const sage_train_options& options,
                               const group_ptr& group = {});

/// Where an epoch's time went: sampling minibatches (waiting for data),
/// computing, all-reducing gradients.
struct sage_epoch_seconds {
  double sample = 0;
  double compute = 0;
  double comm = 0;
};

/// One epoch of train_sage with the caller's optimizer: `train` in the
/// order drawn from `order_seed`, minibatch b (of `batch` seeds) sampled
/// with the seed order_seed * 1000003 + b. So an epoch depends on its
/// order seed alone, and a job resumed at an epoch takes the steps it
/// would have taken. Returns the epoch's mean loss; `seconds` (if given)
/// gets the time split added.
double sage_epoch(sage_net& net, torch::optim::Optimizer& optimizer,
                  const torch::Tensor& x, const std::vector<uint32_t>& labels,
                  const std::vector<uint32_t>& train,
                  const sage_sampler& sample, uint32_t batch,
                  uint64_t order_seed, const group_ptr& group = {},
                  sage_epoch_seconds* seconds = nullptr);

/// The mean cross-entropy and the accuracy over some nodes.
struct sage_scores {
  double logloss = 0;
  double accuracy = 0;
};

/// The scores of `nodes` (their labels as for sage_epoch), in minibatches
/// of `batch` sampled with seed 0.
sage_scores sage_evaluate(sage_net& net, const torch::Tensor& x,
                          const std::vector<uint32_t>& labels,
                          const std::vector<uint32_t>& nodes,
                          const sage_sampler& sample, uint32_t batch = 1024);

/// The share of `nodes` whose predicted class is their label.
double sage_accuracy(sage_net& net, const torch::Tensor& x,
                     const std::vector<uint32_t>& labels,
                     const std::vector<uint32_t>& nodes,
                     const sage_sampler& sample, uint32_t batch = 1024);

} // namespace troupe::models::torch_nn
