// A graph shard's file keeps its partition, features and labels exactly,
// and a file that is not one is named with what is wrong; a minibatch's
// neighbourhood renumbered to its rows keeps its structure.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "actors/graph/metis.hpp"
#include "actors/graph/partition.hpp"
#include "actors/graph/sampler.hpp"
#include "actors/graph/shard_file.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/graph/planted.hpp"

using namespace troupe;
using namespace troupe::graph;

namespace {

struct split_graph {
  csr_graph g;
  partition_map map;
  std::vector<float> features;
  std::vector<uint32_t> labels;
};

split_graph three_parts(uint32_t dims) {
  auto p = test::partitioned_planted(3, 100, 6, 2, 9, 3);
  split_graph s;
  s.g = std::move(p.graph);
  s.map = p.map;
  for (uint32_t v = 0; v < 300; ++v) {
    for (uint32_t d = 0; d < dims; ++d)
      s.features.push_back(static_cast<float>(v) + 0.25f * d);
    s.labels.push_back(v % 7);
  }
  return s;
}

} // namespace

TEST_CASE("a graph shard file reads back the partition, features and labels "
          "it was written with",
          "[graph][shard-file]") {
  test::temp_dir dir;
  auto t = three_parts(4);
  for (uint32_t p = 0; p < 3; ++p) {
    auto s = graph_shard_of(t.g, t.map, p, t.features, 4, t.labels);
    REQUIRE(s);
    CHECK(s->features.size() == s->view.owned() * 4);
    CHECK(s->features[0] == static_cast<float>(s->view.begin));
    auto path = dir.path() + "/p" + std::to_string(p);
    REQUIRE_FALSE(write_graph_shard(path, *s));
    auto back = read_graph_shard(path);
    REQUIRE(back);
    CHECK(back->view.partition == p);
    CHECK(back->view.begin == s->view.begin);
    CHECK(back->view.end == s->view.end);
    CHECK(back->view.halo == s->view.halo);
    CHECK(back->view.offsets == s->view.offsets);
    CHECK(back->view.neighbours == s->view.neighbours);
    CHECK(back->dims == 4);
    CHECK(back->features == s->features);
    CHECK(back->labels == s->labels);
  }
}

TEST_CASE("a file that is no usable graph shard is named with what is wrong",
          "[graph][shard-file]") {
  test::temp_dir dir;
  auto t = three_parts(2);
  auto s = graph_shard_of(t.g, t.map, 1, t.features, 2, t.labels);
  REQUIRE(s);
  auto path = dir.path() + "/good";
  REQUIRE_FALSE(write_graph_shard(path, *s));
  auto expect = [](const std::string& file, const std::string& what) {
    auto r = read_graph_shard(file);
    REQUIRE_FALSE(r);
    CHECK_THAT(describe(r.error()), Catch::Contains(file));
    CHECK_THAT(describe(r.error()), Catch::Contains(what));
  };
  expect(dir.path() + "/missing", "missing");
  { std::ofstream{dir.path() + "/text"} << "family = \"mlp\"\n"; }
  expect(dir.path() + "/text", "no TRPGSHD1 header");
  // cut short
  std::filesystem::copy_file(path, dir.path() + "/short");
  std::filesystem::resize_file(dir.path() + "/short",
                               std::filesystem::file_size(path) - 8);
  expect(dir.path() + "/short", "where its header says");
  // a neighbour pointing past the shard's nodes
  auto broken = *s;
  broken.view.neighbours[0] = broken.view.owned() + 10000;
  REQUIRE_FALSE(write_graph_shard(dir.path() + "/broken", broken));
  expect(dir.path() + "/broken", "is past its");
  // features that do not fit the nodes are refused when written
  auto wrong = *s;
  wrong.features.pop_back();
  auto err = write_graph_shard(dir.path() + "/wrong", wrong);
  REQUIRE(err);
  CHECK_THAT(describe(err), Catch::Contains("feature values"));
  CHECK_FALSE(graph_shard_of(t.g, t.map, 1, t.features, 3, t.labels));
}

TEST_CASE("a neighbourhood renumbered to its rows keeps every edge and lists "
          "each node once, seeds first",
          "[graph][shard-file]") {
  auto t = three_parts(1);
  sample_options o;
  o.fanouts = {4, 3};
  o.seed = 3;
  std::vector<uint32_t> seeds{5, 77, 150, 299};
  auto whole = sample_neighbourhood(t.g, seeds, o);
  REQUIRE(whole);
  auto rows = *whole;
  auto ids = compact(rows);
  // the seeds are the first rows
  for (size_t i = 0; i < seeds.size(); ++i)
    CHECK(ids[i] == seeds[i]);
  std::set<uint32_t> distinct(ids.begin(), ids.end());
  CHECK(distinct.size() == ids.size());
  for (size_t h = 0; h < 2; ++h) {
    auto& a = whole->hops[h];
    auto& b = rows.hops[h];
    CHECK(a.offsets == b.offsets);
    REQUIRE(a.frontier.size() == b.frontier.size());
    for (size_t i = 0; i < a.frontier.size(); ++i)
      CHECK(ids[b.frontier[i]] == a.frontier[i]);
    for (size_t i = 0; i < a.neighbours.size(); ++i)
      CHECK(ids[b.neighbours[i]] == a.neighbours[i]);
  }
}
