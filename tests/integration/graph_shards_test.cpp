// Graph shard actors on an in-process cluster's nodes (a head and two
// workers joined over loopback): each loads its partition's file, shipped
// through the dataset caches, and serves neighbour samples and node
// features; sampled through them, a neighbourhood is the one a single
// process samples over the whole graph. Bad requests and files are named.

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>

#include <caf/all.hpp>

#include "actors/graph/metis.hpp"
#include "actors/graph/partition.hpp"
#include "actors/graph/sampler.hpp"
#include "actors/graph/shard_actor.hpp"
#include "actors/graph/shard_client.hpp"
#include "actors/graph/shard_file.hpp"
#include "actors/graph/shard_placement.hpp"
#include "runtime/errors.hpp"
#include "runtime/node.hpp"
#include "schemas/graph.capnp.h"
#include "tests/support/process.hpp"
#include "tests/unit/graph/planted.hpp"

using namespace troupe;
using namespace troupe::graph;
using namespace std::chrono_literals;

namespace {

struct sharded_graph {
  csr_graph g;
  partition_map map;
  std::vector<float> features;
  std::vector<uint32_t> labels;
  std::vector<std::string> files;
};

sharded_graph write_parts(const std::string& dir, uint32_t parts) {
  auto p0 = test::partitioned_planted(parts, 200, 8, 2, 17, parts);
  sharded_graph s;
  s.g = std::move(p0.graph);
  s.map = p0.map;
  for (uint32_t v = 0; v < s.g.nodes; ++v) {
    s.features.push_back(static_cast<float>(v));
    s.features.push_back(-0.5f * static_cast<float>(v));
    s.features.push_back(static_cast<float>(s.g.degree(v)));
    s.labels.push_back(v % 5);
  }
  for (uint32_t p = 0; p < parts; ++p) {
    auto sh = graph_shard_of(s.g, s.map, p, s.features, 3, s.labels);
    REQUIRE(sh);
    s.files.push_back(dir + "/part-" + std::to_string(p));
    REQUIRE_FALSE(write_graph_shard(s.files.back(), *sh));
  }
  return s;
}

std::string error_text(const caf::expected<std::vector<caf::actor>>& x) {
  return x ? std::string{} : describe(x.error());
}

} // namespace

TEST_CASE("graph shard actors on three nodes serve the neighbourhoods one "
          "process samples over the whole graph, and every node's features",
          "[graph-shards]") {
  test::temp_dir dir;
  auto t = write_parts(dir.path(), 3);
  auto cluster = local_cluster::start(2, 1, register_graph_kinds, {}, {},
                                      dir.path() + "/nodes");
  REQUIRE(cluster);
  auto& sys = (*cluster)->head_system();
  auto shards = place_shards(sys, (*cluster)->directory(),
                             {"head", "worker-1", "worker-2"}, t.files);
  INFO(error_text(shards));
  REQUIRE(static_cast<bool>(shards));
  shard_client client{sys, t.map, *shards};
  for (uint64_t seed : {1u, 2u, 99u}) {
    sample_options o;
    o.fanouts = {6, 4};
    o.seed = seed;
    std::vector<uint32_t> seeds;
    for (uint32_t v = static_cast<uint32_t>(seed); v < t.g.nodes; v += 23)
      seeds.push_back(v);
    auto whole = sample_neighbourhood(t.g, seeds, o);
    REQUIRE(whole);
    auto through = client.sample(seeds, o);
    REQUIRE(through);
    REQUIRE(through->hops.size() == 2);
    for (size_t h = 0; h < 2; ++h) {
      CHECK(through->hops[h].frontier == whole->hops[h].frontier);
      CHECK(through->hops[h].offsets == whole->hops[h].offsets);
      CHECK(through->hops[h].neighbours == whole->hops[h].neighbours);
    }
    // a minibatch: the same neighbourhood in rows, each row's features
    // and label the node's
    auto b = client.batch(seeds, o);
    REQUIRE(b);
    CHECK(b->rows.dims == 3);
    REQUIRE(b->rows.labels.size() == b->nodes.size());
    bool same = true;
    for (size_t i = 0; i < b->nodes.size(); ++i) {
      auto v = b->nodes[i];
      for (uint32_t d = 0; d < 3; ++d)
        same = same && b->rows.values[i * 3 + d] == t.features[v * 3 + d];
      same = same && b->rows.labels[i] == t.labels[v];
    }
    CHECK(same);
    CHECK(b->hops.hops[1].neighbours.size() ==
          whole->hops[1].neighbours.size());
  }
  // every node's features, asked all at once in a shuffled order
  std::vector<uint32_t> all;
  for (uint32_t v = t.g.nodes; v-- > 0;)
    all.push_back(v);
  auto rows = client.features(all);
  REQUIRE(rows);
  bool same = true;
  for (size_t i = 0; i < all.size(); ++i)
    same = same && rows->values[i * 3] == t.features[all[i] * 3] &&
           rows->labels[i] == t.labels[all[i]];
  CHECK(same);
  // a shard asked for a node it does not own names it
  caf::scoped_actor self{sys};
  auto foreign = static_cast<uint32_t>(t.map.start(2));
  auto req = make_envelope<schema::GraphNodes>(
      [&](auto r) { r.initNodes(1).set(0, foreign); });
  std::string message;
  self->request((*shards)[0], 10s, graph_features_atom::value, req)
      .receive([](const envelope&) { FAIL("a foreign node was served"); },
               [&](caf::error& err) { message = describe(err); });
  CHECK_THAT(message,
             Catch::Contains("does not own node " + std::to_string(foreign)));
}

