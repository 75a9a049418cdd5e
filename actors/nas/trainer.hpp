#pragma once

// Training and scoring networks of the plugin on image sets: seeded
// shuffled mini-batches, Adam with a cosine learning-rate decay, and, for a
// supernet, a sub-network drawn for every batch. Plain C++ over plugin.hpp.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/expected.hpp>

#include "actors/nas/plugin.hpp"
#include "actors/nas/sampler.hpp"
#include "actors/tabular/idx.hpp"

namespace troupe::nas {

// Fashion-MNIST comes through the tabular layer's IDX reader.
using tabular::fashion_classes;
using tabular::image_set;
using tabular::read_fashion_mnist;
using tabular::read_idx;
using tabular::take;

/// How a network is trained.
struct train_options {
  size_t epochs = 1;
  size_t batch = 128;
  /// Adam's learning rate at the start; it decays to 0 along a cosine.
  double lr = 2e-3;
  uint64_t seed = 0;
  /// Called after each epoch with its number (from 1) and mean loss.
  std::function<void(size_t epoch, double loss)> on_epoch;
};

/// Trains a whole network; returns the last epoch's mean loss.
caf::expected<double> train(network& net, const image_set& data,
                            const train_options& opts);

/// Trains a supernet: each batch trains one sub-network drawn by `draw`
/// (uniform sampling under the limits, in the real search). Returns the
/// last epoch's mean loss.
caf::expected<double> train_supernet(network& supernet, const image_set& data,
                                     const train_options& opts, sampler& draw);

/// The share of `data` that `sub` (nullptr: the whole network) classifies
/// right, in batches of `batch` rows; batch norm on each batch's statistics
/// when `batch_stats` (a supernet's sub-network), on the running ones
/// otherwise.
caf::expected<double> accuracy(const network& net, const net_arch* sub,
                               const image_set& data, bool batch_stats,
                               size_t batch = 500);

/// Splits `data` into a training part and a validation part of
/// `validation` rows, drawn at random (seeded).
void split(const image_set& data, size_t validation, uint64_t seed,
           image_set& train_part, image_set& validation_part);

} // namespace troupe::nas
