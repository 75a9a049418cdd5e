#pragma once

// METIS's multilevel k-way partitioning (libmetis, Karypis and Kumar) of a
// csr_graph: far smaller edge cuts than one streaming pass when the graph
// fits one machine's memory; partition.hpp's streaming partitioner is for
// graphs that do not. Plain C++, no CAF actors.

#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

#include "actors/graph/csr.hpp"

namespace troupe::graph {

struct metis_options {
  uint32_t parts = 2;
  /// A partition holds at most (1 + slack) x its share of the nodes
  /// (METIS's ufactor = slack x 1000).
  double slack = 0.05;
  /// METIS's random seed: the same seed, the same partitions.
  int32_t seed = 1;
};

/// Each node's partition by METIS_PartGraphKway (edge cut minimised; a
/// multigraph's repeated edges count as weight). One part: every node in
/// partition 0. Errors: parts 0 or more than the nodes, a negative slack,
/// a graph too big for METIS's 32-bit indices, and METIS's own failures.
caf::expected<std::vector<uint32_t>> metis_partition(const csr_graph& g,
                                                     const metis_options& o);

} // namespace troupe::graph
