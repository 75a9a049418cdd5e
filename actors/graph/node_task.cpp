#include "actors/graph/node_task.hpp"

#include <algorithm>
#include <map>

#include "actors/graph/metis.hpp"
#include "actors/graph/node_features.hpp"
#include "actors/graph/partition.hpp"
#include "runtime/errors.hpp"

namespace troupe::graph {

namespace {

uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

} // namespace

caf::expected<node_task> node_task_of(const labeled_graph& l, uint32_t parts,
                                      uint32_t dims, uint32_t holdout) {
  return node_task_of(l, name_features(l.names, l.graph, dims), dims + 1, parts,
                      holdout);
}

caf::expected<node_task> node_task_of(const labeled_graph& l,
                                      const std::vector<float>& features,
                                      uint32_t cols, uint32_t parts,
                                      uint32_t holdout) {
  auto n = l.graph.nodes;
  if (n == 0)
    return make_error(errc::invalid_argument, "a node task of no node");
  if (cols == 0 || features.size() != size_t{n} * cols || l.labels.size() != n)
    return make_error(errc::invalid_argument,
                      "a node task of " + std::to_string(n) + " nodes with " +
                          std::to_string(l.labels.size()) + " labels and " +
                          std::to_string(features.size()) +
                          " feature values of " + std::to_string(cols) +
                          " columns");
  std::vector<uint32_t> part(n, 0);
  if (parts > 1) {
    metis_options mo;
    mo.parts = parts;
    auto p = metis_partition(l.graph, mo);
    if (!p) return p.error();
    part = std::move(*p);
  }
  auto r = renumber(part, std::max(parts, 1u));
  if (!r) return r.error();
  node_task t;
  t.graph = relabel(l.graph, r->new_id);
  t.map = r->map;
  t.cols = cols;
  t.features.resize(features.size());
  t.labels.resize(n);
  for (uint32_t v = 0; v < n; ++v) {
    auto to = r->new_id[v];
    std::copy(features.begin() + static_cast<std::ptrdiff_t>(v) * t.cols,
              features.begin() + static_cast<std::ptrdiff_t>(v + 1) * t.cols,
              t.features.begin() + static_cast<std::ptrdiff_t>(to) * t.cols);
    t.labels[to] = l.labels[v];
  }
  holdout = std::max(holdout, 2u);
  for (uint32_t v = 0; v < n; ++v)
    if (t.labels[v] != no_label)
      (mix(v) % holdout == 0 ? t.test : t.train).push_back(v);
  std::map<uint32_t, size_t> seen;
  for (auto v : t.train)
    ++seen[t.labels[v]];
  size_t most = 0;
  for (auto& [label, count] : seen)
    if (count > most) {
      most = count;
      t.majority = label;
    }
  if (!t.test.empty())
    t.majority_accuracy =
        static_cast<double>(std::count_if(
            t.test.begin(), t.test.end(),
            [&](uint32_t v) { return t.labels[v] == t.majority; })) /
        static_cast<double>(t.test.size());
  return t;
}

} // namespace troupe::graph
