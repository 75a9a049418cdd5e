#pragma once

// A graph shard's file: one partition's adjacency (halo.hpp's shard_view)
// with its owned nodes' features and labels, as the coordinator writes it
// and a shard actor loads it on its node (through the dataset caches,
// like a training worker's rows). Binary, little-endian as the machine:
// a 48-byte header ("TRPGSHD1", version, partition, owned range, halo
// and edge counts, feature dims), then the halo, the offsets, the
// neighbours, the features and the labels. Plain C++.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/graph/halo.hpp"

namespace troupe::graph {

/// What a shard holds: its partition of the graph and what it serves of
/// its owned nodes.
struct graph_shard {
  shard_view view;
  /// Features per node (0: none).
  uint32_t dims = 0;
  /// Owned node begin + i's features are features[i * dims .. (i+1) * dims).
  std::vector<float> features;
  /// Owned node begin + i's label.
  std::vector<uint32_t> labels;

  size_t bytes() const {
    return view.bytes() + features.capacity() * sizeof(float) +
           labels.capacity() * sizeof(uint32_t);
  }
};

/// Writes `s` to `path` (replaced). Errors: features or labels that do not
/// match its owned nodes, and the file's (named).
caf::error write_graph_shard(const std::string& path, const graph_shard& s);

/// Reads a shard file back. Errors name the file and what is wrong: not a
/// shard file, another layout version, a truncated file, offsets or
/// neighbours out of range.
caf::expected<graph_shard> read_graph_shard(const std::string& path);

/// Partition `p` of a task's graph as a shard: its view (shard_of) and its
/// owned rows of `features` ([nodes, dims] in the graph's numbering) and
/// `labels`.
caf::expected<graph_shard> graph_shard_of(const csr_graph& g,
                                          const partition_map& map, uint32_t p,
                                          const std::vector<float>& features,
                                          uint32_t dims,
                                          const std::vector<uint32_t>& labels);

} // namespace troupe::graph
