// GraphSAGE jobs on an in-process cluster (a head and a worker joined over
// loopback), submitted to the head's training service through the
// gateway: two worker actors on two nodes, sampling their minibatches
// through graph shard actors the job placed on both nodes, train the net
// one worker trains alone and beat the majority class on Debian's package
// graph; a graph given as a node table and an edge list trains the same
// way; bad graph configs and bad tables are named.

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/training/job_config.hpp"
#include "actors/training/job_journal.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"
#include "tests/integration/training_cluster.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/graph/planted.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using namespace troupe::test::training_jobs;

using troupe::test::relative;

namespace {

std::string packages_toml(uint32_t workers) {
  return std::string{"family = \"graphsage\"\n[data]\npackages = \""} +
         TROUPE_SOURCE_DIR +
         "/tests/data/graph/Packages.sample\"\n"
         "[model]\nhidden = 32\ndims = 64\n"
         "[run]\nworkers = " +
         std::to_string(workers) +
         "\nshards = 2\nbatch = 48\nepochs = 8\ncheckpoint_seconds = "
         "0.01\nseed = 4\n";
}

/// A node table and an edge list of 4 planted communities of 60 nodes: a
/// node's label is its community, its features the community's one-hot
/// drowned in noise (a node alone is hard to tell; its neighbours, mostly
/// of its community, say it); every tenth node has no label.
void write_planted_tables(const std::string& dir) {
  std::vector<uint32_t> community;
  auto edges = test::planted(4, 60, 6, 1, 11, community);
  std::mt19937_64 rng{3};
  std::normal_distribution<double> noise{0.0, 1.2};
  std::ofstream nodes{dir + "/nodes.csv"};
  nodes << "name,f0,f1,f2,f3,community\n";
  for (size_t v = 0; v < community.size(); ++v) {
    nodes << "n" << v;
    for (uint32_t k = 0; k < 4; ++k)
      nodes << "," << (community[v] == k ? 1.0 : 0.0) + noise(rng);
    nodes << "," << (v % 10 == 0 ? "" : "c" + std::to_string(community[v]))
          << "\n";
  }
  std::ofstream list{dir + "/edges.csv"};
  list << "from,to\n";
  for (auto& [a, b] : edges)
    list << "n" << a << ",n" << b << "\n";
}

} // namespace

TEST_CASE("a GraphSAGE job's two workers on two nodes sample through shards "
          "on both and train the net one worker trains alone, beating the "
          "majority class",
          "[graph-job]") {
  test::temp_dir dir;
  training_cluster t{dir, 1, 1}; // 2 slots over 2 nodes
  REQUIRE(t.submit("one", packages_toml(1)));
  auto one = t.wait_for("one", [](const view& v) { return v.ended(); });
  INFO(one.state << ": " << one.message);
  REQUIRE(one.state == "finished");
  auto s1 = nlohmann::json::parse(one.summary);
  auto majority = s1["majority_accuracy"].get<double>();
  INFO("accuracy " << s1["valid"]["accuracy"] << ", majority " << majority);
  CHECK(s1["valid"]["accuracy"].get<double>() >= majority + 0.08);
  CHECK(s1["nodes"] == 466);
  CHECK(s1["shards"] == 2);
  REQUIRE(t.submit("two", packages_toml(2)));
  auto two = t.wait_for("two", [](const view& v) { return v.ended(); });
  INFO(two.state << ": " << two.message);
  REQUIRE(two.state == "finished");
  auto s2 = nlohmann::json::parse(two.summary);
  // the replicas' summed gradients are the one worker's
  CHECK(relative(s2["valid"]["logloss"].get<double>(),
                 s1["valid"]["logloss"].get<double>()) <= 1e-3);
  CHECK(std::abs(s2["valid"]["accuracy"].get<double>() -
                 s1["valid"]["accuracy"].get<double>()) <= 0.02);
  CHECK(relative(s2["train_loss"].get<double>(),
                 s1["train_loss"].get<double>()) <= 1e-3);
  // two workers on two nodes, a shard beside each
  REQUIRE(two.placement.size() == 4);
  CHECK(two.placement[0].substr(two.placement[0].find('@')) !=
        two.placement[1].substr(two.placement[1].find('@')));
  REQUIRE(s2["shard_placement"].size() == 2);
  CHECK(s2["shard_placement"][0].get<std::string>().substr(
            s2["shard_placement"][0].get<std::string>().find('@')) !=
        s2["shard_placement"][1].get<std::string>().substr(
            s2["shard_placement"][1].get<std::string>().find('@')));
  // the workers' time: sampling through the shards is waiting for data
  REQUIRE(s2["usage"].size() == 2);
  for (auto& u : s2["usage"]) {
    CHECK(u["data"].get<double>() > 0);
    CHECK(u["comm"].get<double>() > 0);
  }
  CHECK(two.step == 8);
  // the journal: the net of epoch 7 as the last checkpoint
  auto journal = training::job_journal::open(dir.path() + "/jobs");
  REQUIRE(journal);
  auto stored = (*journal)->checkpoint("two");
  REQUIRE(stored);
  REQUIRE(stored->has_value());
  auto step = (*stored)->visit<schema::JobCheckpoint>(
      [](auto c) { return c.getStep(); }, reader_limits{1u << 26, 64});
  REQUIRE(step);
  CHECK(*step == 7);
}

