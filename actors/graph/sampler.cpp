#include "actors/graph/sampler.hpp"

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "runtime/errors.hpp"

namespace troupe::graph {

namespace {

uint64_t splitmix(uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The distinct nodes sampled at `h`, in order of first appearance: the
/// next hop's frontier.
std::vector<uint32_t> next_frontier(const sampled_hop& h) {
  std::vector<uint32_t> out;
  std::unordered_set<uint32_t> seen;
  for (auto v : h.neighbours)
    if (seen.insert(v).second) out.push_back(v);
  return out;
}

/// The hops of a neighbourhood of `seeds` in a graph of `nodes` nodes,
/// `hop(frontier, k, h)` sampling each: the checks and the frontiers that
/// one process and the shards share.
caf::expected<neighbourhood> sample_hops(
    uint64_t nodes, const std::vector<uint32_t>& seeds, const sample_options& o,
    const std::function<caf::expected<sampled_hop>(const std::vector<uint32_t>&,
                                                   uint32_t, uint32_t)>& hop) {
  for (size_t h = 0; h < o.fanouts.size(); ++h)
    if (o.fanouts[h] == 0)
      return make_error(errc::invalid_argument, "neighbour sampling: hop " +
                                                    std::to_string(h + 1) +
                                                    " has a fanout of 0");
  for (auto v : seeds)
    if (v >= nodes)
      return make_error(errc::invalid_argument,
                        "neighbour sampling: seed node " + std::to_string(v) +
                            " of a graph of " + std::to_string(nodes) +
                            " nodes");
  neighbourhood out;
  auto frontier = seeds;
  for (uint32_t h = 0; h < o.fanouts.size(); ++h) {
    auto sampled = hop(frontier, o.fanouts[h], h);
    if (!sampled) return sampled.error();
    sampled->frontier = std::move(frontier);
    frontier = next_frontier(*sampled);
    out.hops.push_back(std::move(*sampled));
  }
  return out;
}

} // namespace

void sample_neighbours(const uint32_t* list, uint64_t degree, uint32_t k,
                       uint64_t seed, uint32_t hop, uint32_t node,
                       std::vector<uint32_t>& out) {
  if (degree <= k) {
    out.insert(out.end(), list, list + degree);
    return;
  }
  // partial Fisher-Yates over positions, the swapped ones kept in a list:
  // O(k^2) for a fanout k (tens), whatever the degree
  uint64_t state = seed;
  state = splitmix(state) ^ (uint64_t{hop} << 32 | node);
  std::vector<std::pair<uint64_t, uint64_t>> swapped; // position -> value
  auto at = [&](uint64_t p) {
    for (auto& [q, v] : swapped)
      if (q == p) return v;
    return p;
  };
  auto set = [&](uint64_t p, uint64_t v) {
    for (auto& [q, w] : swapped)
      if (q == p) {
        w = v;
        return;
      }
    swapped.emplace_back(p, v);
  };
  for (uint64_t i = 0; i < k; ++i) {
    auto j = i + splitmix(state) % (degree - i);
    auto vi = at(i), vj = at(j);
    set(i, vj);
    set(j, vi);
    out.push_back(list[vj]);
  }
}

caf::expected<sampled_hop> sample_owned(const shard_view& s,
                                        const std::vector<uint32_t>& nodes,
                                        uint32_t k, uint64_t seed,
                                        uint32_t hop) {
  sampled_hop out;
  out.frontier = nodes;
  std::vector<uint32_t> local;
  for (auto v : nodes) {
    if (v < s.begin || v >= s.end)
      return make_error(errc::invalid_argument,
                        "graph shard " + std::to_string(s.partition) +
                            " owns nodes [" + std::to_string(s.begin) + ", " +
                            std::to_string(s.end) + "), not node " +
                            std::to_string(v));
    auto i = v - s.begin;
    local.clear();
    sample_neighbours(s.neighbours.data() + s.offsets[i],
                      s.offsets[i + 1] - s.offsets[i], k, seed, hop, v, local);
    for (auto l : local)
      out.neighbours.push_back(s.global(l));
    out.offsets.push_back(out.neighbours.size());
  }
  return out;
}

caf::expected<neighbourhood>
sample_neighbourhood(const csr_graph& g, const std::vector<uint32_t>& seeds,
                     const sample_options& o) {
  return sample_hops(g.nodes, seeds, o,
                     [&](const std::vector<uint32_t>& frontier, uint32_t k,
                         uint32_t h) -> caf::expected<sampled_hop> {
                       sampled_hop hop;
                       for (auto v : frontier) {
                         sample_neighbours(g.begin(v), g.degree(v), k, o.seed,
                                           h, v, hop.neighbours);
                         hop.offsets.push_back(hop.neighbours.size());
                       }
                       return hop;
                     });
}

caf::expected<neighbourhood>
sample_through_shards(const partition_map& map,
                      const std::vector<uint32_t>& seeds,
                      const sample_options& o, const shard_ask& ask) {
  auto parts = map.partitions();
  return sample_hops(
      map.nodes(), seeds, o,
      [&](const std::vector<uint32_t>& frontier, uint32_t k,
          uint32_t h) -> caf::expected<sampled_hop> {
        // split by owner, remembering each node's place in the frontier
        std::vector<std::vector<uint32_t>> nodes(parts);
        std::vector<std::vector<size_t>> places(parts);
        for (size_t i = 0; i < frontier.size(); ++i) {
          auto p = map.locate(frontier[i]).partition;
          nodes[p].push_back(frontier[i]);
          places[p].push_back(i);
        }
        // each node's sample, by frontier place
        std::vector<std::vector<uint32_t>> of(frontier.size());
        auto answers = ask(nodes, k, h);
        if (!answers) return answers.error();
        if (answers->size() != parts)
          return make_error(errc::invalid_argument,
                            std::to_string(answers->size()) +
                                " graph shards answered for " +
                                std::to_string(parts) + " partitions");
        for (uint32_t p = 0; p < parts; ++p) {
          if (nodes[p].empty()) continue;
          auto a = &(*answers)[p];
          if (a->offsets.size() != nodes[p].size() + 1 ||
              a->offsets.back() != a->neighbours.size())
            return make_error(
                errc::invalid_argument,
                "graph shard " + std::to_string(p) + " answered " +
                    std::to_string(a->offsets.size() - 1) + " samples for " +
                    std::to_string(nodes[p].size()) + " nodes");
          for (size_t i = 0; i < nodes[p].size(); ++i)
            of[places[p][i]].assign(a->neighbours.begin() + a->offsets[i],
                                    a->neighbours.begin() + a->offsets[i + 1]);
        }
        sampled_hop hop;
        for (auto& s : of) {
          hop.neighbours.insert(hop.neighbours.end(), s.begin(), s.end());
          hop.offsets.push_back(hop.neighbours.size());
        }
        return hop;
      });
}

shard_ask
ask_each(std::function<caf::expected<sampled_hop>(
             uint32_t, const std::vector<uint32_t>&, uint32_t, uint32_t)>
             one) {
  return [one = std::move(one)](
             const std::vector<std::vector<uint32_t>>& nodes, uint32_t k,
             uint32_t hop) -> caf::expected<std::vector<sampled_hop>> {
    std::vector<sampled_hop> out(nodes.size());
    for (uint32_t p = 0; p < nodes.size(); ++p) {
      if (nodes[p].empty()) continue;
      auto a = one(p, nodes[p], k, hop);
      if (!a) return a.error();
      out[p] = std::move(*a);
    }
    return out;
  };
}

std::vector<uint32_t> compact(neighbourhood& n) {
  std::unordered_map<uint32_t, uint32_t> row;
  std::vector<uint32_t> ids;
  auto renumber = [&](std::vector<uint32_t>& v) {
    for (auto& x : v) {
      auto [it, fresh] = row.emplace(x, static_cast<uint32_t>(ids.size()));
      if (fresh) ids.push_back(x);
      x = it->second;
    }
  };
  for (auto& h : n.hops) {
    renumber(h.frontier);
    renumber(h.neighbours);
  }
  return ids;
}

} // namespace troupe::graph
