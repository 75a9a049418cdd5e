#pragma once

// A labelled graph given as two CSV files, for a graphsage job: a node
// table (one row a node: its ID, its label, numeric features) and an edge
// list (each row's first two columns name an edge's ends by node ID; an
// edge listed both ways is one, a self loop none). The
// features are standardised per column (a missing cell is the column's
// mean); a node with a missing label is a neighbour only. Plain C++.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/graph/debian_packages.hpp"

namespace troupe::training {

struct table_graph {
  /// Undirected; names are the node IDs, labels index label_names.
  graph::labeled_graph graph;
  /// [nodes, cols] row-major, standardised.
  std::vector<float> features;
  uint32_t cols = 0;
  std::vector<std::string> feature_names;
};

/// Reads the graph. Errors name the file, line and column: a missing ID or
/// target column, an ID given twice or missing, a feature column that is
/// not numeric, no feature column, an edge naming an ID the node table
/// lacks, an edge list of fewer than two columns.
caf::expected<table_graph> read_table_graph(const std::string& nodes,
                                            const std::string& edges,
                                            const std::string& id,
                                            const std::string& target);

} // namespace troupe::training
