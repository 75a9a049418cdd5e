// METIS partitioning and graph shards (actors/graph): METIS keeps its
// balance and cuts planted communities at least as well as the streaming
// partitioner; each shard's halo is exactly the remote neighbours of its
// nodes, and its local adjacency maps back to the graph's; bad input is
// named.

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "actors/graph/csr.hpp"
#include "actors/graph/halo.hpp"
#include "actors/graph/metis.hpp"
#include "actors/graph/partition.hpp"
#include "runtime/errors.hpp"
#include "tests/unit/graph/planted.hpp"

using namespace troupe;
using namespace troupe::graph;

namespace {

/// test::planted's graph.
csr_graph planted(uint32_t groups, uint32_t size, uint32_t inside,
                  uint32_t outside, uint64_t seed) {
  std::vector<uint32_t> community;
  auto edges = test::planted(groups, size, inside, outside, seed, community);
  auto g = csr_graph::from_edges(groups * size, edges);
  REQUIRE(g);
  return std::move(*g);
}

} // namespace

TEST_CASE("METIS keeps its balance and cuts planted communities at least as "
          "well as the streaming partitioner",
          "[graph]") {
  auto g = planted(4, 500, 6, 1, 11);
  metis_options o;
  o.parts = 4;
  o.slack = 0.05;
  auto part = metis_partition(g, o);
  REQUIRE(part);
  REQUIRE(part->size() == 2000);
  std::vector<uint64_t> sizes(4, 0);
  for (auto p : *part) {
    REQUIRE(p < 4);
    ++sizes[p];
  }
  for (auto s : sizes)
    CHECK(s <= 525); // 2000 / 4 x 1.05
  stream_options so;
  so.parts = 4;
  auto streamed = stream_partition(g, so);
  REQUIRE(streamed);
  auto cut = edge_cut(g, *part);
  INFO("METIS cut " << cut << ", streamed " << edge_cut(g, *streamed));
  CHECK(cut <= edge_cut(g, *streamed) + 1e-9);
  CHECK(cut < 0.15); // the planted communities: about 1/9
  // the same seed, the same partitions
  auto again = metis_partition(g, o);
  REQUIRE(again);
  CHECK(*again == *part);
  // one part: everything in partition 0
  o.parts = 1;
  auto one = metis_partition(g, o);
  REQUIRE(one);
  CHECK(
      std::all_of(one->begin(), one->end(), [](uint32_t p) { return p == 0; }));
}

TEST_CASE("a graph shard's halo is exactly its nodes' remote neighbours, and "
          "its local adjacency maps back to the graph's",
          "[graph]") {
  auto g0 = planted(3, 400, 5, 2, 7);
  metis_options o;
  o.parts = 3;
  auto part = metis_partition(g0, o);
  REQUIRE(part);
  auto r = renumber(*part, 3);
  REQUIRE(r);
  auto g = relabel(g0, r->new_id);
  uint64_t owned = 0, cut_ends = 0;
  for (uint32_t p = 0; p < 3; ++p) {
    auto s = shard_of(g, r->map, p);
    REQUIRE(s);
    CHECK(s->begin == r->map.start(p));
    CHECK(s->end == r->map.start(p + 1));
    owned += s->owned();
    // the reference halo: brute force over the owned nodes' edges
    std::set<uint32_t> halo;
    for (uint32_t v = s->begin; v < s->end; ++v)
      for (auto* u = g.begin(v); u != g.end(v); ++u)
        if (r->map.locate(*u).partition != p) {
          halo.insert(*u);
          ++cut_ends;
        }
    CHECK(std::vector<uint32_t>(halo.begin(), halo.end()) == s->halo);
    // local adjacency, mapped back, is the global adjacency
    REQUIRE(s->offsets.size() == s->owned() + 1u);
    for (uint32_t i = 0; i < s->owned(); ++i) {
      std::vector<uint32_t> want(g.begin(s->begin + i), g.end(s->begin + i));
      std::vector<uint32_t> got;
      for (auto k = s->offsets[i]; k < s->offsets[i + 1]; ++k) {
        auto local = s->neighbours[k];
        REQUIRE(local < s->owned() + s->halo.size());
        got.push_back(s->global(local));
        CHECK(s->local(s->global(local)) == local);
      }
      CHECK(got == want);
    }
    // a node neither owned nor in the halo has no local ID
    for (uint32_t v = 0; v < g.nodes; ++v)
      if (r->map.locate(v).partition != p && !halo.count(v)) {
        CHECK(s->local(v) == -1);
        break;
      }
  }
  CHECK(owned == g.nodes);
  // every cut edge is seen from both sides
  uint64_t cut = 0;
  for (uint32_t v = 0; v < g.nodes; ++v)
    for (auto* u = g.begin(v); u != g.end(v); ++u)
      cut += r->map.locate(v).partition != r->map.locate(*u).partition;
  CHECK(cut_ends == cut);
}

TEST_CASE("METIS partitioning and graph shards name their bad input",
          "[graph]") {
  auto g = planted(2, 10, 2, 1, 3);
  metis_options o;
  o.parts = 0;
  auto zero = metis_partition(g, o);
  REQUIRE_FALSE(zero);
  CHECK(describe(zero.error()).find("0 partition(s) for 20 nodes") !=
        std::string::npos);
  o.parts = 21;
  CHECK_FALSE(metis_partition(g, o));
  o.parts = 2;
  o.slack = -0.5;
  auto slack = metis_partition(g, o);
  REQUIRE_FALSE(slack);
  CHECK(describe(slack.error()).find("negative") != std::string::npos);
  auto map = partition_map::from_counts({10, 10});
  REQUIRE(map);
  auto far = shard_of(g, *map, 2);
  REQUIRE_FALSE(far);
  CHECK(describe(far.error()).find("partition 2 of 2") != std::string::npos);
  auto other = partition_map::from_counts({10, 11});
  REQUIRE(other);
  auto mismatch = shard_of(g, *other, 0);
  REQUIRE_FALSE(mismatch);
  CHECK(describe(mismatch.error()).find("21 nodes") != std::string::npos);
}
