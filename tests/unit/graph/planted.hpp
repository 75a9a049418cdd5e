#pragma once

// A test graph of planted communities, for the partitioners' tests.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/graph/csr.hpp"
#include "actors/graph/metis.hpp"
#include "actors/graph/partition.hpp"

namespace troupe::test {

/// `groups` planted communities of `size` nodes, their IDs shuffled: each
/// node has `inside` random neighbours in its community and `outside` in
/// others. Sets `community` to each node's.
inline std::vector<graph::edge> planted(uint32_t groups, uint32_t size,
                                        uint32_t inside, uint32_t outside,
                                        uint64_t seed,
                                        std::vector<uint32_t>& community) {
  std::mt19937_64 rng{seed};
  uint32_t n = groups * size;
  std::vector<uint32_t> id(n);
  std::iota(id.begin(), id.end(), 0u);
  std::shuffle(id.begin(), id.end(), rng);
  community.assign(n, 0);
  for (uint32_t v = 0; v < n; ++v)
    community[id[v]] = v / size;
  std::uniform_int_distribution<uint32_t> in{0, size - 1}, any{0, n - 1};
  std::vector<graph::edge> edges;
  for (uint32_t v = 0; v < n; ++v) {
    auto g = v / size;
    for (uint32_t k = 0; k < inside; ++k)
      edges.emplace_back(id[v], id[g * size + in(rng)]);
    for (uint32_t k = 0; k < outside; ++k) {
      auto u = any(rng);
      if (u / size != g) edges.emplace_back(id[v], id[u]);
    }
  }
  return edges;
}

/// planted()'s graph partitioned by METIS into `parts`, its nodes
/// renumbered so that each partition owns a contiguous range.
struct partitioned_graph {
  graph::csr_graph graph;
  graph::partition_map map;
};

inline partitioned_graph partitioned_planted(uint32_t groups, uint32_t size,
                                             uint32_t inside, uint32_t outside,
                                             uint64_t seed, uint32_t parts) {
  std::vector<uint32_t> community;
  auto edges = planted(groups, size, inside, outside, seed, community);
  auto g0 = graph::csr_graph::from_edges(groups * size, edges);
  REQUIRE(g0);
  graph::metis_options mo;
  mo.parts = parts;
  auto part = graph::metis_partition(*g0, mo);
  REQUIRE(part);
  auto r = graph::renumber(*part, parts);
  REQUIRE(r);
  return {graph::relabel(*g0, r->new_id), r->map};
}

} // namespace troupe::test
