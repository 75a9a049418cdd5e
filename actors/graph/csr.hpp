#pragma once

// An undirected graph in compressed sparse rows: each node's neighbours in
// one array, found through offsets. Node IDs are 32-bit (4 billion nodes);
// edge counts are 64-bit. Plain C++, no CAF actors.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::graph {

using edge = std::pair<uint32_t, uint32_t>;

struct csr_graph {
  uint32_t nodes = 0;
  /// nodes + 1 offsets into neighbours.
  std::vector<uint64_t> offsets{0};
  std::vector<uint32_t> neighbours;

  /// From an edge list over `nodes` nodes: each edge both ways, self loops
  /// dropped, duplicates kept (a multigraph's weight). Errors name the
  /// first edge with an endpoint >= nodes.
  static caf::expected<csr_graph> from_edges(uint32_t nodes,
                                             const std::vector<edge>& edges);

  uint64_t degree(uint32_t v) const { return offsets[v + 1] - offsets[v]; }
  const uint32_t* begin(uint32_t v) const {
    return neighbours.data() + offsets[v];
  }
  const uint32_t* end(uint32_t v) const {
    return neighbours.data() + offsets[v + 1];
  }
  /// Undirected edges (each counted once).
  uint64_t edges() const { return neighbours.size() / 2; }
  size_t bytes() const {
    return offsets.capacity() * sizeof(uint64_t) +
           neighbours.capacity() * sizeof(uint32_t);
  }
};

} // namespace troupe::graph