TEST_CASE("a GraphSAGE job reads a graph given as a node table and an edge "
          "list, and names what is wrong with them",
          "[graph-job]") {
  test::temp_dir dir;
  write_planted_tables(dir.path());
  training_cluster t{dir, 1, 1};
  auto toml = [&](const std::string& nodes, const std::string& edges) {
    return "family = \"graphsage\"\n[data]\nnodes = \"" + dir.path() + "/" +
           nodes + "\"\nedges = \"" + dir.path() + "/" + edges +
           "\"\nid = \"name\"\ntarget = \"community\"\n"
           "[model]\nhidden = 16\nlr = 0.02\n"
           "[run]\nworkers = 2\nshards = 2\nbatch = 32\nepochs = 15\n"
           "seed = 2\n";
  };
  REQUIRE(t.submit("tables", toml("nodes.csv", "edges.csv")));
  auto v = t.wait_for("tables", [](const view& v) { return v.ended(); });
  INFO(v.state << ": " << v.message);
  REQUIRE(v.state == "finished");
  auto s = nlohmann::json::parse(v.summary);
  CHECK(s["nodes"] == 240);
  CHECK(s["features"] == 4);
  CHECK(s["classes"].size() == 4);
  // every tenth node has no label: neither trained on nor tested
  CHECK(s["train_nodes"].get<size_t>() + s["test_nodes"].get<size_t>() == 216);
  auto majority = s["majority_accuracy"].get<double>();
  INFO("accuracy " << s["valid"]["accuracy"] << ", majority " << majority);
  CHECK(s["valid"]["accuracy"].get<double>() >= majority + 0.3);

  // bad tables fail the job with the file, line and column named
  {
    std::ofstream bad{dir.path() + "/bad_nodes.csv"};
    bad << "name,f0,colour,community\nn0,1,red,a\nn1,2,blue,b\n";
  }
  REQUIRE(t.submit("bad-column", toml("bad_nodes.csv", "edges.csv")));
  auto b1 = t.wait_for("bad-column", [](const view& v) { return v.ended(); });
  CHECK(b1.state == "failed");
  CHECK_THAT(b1.message,
             Catch::Contains("colour") && Catch::Contains("not numeric"));
  {
    std::ofstream bad{dir.path() + "/bad_edges.csv"};
    bad << "from,to\nn1,n2\nn3,n9999\n";
  }
  REQUIRE(t.submit("bad-edge", toml("nodes.csv", "bad_edges.csv")));
  auto b2 = t.wait_for("bad-edge", [](const view& v) { return v.ended(); });
  CHECK(b2.state == "failed");
  CHECK_THAT(b2.message,
             Catch::Contains("bad_edges.csv:3") && Catch::Contains("n9999"));
}

TEST_CASE("a graphsage config names its bad settings", "[graph-job]") {
  auto parse = [](const std::string& data, const std::string& model = "",
                  const std::string& run = "") {
    auto text = "family = \"graphsage\"\n[data]\n" + data + "\n[model]\n" +
                model + "\n[run]\n" + run + "\n";
    auto c = training::parse_job_config(text, "job.toml");
    return c ? std::string{} : describe(c.error());
  };
  const std::string pkgs = "packages = [\"a\", \"b\"]";
  const std::string tables =
      "nodes = \"n.csv\"\nedges = \"e.csv\"\ntarget = \"y\"";
  CHECK(parse(pkgs).empty());
  CHECK(parse(tables, "fanouts = [15, 10]\nhidden = 64",
              "workers = \"1:3\"\nshards = 4\ncheckpoint_epochs = 2")
            .empty());
  auto cfg = training::parse_job_config(
      "family = \"graphsage\"\n[data]\n" + pkgs + "\n", "/jobs/job.toml");
  REQUIRE(cfg);
  CHECK(cfg->graph.packages.front() == "/jobs/a");
  CHECK(cfg->shards == 2);
  CHECK(cfg->batch == 512);
  CHECK_THAT(parse(""), Catch::Contains("no graph"));
  CHECK_THAT(parse(pkgs + "\n" + tables), Catch::Contains("exclude"));
  CHECK_THAT(parse("nodes = \"n.csv\"\ntarget = \"y\""),
             Catch::Contains("nodes without edges"));
  CHECK_THAT(parse("nodes = \"n.csv\"\nedges = \"e.csv\""),
             Catch::Contains("no [data] target"));
  CHECK_THAT(parse(pkgs, "fanouts = [10, 5, 2]"),
             Catch::Contains("2 hops") && Catch::Contains("job.toml:5"));
  CHECK_THAT(parse(pkgs, "layers = 2"),
             Catch::Contains("hidden, dims, fanouts, lr or weight_decay"));
  CHECK_THAT(parse(pkgs + "\ntrain = \"x.csv\""),
             Catch::Contains("packages, nodes, edges, id, target or holdout"));
  CHECK_THAT(parse(pkgs, "", "valid_every = 2"),
             Catch::Contains("not a setting of family graphsage"));
  CHECK_THAT(parse(pkgs, "", "stages = 2"),
             Catch::Contains("not a setting of family graphsage"));
  CHECK_THAT(parse(pkgs, "", "micro = 2"),
             Catch::Contains("not a setting of family graphsage"));
  CHECK_THAT(parse("packages = []"), Catch::Contains("Debian Packages files"));
}
