#pragma once

// A tensor-parallel classifier from plain C++ (no torch header): this
// worker's part of a net whose layers are split over the workers of a gloo
// group (torch_group, parallel_mlp.hpp): a column-parallel input layer,
// residual MLP blocks (column- then row-parallel) and a classification
// layer split by classes whose softmax cross-entropy never gathers the
// logits. Every worker trains on the same rows. Runs in the torch plugin
// (torch_tp.cpp); errors are models::errc::torch_failure with the
// plugin's message, or troupe::errc::invalid_argument for bad input.

#include <cstddef>
#include <cstdint>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/models/parallel_mlp.hpp"
#include "actors/models/plugin_handle.hpp"

namespace troupe::models {

struct tp_spec {
  uint32_t inputs = 1;
  uint32_t classes = 2;
  uint32_t width = 64;
  uint32_t hidden = 256;
  uint32_t blocks = 1;
  uint32_t threads = 1;
  double lr = 1e-3;
  double weight_decay = 0;
  uint64_t seed = 0;
  /// Inputs standardised with these (inputs entries each; empty: as they
  /// are).
  std::vector<float> center, scale;
};

struct tp_scores {
  double logloss = 0;
  double accuracy = 0;
};

class tp_net {
public:
  /// This worker's part; `group` outlives it.
  static caf::expected<tp_net> create(const tp_spec& spec,
                                      const torch_group& group);

  /// An epoch of `steps` minibatches of `batch` rows of x (rows x inputs)
  /// and y (class indices) in the order drawn from `order_seed`: its mean
  /// loss.
  caf::expected<double> fit_epoch(const float* x, const float* y, size_t rows,
                                  size_t batch, size_t steps,
                                  uint64_t order_seed);
  caf::expected<tp_scores> evaluate(const float* x, const float* y,
                                    size_t rows);
  caf::expected<std::vector<uint8_t>> save() const;
  caf::error load(const std::vector<uint8_t>& bytes);
  /// The bytes of this worker's parameters.
  size_t parameter_bytes() const;

private:
  explicit tp_net(plugin_handle h) : handle_(std::move(h)) {}
  plugin_handle handle_;
};

} // namespace troupe::models
