// A graph given as a node table and an edge list (graph_tables.hpp): IDs
// map to nodes in table order, labels by first appearance (a missing one:
// no label), features standardised, an edge listed both ways one edge and
// a self loop none; every kind of bad table is named by file and line. And
// a node task over given features keeps unlabelled nodes out of training
// and testing.

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <string>

#include "actors/graph/node_task.hpp"
#include "actors/training/graph_tables.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;

namespace {

struct tables {
  test::temp_dir dir;
  std::string nodes = dir.path() + "/nodes.csv";
  std::string edges = dir.path() + "/edges.csv";

  void write(const std::string& n, const std::string& e) const {
    std::ofstream{nodes} << n;
    std::ofstream{edges} << e;
  }

  caf::expected<training::table_graph> read(const std::string& id = "id",
                                            const std::string& target = "y") {
    return training::read_table_graph(nodes, edges, id, target);
  }
};

} // namespace

TEST_CASE("a node table and an edge list make a labelled graph",
          "[graph-tables]") {
  tables t;
  t.write("id,a,y,b\n"
          "x,1,cat,10\n"
          "y,2,dog,\n"
          "z,3,,30\n"
          "w,6,cat,20\n",
          "src,dst,weight\n"
          "x,y,1\n"
          "y,x,1\n" // the same edge the other way
          "z,z,1\n" // a self loop
          "w,z,1\n");
  auto g = t.read();
  REQUIRE(g);
  auto& l = g->graph;
  CHECK(l.names == std::vector<std::string>{"x", "y", "z", "w"});
  CHECK(l.label_names == std::vector<std::string>{"cat", "dog"});
  CHECK(l.labels == std::vector<uint32_t>{0, 1, graph::no_label, 0});
  CHECK(g->feature_names == std::vector<std::string>{"a", "b"});
  REQUIRE(g->cols == 2);
  // column a: mean 3, population sd sqrt(3.5)
  CHECK(g->features[0] == Approx((1 - 3) / std::sqrt(3.5)));
  CHECK(g->features[3 * 2] == Approx((6 - 3) / std::sqrt(3.5)));
  // column b: the missing cell is the mean: 0 once standardised
  CHECK(g->features[1 * 2 + 1] == 0.0f);
  CHECK(l.graph.nodes == 4);
  CHECK(l.graph.edges() == 2);
  CHECK(l.graph.degree(0) == 1);
  CHECK(l.graph.degree(2) == 1);

  // a node task over these features: the unlabelled node z is neither
  // trained on nor tested, but stays a node of the graph
  auto task = graph::node_task_of(l, g->features, g->cols, 1, 2);
  REQUIRE(task);
  CHECK(task->train.size() + task->test.size() == 3);
  for (auto* list : {&task->train, &task->test})
    for (auto v : *list)
      CHECK(task->labels[v] != graph::no_label);
  CHECK(task->graph.nodes == 4);
  auto bad = graph::node_task_of(l, {1.0f, 2.0f}, 2, 1);
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()), Catch::Contains("feature values"));
}

TEST_CASE("bad node tables and edge lists are named by file and line",
          "[graph-tables]") {
  tables t;
  auto error = [&](const std::string& n, const std::string& e,
                   const std::string& id = "id") {
    t.write(n, e);
    auto g = t.read(id);
    return g ? std::string{"(read)"} : describe(g.error());
  };
  const std::string ok_nodes = "id,a,y\nx,1,p\nz,2,q\n";
  const std::string ok_edges = "s,d\nx,z\n";
  CHECK(error(ok_nodes, ok_edges) == "(read)");
  CHECK_THAT(error(ok_nodes, ok_edges, "name"),
             Catch::Contains("no ID column 'name'") &&
                 Catch::Contains("id, a, y"));
  CHECK_THAT(error("id,a,z\nx,1,p\n", ok_edges),
             Catch::Contains("no target column 'y'"));
  CHECK_THAT(error("id,a,y\nx,1,p\nx,2,q\n", ok_edges),
             Catch::Contains("nodes.csv:3") && Catch::Contains("twice"));
  CHECK_THAT(error("id,a,y\nx,1,p\n,2,q\n", ok_edges),
             Catch::Contains("nodes.csv:3") && Catch::Contains("no ID"));
  CHECK_THAT(error("id,a,y\nx,1,p\nz,2,p\n", ok_edges),
             Catch::Contains("1 class(es)"));
  CHECK_THAT(error("id,a,y\nx,one,p\nz,2,q\n", ok_edges),
             Catch::Contains("column 'a' is not numeric"));
  CHECK_THAT(error("id,y\nx,p\nz,q\n", ok_edges),
             Catch::Contains("no feature column"));
  CHECK_THAT(error(ok_nodes, "s\nx\n"), Catch::Contains("two columns"));
  CHECK_THAT(error(ok_nodes, "s,d\nx,z\nz,q\n"),
             Catch::Contains("edges.csv:3") && Catch::Contains("'d' = 'q'"));
}
