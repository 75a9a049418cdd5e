#pragma once

// The generated power-law graph of the graph benchmarks (issue 19's 10^8
// edges): Chung-Lu, `nodes` nodes of weight (rank + 1)^-0.8 (degree
// exponent about 2.25), ranks mapped to IDs by a seeded random
// permutation, `edges` edges whose two ends are drawn independently by
// weight (self loops dropped by csr_graph).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "actors/graph/csr.hpp"
#include "runtime/errors.hpp"
#include "tests/bench/bench_process.hpp"

namespace troupe::bench {

inline graph::csr_graph power_law_graph(uint32_t nodes, uint64_t n_edges,
                                        std::mt19937_64& rng) {
  std::vector<double> cum(nodes);
  double total = 0;
  for (uint32_t r = 0; r < nodes; ++r)
    cum[r] = total += std::pow(static_cast<double>(r) + 1, -0.8);
  std::vector<uint32_t> id_of_rank(nodes);
  std::iota(id_of_rank.begin(), id_of_rank.end(), 0u);
  std::shuffle(id_of_rank.begin(), id_of_rank.end(), rng);
  std::uniform_real_distribution<double> u{0, total};
  auto draw = [&] {
    auto r = std::lower_bound(cum.begin(), cum.end(), u(rng)) - cum.begin();
    return id_of_rank[std::min<size_t>(static_cast<size_t>(r), nodes - 1)];
  };
  std::vector<graph::edge> edges(n_edges);
  for (auto& e : edges)
    e = {draw(), draw()};
  cum = {};
  id_of_rank = {};
  auto g = graph::csr_graph::from_edges(nodes, edges);
  if (!g) fail(describe(g.error()));
  return std::move(*g);
}

} // namespace troupe::bench
