// Graph partitioning (actors/graph): the partition map locates every node of
// a renumbered graph as a reference hash map does, and back; the streaming
// partitioner keeps its capacity and cuts planted communities far less
// than chance; bad input is named.

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <unordered_map>

#include "actors/graph/csr.hpp"
#include "actors/graph/partition.hpp"
#include "actors/graph/partition_map.hpp"
#include "runtime/errors.hpp"
#include "tests/unit/graph/planted.hpp"

using namespace troupe;
using namespace troupe::graph;

using test::planted;

TEST_CASE("a partition map locates each global ID by the boundaries alone, "
          "and back",
          "[graph]") {
  auto m = partition_map::from_counts({3, 0, 5, 2, 0});
  REQUIRE(m);
  CHECK(m->partitions() == 5);
  CHECK(m->nodes() == 10);
  std::vector<partition_map::place> want = {{0, 0}, {0, 1}, {0, 2}, {2, 0},
                                            {2, 1}, {2, 2}, {2, 3}, {2, 4},
                                            {3, 0}, {3, 1}};
  std::vector<uint64_t> ids(10);
  std::iota(ids.begin(), ids.end(), uint64_t{0});
  std::vector<uint32_t> parts(10);
  std::vector<uint64_t> locals(10);
  m->locate(ids.data(), ids.size(), parts.data(), locals.data());
  for (uint64_t id = 0; id < 10; ++id) {
    INFO("id " << id);
    CHECK(m->locate(id) == want[id]);
    CHECK(parts[id] == want[id].partition);
    CHECK(locals[id] == want[id].local);
    CHECK(m->global(want[id].partition, want[id].local) == id);
  }
  // O(P): the same bytes for ten nodes or ten billion
  auto big = partition_map::from_counts(
      {3000000000ull, 0, 5000000000ull, 2000000000ull, 0});
  REQUIRE(big);
  CHECK(big->bytes() == m->bytes());
  CHECK(big->locate(7999999999ull) == partition_map::place{2, 4999999999ull});
  CHECK(big->locate(8000000000ull) == partition_map::place{3, 0});

  auto none = partition_map::from_counts({});
  REQUIRE_FALSE(none);
  CHECK_THAT(describe(none.error()), Catch::Contains("at least one partition"));
  auto huge = partition_map::from_counts(
      {uint64_t{1} << 62, uint64_t{1} << 62, uint64_t{1} << 62});
  REQUIRE_FALSE(huge);
  CHECK_THAT(describe(huge.error()), Catch::Contains("partition 2"));
}

TEST_CASE("a streamed, renumbered graph: every node's place agrees with a "
          "reference hash map, and the partitions cut planted communities "
          "far less than chance",
          "[graph]") {
  std::vector<uint32_t> community;
  auto edges = planted(4, 500, 6, 1, 11, community);
  auto g = csr_graph::from_edges(2000, edges);
  REQUIRE(g);
  CHECK(g->edges() == static_cast<uint64_t>(std::count_if(
                          edges.begin(), edges.end(),
                          [](const edge& e) { return e.first != e.second; })));
  stream_options o;
  o.parts = 4;
  o.slack = 0.05;
  auto part = stream_partition(*g, o);
  REQUIRE(part);
  // capacity: ceil(2000 / 4 * 1.05) = 525
  std::vector<uint64_t> sizes(4, 0);
  for (auto p : *part)
    ++sizes[p];
  for (auto s : sizes)
    CHECK(s <= 525);
  // chance cuts 3/4 of the edges; the planted communities about 1/9 (of
  // 6.75 edges a node, 0.75 leave its community)
  std::vector<uint32_t> random(2000);
  std::mt19937_64 rng{5};
  for (auto& p : random)
    p = static_cast<uint32_t>(rng() % 4);
  auto cut = edge_cut(*g, *part);
  CHECK(edge_cut(*g, random) > 0.7);
  CHECK(cut < 0.2);
  // one pass alone, in an order that knows nothing of the communities,
  // cuts more
  o.passes = 1;
  auto once = stream_partition(*g, o);
  REQUIRE(once);
  CHECK(edge_cut(*g, *once) > cut);
  INFO("streamed cut " << cut << ", planted " << edge_cut(*g, community));

  auto r = renumber(*part, 4);
  REQUIRE(r);
  // the reference: an O(n) hash map from each old ID to its place
  std::unordered_map<uint32_t, partition_map::place> ref;
  std::vector<uint64_t> seen(4, 0);
  for (uint32_t v = 0; v < 2000; ++v)
    ref[v] = {(*part)[v], seen[(*part)[v]]++};
  std::vector<bool> taken(2000, false);
  for (uint32_t v = 0; v < 2000; ++v) {
    auto id = r->new_id[v];
    REQUIRE(id < 2000);
    CHECK_FALSE(taken[id]);
    taken[id] = true;
    CHECK(r->map.locate(id) == ref[v]);
    CHECK(r->map.global(ref[v].partition, ref[v].local) == id);
  }
  // the relabelled graph: the same edges under the new names
  auto h = relabel(*g, r->new_id);
  REQUIRE(h.neighbours.size() == g->neighbours.size());
  for (uint32_t v = 0; v < 2000; ++v) {
    std::vector<uint32_t> a(g->begin(v), g->end(v)), b;
    for (auto& u : a)
      u = r->new_id[u];
    b.assign(h.begin(r->new_id[v]), h.end(r->new_id[v]));
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    CHECK(a == b);
  }
  CHECK(edge_cut(h, [&] {
          std::vector<uint32_t> p(2000);
          for (uint32_t id = 0; id < 2000; ++id)
            p[id] = r->map.locate(id).partition;
          return p;
        }()) == Approx(cut));
}

TEST_CASE("graphs and partitionings name their bad input", "[graph]") {
  auto g = csr_graph::from_edges(3, {{0, 1}, {1, 3}});
  REQUIRE_FALSE(g);
  CHECK_THAT(describe(g.error()),
             Catch::Contains("edge 1 (1, 3) names a node >= 3"));
  auto ok = csr_graph::from_edges(3, {{0, 1}, {1, 1}, {1, 2}});
  REQUIRE(ok);
  CHECK(ok->edges() == 2); // the self loop is dropped
  stream_options o;
  o.parts = 4;
  auto p = stream_partition(*ok, o);
  REQUIRE_FALSE(p);
  CHECK_THAT(describe(p.error()), Catch::Contains("4 partitions of 3 nodes"));
  o.parts = 2;
  o.slack = -1;
  p = stream_partition(*ok, o);
  REQUIRE_FALSE(p);
  CHECK_THAT(describe(p.error()), Catch::Contains("slack"));
  auto r = renumber({0, 2, 1}, 2);
  REQUIRE_FALSE(r);
  CHECK_THAT(describe(r.error()),
             Catch::Contains("node 1 is in partition 2 of 2"));
}
