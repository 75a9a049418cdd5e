// Neighbour sampling (actors/graph/sampler.hpp): a node's sample is k
// distinct neighbours, uniform, fixed by (seed, hop, node); sampling
// through METIS shards, each answering for the nodes it owns, gives
// exactly the neighbourhood one process samples over the whole graph; bad
// input is named.

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <set>

#include "actors/graph/halo.hpp"
#include "actors/graph/metis.hpp"
#include "actors/graph/partition.hpp"
#include "actors/graph/sampler.hpp"
#include "runtime/errors.hpp"
#include "tests/unit/graph/planted.hpp"

using namespace troupe;
using namespace troupe::graph;

TEST_CASE("a node's sampled neighbours are distinct, uniform and fixed by "
          "seed, hop and node",
          "[graph]") {
  std::vector<uint32_t> list(20);
  std::iota(list.begin(), list.end(), 100u);
  // degree <= k: all of them, in order
  std::vector<uint32_t> all;
  sample_neighbours(list.data(), 4, 5, 1, 0, 7, all);
  CHECK(all == std::vector<uint32_t>{100, 101, 102, 103});
  // k < degree: k distinct neighbours of the list
  std::vector<uint32_t> a, b, c;
  sample_neighbours(list.data(), list.size(), 5, 1, 0, 7, a);
  REQUIRE(a.size() == 5);
  CHECK(std::set<uint32_t>(a.begin(), a.end()).size() == 5);
  for (auto v : a)
    CHECK((v >= 100 && v < 120));
  sample_neighbours(list.data(), list.size(), 5, 1, 0, 7, b);
  CHECK(a == b); // the same seed, hop and node
  bool differs = false;
  for (uint64_t seed = 2; seed < 6 && !differs; ++seed) {
    c.clear();
    sample_neighbours(list.data(), list.size(), 5, seed, 0, 7, c);
    differs = c != a;
  }
  CHECK(differs);
  // uniform: over 4,000 seeds each neighbour is drawn about 4000 x 5/20
  std::vector<int> count(20, 0);
  for (uint64_t seed = 0; seed < 4000; ++seed) {
    std::vector<uint32_t> s;
    sample_neighbours(list.data(), list.size(), 5, seed, 1, 3, s);
    for (auto v : s)
      ++count[v - 100];
  }
  for (auto n : count) {
    CHECK(n > 850); // expected 1000, sd about 27
    CHECK(n < 1150);
  }
}

TEST_CASE("sampling through METIS shards gives exactly the neighbourhood one "
          "process samples over the whole graph",
          "[graph]") {
  auto split = test::partitioned_planted(3, 300, 8, 2, 5, 3);
  auto& g = split.graph;
  std::vector<shard_view> shards;
  for (uint32_t p = 0; p < 3; ++p) {
    auto s = shard_of(g, split.map, p);
    REQUIRE(s);
    shards.push_back(std::move(*s));
  }
  sample_options o;
  o.fanouts = {5, 3};
  o.seed = 42;
  std::vector<uint32_t> seeds;
  for (uint32_t v = 0; v < 900; v += 14)
    seeds.push_back(v);
  auto whole = sample_neighbourhood(g, seeds, o);
  REQUIRE(whole);
  size_t asked = 0;
  auto sharded = sample_through_shards(
      split.map, seeds, o,
      ask_each([&](uint32_t p, const std::vector<uint32_t>& nodes, uint32_t k,
                   uint32_t hop) {
        ++asked;
        return sample_owned(shards[p], nodes, k, o.seed, hop);
      }));
  REQUIRE(sharded);
  CHECK(asked >= 3); // every shard took part
  REQUIRE(whole->hops.size() == 2);
  REQUIRE(sharded->hops.size() == 2);
  for (size_t h = 0; h < 2; ++h) {
    CHECK(sharded->hops[h].frontier == whole->hops[h].frontier);
    CHECK(sharded->hops[h].offsets == whole->hops[h].offsets);
    CHECK(sharded->hops[h].neighbours == whole->hops[h].neighbours);
  }
  // each sample is of the node's real neighbours
  auto& h0 = whole->hops[0];
  for (size_t i = 0; i < h0.frontier.size(); ++i) {
    auto v = h0.frontier[i];
    std::set<uint32_t> real(g.begin(v), g.end(v));
    CHECK(h0.offsets[i + 1] - h0.offsets[i] ==
          std::min<uint64_t>(5, g.degree(v)));
    for (auto k = h0.offsets[i]; k < h0.offsets[i + 1]; ++k)
      CHECK(real.count(h0.neighbours[k]) == 1);
  }
  // the second hop's frontier: the first hop's distinct samples
  std::set<uint32_t> distinct(h0.neighbours.begin(), h0.neighbours.end());
  CHECK(whole->hops[1].frontier.size() == distinct.size());
}

TEST_CASE("neighbour sampling names its bad input", "[graph]") {
  std::vector<uint32_t> community;
  auto g = csr_graph::from_edges(20, test::planted(2, 10, 3, 1, 2, community));
  REQUIRE(g);
  sample_options o;
  o.fanouts = {3, 0};
  auto zero = sample_neighbourhood(*g, {1}, o);
  REQUIRE_FALSE(zero);
  CHECK(describe(zero.error()).find("hop 2 has a fanout of 0") !=
        std::string::npos);
  o.fanouts = {3};
  auto far = sample_neighbourhood(*g, {1, 20}, o);
  REQUIRE_FALSE(far);
  CHECK(describe(far.error()).find("seed node 20") != std::string::npos);
  auto map = partition_map::from_counts({10, 10});
  REQUIRE(map);
  auto s = shard_of(*g, *map, 0);
  REQUIRE(s);
  auto foreign = sample_owned(*s, {3, 15}, 2, 0, 0);
  REQUIRE_FALSE(foreign);
  CHECK(describe(foreign.error()).find("not node 15") != std::string::npos);
}
