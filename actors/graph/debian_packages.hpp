#pragma once

// A real graph with node labels: Debian's binary-package index (the
// Packages files apt keeps in /var/lib/apt/lists). Each package is a node,
// labelled with its Section; each Depends, Pre-Depends and Recommends
// relation links it to the first package of the relation's alternatives
// that the index holds (a virtual package, one no binary provides under
// its name, links nothing). Plain C++, no CAF actors.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/graph/csr.hpp"

namespace troupe::graph {

/// The label of a node that has none.
inline constexpr uint32_t no_label = 0xffffffffu;

struct labeled_graph {
  /// Undirected, each edge once (a relation both ways is one edge).
  csr_graph graph;
  /// Node v's name.
  std::vector<std::string> names;
  /// Node v's label: an index into label_names, or no_label (a node
  /// without one: a neighbour, never trained on nor tested).
  std::vector<uint32_t> labels;
  /// The labels, in order of first appearance.
  std::vector<std::string> label_names;
  /// Relations counted per package, before merging both directions.
  uint64_t relations = 0;
};

/// The package graph of Packages files: plain text, or compressed (.lz4,
/// .gz, .xz, .zst, .bz2: read through apt's own `apt-helper cat-file`). A
/// package listed in several files (a security update) is one node with
/// the first file's section and every file's relations. The label is the
/// Section without its archive area ("contrib/net" is "net"); a package
/// with none is labelled "(none)". Errors name the file: missing,
/// unreadable, or holding no package at all.
caf::expected<labeled_graph>
debian_package_graph(const std::vector<std::string>& files);

/// Every Packages file apt keeps in `lists` (its name holds "_Packages";
/// compressed or not), sorted; none when the folder is missing.
std::vector<std::string>
apt_package_files(const std::string& lists = "/var/lib/apt/lists");

/// The same from index text already read; `source` names it in errors.
caf::expected<labeled_graph>
debian_package_graph_of(const std::vector<std::string>& texts,
                        const std::vector<std::string>& sources);

} // namespace troupe::graph
