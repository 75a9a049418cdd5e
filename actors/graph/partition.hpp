#pragma once

// Cutting a graph into P partitions and renumbering its nodes so that each
// partition owns a contiguous range of IDs (then partition_map.hpp locates
// any node in O(P) memory). The partitioner streams: one pass over the
// nodes, for graphs too big for METIS. Plain C++, no CAF actors.

#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

#include "actors/graph/csr.hpp"
#include "actors/graph/partition_map.hpp"

namespace troupe::graph {

struct stream_options {
  uint32_t parts = 2;
  /// A partition holds at most ceil(nodes / parts * (1 + slack)) nodes.
  double slack = 0.05;
  /// Streams over the nodes: each pass after the first counts the
  /// neighbours not yet placed again where the pass before put them
  /// (restreaming LDG, Nishimura and Ugander, KDD 2013), which cuts far
  /// fewer edges than one pass when the stream order knows nothing of the
  /// graph.
  uint32_t passes = 5;
};

/// Linear deterministic greedy streaming partitioning (Stanton and Kliot,
/// KDD 2012): the nodes stream by in ID order, and each goes to the
/// partition that holds most of its neighbours already placed, weighted by
/// the room left, |N(v) in P_i| * (1 - |P_i| / capacity); ties go to the
/// emptiest; `passes` passes, O(passes * (nodes + edges)) time, O(nodes)
/// memory besides the graph. Returns each node's partition. Errors: parts
/// 0 or more than the nodes, a negative slack, no pass.
caf::expected<std::vector<uint32_t>> stream_partition(const csr_graph& g,
                                                      const stream_options& o);

/// The fraction of the edges whose ends lie in different partitions.
double edge_cut(const csr_graph& g, const std::vector<uint32_t>& part);

/// A graph's nodes renumbered by partition.
struct renumbering {
  /// Partition p owns the new IDs [map.start(p), map.start(p + 1)).
  partition_map map;
  /// Old ID -> new ID; within a partition the nodes keep their order.
  std::vector<uint32_t> new_id;
};

/// The renumbering of nodes assigned to `parts` partitions by `part`
/// (part[v] < parts). Errors name the first node with a partition out of
/// range.
caf::expected<renumbering> renumber(const std::vector<uint32_t>& part,
                                    uint32_t parts);

/// `g` with every node v named new_id[v].
csr_graph relabel(const csr_graph& g, const std::vector<uint32_t>& new_id);

} // namespace troupe::graph
