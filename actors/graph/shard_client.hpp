#pragma once

// A sampler's side of the graph shard actors (shard_actor.hpp): the graph's
// partition map (O(P): its boundaries) and each partition's shard, asked
// from the calling thread, every shard at once: a hop's frontier split by
// owner, then each owner's answer put back in frontier order
// (sampler.hpp's sample_through_shards); a minibatch's nodes' features
// from their owners the same way. A training worker's thread holds one.

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/graph/partition_map.hpp"
#include "actors/graph/sampler.hpp"

namespace troupe::graph {

/// Features and labels of some nodes, in their order.
struct node_rows {
  uint32_t dims = 0;
  /// rows x dims, row-major.
  std::vector<float> values;
  std::vector<uint32_t> labels;
};

/// A GraphSAGE minibatch: its neighbourhood with every node renumbered to
/// its row (compact), the rows' global IDs, and their features.
struct minibatch {
  neighbourhood hops;
  std::vector<uint32_t> nodes;
  node_rows rows;
};

class shard_client {
public:
  /// Shard `p` of `shards` serves partition p of `map`. Asks time out
  /// after `timeout`.
  shard_client(caf::actor_system& sys, partition_map map,
               std::vector<caf::actor> shards,
               std::chrono::milliseconds timeout = std::chrono::seconds{60});
  shard_client(const shard_client&) = delete;
  shard_client& operator=(const shard_client&) = delete;
  ~shard_client();

  const partition_map& map() const { return map_; }

  /// One hop: nodes[p] sampled by shard p (a shard_ask), all at once.
  caf::expected<std::vector<sampled_hop>>
  ask(const std::vector<std::vector<uint32_t>>& nodes, uint32_t k,
      uint64_t seed, uint32_t hop);

  /// `seeds`' neighbourhood, sampled by the shards.
  caf::expected<neighbourhood> sample(const std::vector<uint32_t>& seeds,
                                      const sample_options& o);

  /// The features and labels of `nodes`, from their owners. Errors: a node
  /// out of the graph, a shard's (named).
  caf::expected<node_rows> features(const std::vector<uint32_t>& nodes);

  /// A minibatch of `seeds`: sampled, renumbered, its rows' features.
  caf::expected<minibatch> batch(const std::vector<uint32_t>& seeds,
                                 const sample_options& o);

private:
  partition_map map_;
  std::vector<caf::actor> shards_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<caf::scoped_actor> self_;
};

} // namespace troupe::graph
