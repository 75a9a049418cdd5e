#include "actors/graph/partition.hpp"

#include <cmath>
#include <string>

#include "runtime/errors.hpp"

namespace troupe::graph {

caf::expected<std::vector<uint32_t>> stream_partition(const csr_graph& g,
                                                      const stream_options& o) {
  if (o.parts == 0 || o.parts > std::max<uint32_t>(g.nodes, 1))
    return make_error(errc::invalid_argument,
                      std::to_string(o.parts) + " partitions of " +
                          std::to_string(g.nodes) +
                          " nodes (expected 1 to the node count)");
  if (!(o.slack >= 0) || !std::isfinite(o.slack))
    return make_error(errc::invalid_argument,
                      "slack " + std::to_string(o.slack) + " (expected >= 0)");
  if (o.passes == 0)
    return make_error(errc::invalid_argument, "0 passes (expected at least 1)");
  constexpr uint32_t none = UINT32_MAX;
  std::vector<uint32_t> part(g.nodes, none);
  std::vector<uint64_t> size(o.parts, 0);
  auto capacity = static_cast<uint64_t>(
      std::ceil(static_cast<double>(g.nodes) / o.parts * (1 + o.slack)));
  capacity = std::max<uint64_t>(capacity, 1);
  // each node's placed neighbours per partition, reset through `touched`
  std::vector<uint64_t> hits(o.parts, 0);
  std::vector<uint32_t> touched;
  // each pass places every node again; its neighbours count where this
  // pass or the one before put them, the sizes only this pass's nodes
  for (uint32_t pass = 0; pass < o.passes; ++pass) {
    std::fill(size.begin(), size.end(), 0);
    for (uint32_t v = 0; v < g.nodes; ++v) {
      touched.clear();
      for (auto* n = g.begin(v); n != g.end(v); ++n) {
        auto p = part[*n];
        if (p == none) continue;
        if (hits[p]++ == 0) touched.push_back(p);
      }
      // the best partition with room; the emptiest when no neighbour helps
      uint32_t best = none;
      double best_score = -1;
      for (auto p : touched) {
        if (size[p] >= capacity) continue;
        double score = static_cast<double>(hits[p]) *
                       (1 - static_cast<double>(size[p]) / capacity);
        if (score > best_score ||
            (score == best_score && size[p] < size[best])) {
          best = p;
          best_score = score;
        }
      }
      if (best == none) {
        best = 0;
        for (uint32_t p = 1; p < o.parts; ++p)
          if (size[p] < size[best]) best = p;
      }
      for (auto p : touched)
        hits[p] = 0;
      part[v] = best;
      ++size[best];
    }
  }
  return part;
}

double edge_cut(const csr_graph& g, const std::vector<uint32_t>& part) {
  uint64_t cut = 0;
  for (uint32_t v = 0; v < g.nodes; ++v)
    for (auto* n = g.begin(v); n != g.end(v); ++n)
      cut += part[v] != part[*n] ? 1 : 0;
  return g.neighbours.empty() ? 0.0
                              : static_cast<double>(cut) /
                                    static_cast<double>(g.neighbours.size());
}

caf::expected<renumbering> renumber(const std::vector<uint32_t>& part,
                                    uint32_t parts) {
  std::vector<uint64_t> counts(parts, 0);
  for (size_t v = 0; v < part.size(); ++v) {
    if (part[v] >= parts)
      return make_error(errc::invalid_argument,
                        "node " + std::to_string(v) + " is in partition " +
                            std::to_string(part[v]) + " of " +
                            std::to_string(parts));
    ++counts[part[v]];
  }
  auto map = partition_map::from_counts(counts);
  if (!map) return map.error();
  renumbering r{std::move(*map), std::vector<uint32_t>(part.size())};
  std::vector<uint64_t> next(parts);
  for (uint32_t p = 0; p < parts; ++p)
    next[p] = r.map.start(p);
  for (size_t v = 0; v < part.size(); ++v)
    r.new_id[v] = static_cast<uint32_t>(next[part[v]]++);
  return r;
}

csr_graph relabel(const csr_graph& g, const std::vector<uint32_t>& new_id) {
  csr_graph out;
  out.nodes = g.nodes;
  out.offsets.assign(static_cast<size_t>(g.nodes) + 1, 0);
  for (uint32_t v = 0; v < g.nodes; ++v)
    out.offsets[new_id[v] + 1] = g.degree(v);
  for (uint32_t v = 0; v < g.nodes; ++v)
    out.offsets[v + 1] += out.offsets[v];
  out.neighbours.resize(g.neighbours.size());
  for (uint32_t v = 0; v < g.nodes; ++v) {
    auto* dst = out.neighbours.data() + out.offsets[new_id[v]];
    for (auto* n = g.begin(v); n != g.end(v); ++n)
      *dst++ = new_id[*n];
  }
  return out;
}

} // namespace troupe::graph