TEST_CASE("graph shards name a node that is not there, a shard with nothing "
          "loaded and a file that is no shard",
          "[graph-shards]") {
  test::temp_dir dir;
  auto t = write_parts(dir.path(), 2);
  auto cluster = local_cluster::start(1, 1, register_graph_kinds, {}, {},
                                      dir.path() + "/nodes");
  REQUIRE(cluster);
  auto& sys = (*cluster)->head_system();
  auto directory = (*cluster)->directory();
  // no such node
  auto nowhere = place_shards(sys, directory, {"head", "worker-9"}, t.files);
  REQUIRE_FALSE(nowhere);
  CHECK_THAT(describe(nowhere.error()),
             Catch::Contains("graph shard 1 on node 'worker-9'"));
  // a text file as partition 1, shipped through the caches: named, and
  // the shards placed are stopped
  { std::ofstream{dir.path() + "/notes.txt"} << "not a graph\n"; }
  shard_placement how;
  how.prefix = "bad.";
  auto garbage = place_shards(sys, directory, {"head", "worker-1"},
                              {t.files[0], dir.path() + "/notes.txt"}, how);
  REQUIRE_FALSE(garbage);
  CHECK_THAT(describe(garbage.error()),
             Catch::Contains("graph shard 1 on node 'worker-1'"));
  CHECK_THAT(describe(garbage.error()), Catch::Contains("no TRPGSHD1 header"));
  // a shard that loaded nothing says so
  caf::scoped_actor self{sys};
  self->request(directory, 10s, caf::spawn_atom::value,
                std::string{graph_shard_kind}, std::string{"worker-1"},
                std::string{}, std::string{"empty.shard"})
      .receive([](const envelope&) {},
               [](caf::error& err) { FAIL("spawn: " << describe(err)); });
  caf::actor empty;
  self->request(directory, 10s, lookup_atom::value, std::string{"empty.shard"})
      .receive([&](const caf::actor& a) { empty = a; },
               [](caf::error& err) { FAIL("lookup: " << describe(err)); });
  auto req = make_envelope<schema::GraphSampleRequest>([](auto r) {
    r.initNodes(1).set(0, 0);
    r.setK(3);
  });
  std::string message;
  self->request(empty, 10s, graph_sample_atom::value, req)
      .receive([](const envelope&) { FAIL("an empty shard sampled"); },
               [&](caf::error& err) { message = describe(err); });
  CHECK_THAT(message, Catch::Contains("empty.shard has no partition loaded"));
  // by path, the good files load (one machine)
  how.prefix = "good.";
  how.through_caches = false;
  auto good = place_shards(sys, directory, {"head", "worker-1"}, t.files, how);
  INFO(error_text(good));
  CHECK(static_cast<bool>(good));
}

TEST_CASE("a cluster whose worker fetched its shard through the caches "
          "stops every time",
          "[graph-shards]") {
  // a node whose dataset cache had fetched from another once hung while
  // stopping (runtime/dataset_cache.hpp): a hang here is ctest's timeout
  test::temp_dir dir;
  auto t = write_parts(dir.path(), 2);
  for (int round = 0; round < 20; ++round) {
    auto cluster =
        local_cluster::start(1, 1, register_graph_kinds, {}, {},
                             dir.path() + "/nodes-" + std::to_string(round));
    REQUIRE(cluster);
    auto shards =
        place_shards((*cluster)->head_system(), (*cluster)->directory(),
                     {"head", "worker-1"}, t.files);
    INFO("round " << round << ": " << error_text(shards));
    REQUIRE(static_cast<bool>(shards));
  }
}
