#pragma once

// One neural architecture search from data to a servable model, the
// one-shot way: train a weight-sharing supernet of a space (a sub-network
// within the limits drawn for every batch), search it (evolution or an RL
// controller, each candidate scored on held-out images with the supernet's
// weights), extract the best sub-network, retrain it, score it on the test
// images, export it as TorchScript with its feature spec, and count what the
// search cost in full trainings. Optionally trains the hand-designed
// baseline (lenet_baseline) for the same epochs. Plain C++ over the plugin.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/nas/sampler.hpp"
#include "actors/nas/space.hpp"
#include "actors/nas/strategy.hpp"
#include "runtime/clock.hpp"

namespace troupe::nas {

/// What `troupe nas` was asked.
struct nas_options {
  std::string data_dir; ///< Fashion-MNIST's IDX files (read_fashion_mnist)
  std::string out;      ///< summary.json and model/ go here
  space_kind space = space_kind::mobilenet;
  strategy_kind strategy = strategy_kind::evolution;
  limits lim{100000, 0};
  size_t supernet_epochs = 3;
  /// Epochs of the final retraining (and of the baseline).
  size_t epochs = 3;
  uint64_t seed = 0;
  int threads = 1;
  /// Candidates the search scores.
  size_t candidates = 48;
  /// Training images held out to score candidates and the final network.
  size_t validation = 5000;
  /// Use only the first N training / test images (0: all).
  size_t train_images = 0;
  size_t test_images = 0;
  size_t batch = 128;
  double lr = 3e-3;
  /// Retrain the best network from fresh weights instead of the
  /// supernet's.
  bool from_scratch = false;
  /// Also train the LeNet-5-like baseline for `epochs` epochs.
  bool baseline = false;
};

/// Runs the search; `say` receives progress lines. Returns summary.json's
/// content (also written to OUT/summary.json, beside OUT/model/). Errors:
/// unreadable data (errc::bad_data), limits no network meets
/// (errc::impossible_limits, checked before any training), LibTorch failures
/// (errc::torch_failure), unwritable output (troupe::errc::io_failure).
caf::expected<nlohmann::json>
run_nas(const nas_options& opts, const clock_ptr& clk,
        const std::function<void(const std::string&)>& say);

} // namespace troupe::nas
