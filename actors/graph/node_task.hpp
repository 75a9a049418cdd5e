#pragma once

// A node-classification task on a labelled graph, laid out for graph
// shards: the nodes renumbered so that each of `parts` METIS partitions
// owns a contiguous range, every node's features (name_features) and label
// in that numbering, and a held-out share of the nodes with the score of
// always answering the training set's most common label. Plain C++.

#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

#include "actors/graph/csr.hpp"
#include "actors/graph/debian_packages.hpp"
#include "actors/graph/partition_map.hpp"

namespace troupe::graph {

struct node_task {
  /// The graph in the new numbering.
  csr_graph graph;
  /// Partition p owns the nodes [map.start(p), map.start(p + 1)).
  partition_map map;
  /// [nodes, cols] row-major, in the new numbering.
  std::vector<float> features;
  uint32_t cols = 0;
  std::vector<uint32_t> labels;
  /// Nodes (new IDs) to train on and held out.
  std::vector<uint32_t> train, test;
  /// The training nodes' most common label, and the share of the held-out
  /// nodes it is right for.
  uint32_t majority = 0;
  double majority_accuracy = 0;
};

/// The task of `l`: `parts` METIS partitions (1: the nodes keep their
/// order), features of `dims` hashed name trigrams and the degree, and one
/// node in `holdout` held out (chosen by a hash of its new ID). Errors
/// name a graph with no node and METIS' failures.
caf::expected<node_task> node_task_of(const labeled_graph& l, uint32_t parts,
                                      uint32_t dims, uint32_t holdout = 5);

/// The same with the nodes' features given: `features` [nodes, cols]
/// row-major in `l`'s numbering. A node labelled no_label is neither
/// trained on nor held out (it is still a neighbour). Errors also name
/// features or labels that do not match the nodes.
caf::expected<node_task> node_task_of(const labeled_graph& l,
                                      const std::vector<float>& features,
                                      uint32_t cols, uint32_t parts,
                                      uint32_t holdout = 5);

} // namespace troupe::graph
