#include "actors/graph/csr.hpp"

#include <string>

#include "runtime/errors.hpp"

namespace troupe::graph {

caf::expected<csr_graph> csr_graph::from_edges(uint32_t nodes,
                                               const std::vector<edge>& edges) {
  csr_graph g;
  g.nodes = nodes;
  g.offsets.assign(static_cast<size_t>(nodes) + 1, 0);
  for (size_t i = 0; i < edges.size(); ++i) {
    auto [u, v] = edges[i];
    if (u >= nodes || v >= nodes)
      return make_error(errc::invalid_argument,
                        "edge " + std::to_string(i) + " (" + std::to_string(u) +
                            ", " + std::to_string(v) + ") names a node >= " +
                            std::to_string(nodes) + ", the node count");
    if (u == v) continue;
    ++g.offsets[u + 1];
    ++g.offsets[v + 1];
  }
  for (uint32_t v = 0; v < nodes; ++v)
    g.offsets[v + 1] += g.offsets[v];
  g.neighbours.resize(g.offsets[nodes]);
  // fill from each node's start: `at` walks the offsets, then is dropped
  std::vector<uint64_t> at(g.offsets.begin(), g.offsets.end() - 1);
  for (auto [u, v] : edges) {
    if (u == v) continue;
    g.neighbours[at[u]++] = v;
    g.neighbours[at[v]++] = u;
  }
  return g;
}

} // namespace troupe::graph
