#include "actors/training/graph_tables.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "actors/tabular/csv.hpp"
#include "runtime/errors.hpp"

namespace troupe::training {

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

std::string at(const tabular::table& t, size_t row) {
  return t.source + ":" + std::to_string(t.lines[row]);
}

} // namespace

caf::expected<table_graph> read_table_graph(const std::string& nodes,
                                            const std::string& edges,
                                            const std::string& id,
                                            const std::string& target) {
  auto n = tabular::read_csv(nodes);
  if (!n) return n.error();
  auto* ids = n->find(id);
  auto* labels = n->find(target);
  if (!ids)
    return invalid(nodes + ": no ID column '" + id +
                   "' (columns: " + n->column_list() + "; [data] id names it)");
  if (!labels)
    return invalid(nodes + ": no target column '" + target +
                   "' (columns: " + n->column_list() + ")");
  if (ids == labels)
    return invalid(nodes + ": the ID column '" + id + "' is the target");
  auto rows = n->rows();
  if (rows > graph::no_label - 1)
    return invalid(nodes + ": " + std::to_string(rows) +
                   " nodes: at most 2^32 - 2");
  table_graph g;
  auto& l = g.graph;
  std::unordered_map<std::string, uint32_t> index;
  index.reserve(rows);
  for (size_t r = 0; r < rows; ++r) {
    auto& name = ids->text[r];
    if (name.empty())
      return invalid(at(*n, r) + ": the node has no ID ('" + id + "')");
    if (!index.emplace(name, static_cast<uint32_t>(r)).second)
      return invalid(at(*n, r) + ": node '" + name + "' is listed twice");
    l.names.push_back(name);
  }
  // labels by first appearance; a missing one: no label
  std::map<std::string, uint32_t> label_of;
  for (size_t r = 0; r < rows; ++r) {
    auto& text = labels->text[r];
    if (text.empty()) {
      l.labels.push_back(graph::no_label);
      continue;
    }
    auto [it, fresh] =
        label_of.emplace(text, static_cast<uint32_t>(l.label_names.size()));
    if (fresh) l.label_names.push_back(text);
    l.labels.push_back(it->second);
  }
  if (l.label_names.size() < 2)
    return invalid(nodes + ": the target '" + target + "' has " +
                   std::to_string(l.label_names.size()) +
                   " class(es): a classifier needs 2 at least");
  std::vector<const tabular::column*> cols;
  for (auto& c : n->columns) {
    if (&c == ids || &c == labels) continue;
    if (c.kind != tabular::column_kind::numeric)
      return invalid(nodes + ": column '" + c.name +
                     "' is not numeric: a node's features are numbers");
    cols.push_back(&c);
    g.feature_names.push_back(c.name);
  }
  if (cols.empty())
    return invalid(nodes + ": no feature column besides '" + id + "' and '" +
                   target + "'");
  g.cols = static_cast<uint32_t>(cols.size());
  g.features.assign(rows * cols.size(), 0.0f);
  for (size_t j = 0; j < cols.size(); ++j) {
    auto& v = cols[j]->numbers;
    double sum = 0, sq = 0;
    size_t present = 0;
    for (auto x : v)
      if (!std::isnan(x)) {
        sum += x;
        sq += x * x;
        ++present;
      }
    auto mean = present ? sum / static_cast<double>(present) : 0.0;
    auto var =
        present ? std::max(0.0, sq / static_cast<double>(present) - mean * mean)
                : 0.0;
    auto sd = var > 1e-24 ? std::sqrt(var) : 1.0;
    for (size_t r = 0; r < rows; ++r)
      g.features[r * cols.size() + j] =
          std::isnan(v[r]) ? 0.0f : static_cast<float>((v[r] - mean) / sd);
  }
  auto e = tabular::read_csv(edges);
  if (!e) return e.error();
  if (e->columns.size() < 2)
    return invalid(edges +
                   ": an edge list needs two columns (its ends' IDs); "
                   "it has " +
                   std::to_string(e->columns.size()));
  std::vector<graph::edge> list;
  list.reserve(e->rows());
  auto& a = e->columns[0];
  auto& b = e->columns[1];
  for (size_t r = 0; r < e->rows(); ++r) {
    auto end = [&](const tabular::column& c) -> caf::expected<uint32_t> {
      auto it = index.find(c.text[r]);
      if (it == index.end())
        return invalid(at(*e, r) + ": '" + c.name + "' = '" + c.text[r] +
                       "' is no node of " + nodes);
      return it->second;
    };
    auto u = end(a);
    if (!u) return u.error();
    auto v = end(b);
    if (!v) return v.error();
    if (*u != *v) list.emplace_back(std::min(*u, *v), std::max(*u, *v));
  }
  // an edge listed both ways (or twice) is one edge
  std::sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end()), list.end());
  auto csr = graph::csr_graph::from_edges(static_cast<uint32_t>(rows), list);
  if (!csr) return csr.error();
  l.graph = std::move(*csr);
  l.relations = e->rows();
  return g;
}

} // namespace troupe::training
