#pragma once

// A GraphSAGE replica from plain C++ (no torch header): torch_sage.hpp's
// net (two mean-aggregator layers) and its AdamW, run in the torch plugin
// (torch_sage_abi.cpp), trained data-parallel in a gloo group
// (parallel_mlp.hpp's torch_group) or alone, on minibatches the caller
// samples (a training worker asks the graph shard actors). Errors are
// models::errc::torch_failure with the plugin's message, the sampler's own
// error as it was (a shard that went stays an io_failure), or
// troupe::errc::invalid_argument for bad input.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/models/parallel_mlp.hpp"
#include "actors/models/plugin_handle.hpp"

namespace troupe::models {

struct sage_spec {
  uint32_t inputs = 1;
  uint32_t hidden = 128;
  uint32_t classes = 2;
  uint32_t threads = 1;
  double lr = 0.01;
  double weight_decay = 1e-5;
  /// Replicas of one seed start as the same net.
  uint64_t seed = 0;
};

/// A sampled minibatch: the seeds' two hops (hop h: frontier[h] rows of x,
/// offsets[h] cutting neighbours[h] into each one's sampled neighbours;
/// hop 0's frontier is the seeds), and every row's features (rows x dims)
/// and label.
struct sage_sample {
  std::array<std::vector<uint32_t>, 2> frontier;
  std::array<std::vector<uint64_t>, 2> offsets;
  std::array<std::vector<uint32_t>, 2> neighbours;
  uint32_t dims = 0;
  std::vector<float> x;
  std::vector<uint32_t> labels;
};

/// The minibatch of `seeds` (global node IDs) sampled with seed `round`.
using sage_sample_fn = std::function<caf::expected<sage_sample>(
    const std::vector<uint32_t>& seeds, uint64_t round)>;

/// An epoch's mean loss and where its time went.
struct sage_fit {
  double loss = 0;
  double sample_seconds = 0;
  double compute_seconds = 0;
  double comm_seconds = 0;
};

struct sage_eval {
  double logloss = 0;
  double accuracy = 0;
};

class sage_model {
public:
  /// A replica in `group` (null: alone; it outlives the replica).
  static caf::expected<sage_model> create(const sage_spec& spec,
                                          const torch_group* group);

  /// One epoch over `train` in minibatches of `batch` seeds (this replica
  /// samples its share of each through `sample`), in the order drawn from
  /// `order_seed`: the same on every replica.
  caf::expected<sage_fit> fit_epoch(const std::vector<uint32_t>& train,
                                    uint32_t batch, uint64_t order_seed,
                                    const sage_sample_fn& sample);
  /// The scores of `nodes`, sampled with seed 0.
  caf::expected<sage_eval> evaluate(const std::vector<uint32_t>& nodes,
                                    uint32_t batch,
                                    const sage_sample_fn& sample);
  caf::expected<std::vector<uint8_t>> save() const;
  caf::error load(const std::vector<uint8_t>& bytes);

private:
  explicit sage_model(plugin_handle h) : handle_(std::move(h)) {}
  plugin_handle handle_;
};

} // namespace troupe::models
