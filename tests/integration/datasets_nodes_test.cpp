// Datasets travel with the work: a cluster of real processes (a head and
// two workers, each in a folder of its own) runs a study and a training job
// whose data was uploaded to the head's dataset cache and then deleted, so
// that the data's path exists nowhere (a GraphSAGE job's Packages file
// too). The workers' trials fetch it into their own caches.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/automl/cli.hpp"
#include "actors/automl/study_spec.hpp"
#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "schemas/automl.capnp.h"
#include "schemas/training.capnp.h"
#include "tests/integration/training_support.hpp"
#include "tests/support/nodes.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using clock_type = std::chrono::steady_clock;

/// A worker node whose working directory and data are `dir`/NAME.
std::unique_ptr<test::process> worker_in_own_folder(test::node_set& nodes,
                                                    const std::string& dir,
                                                    const std::string& name) {
  auto home = dir + "/" + name;
  fs::create_directories(home);
  auto argv = nodes.worker_argv(name, {"--slots", "2", "--data-dir", "data"});
  std::string line = "cd '" + home + "' && exec";
  for (auto& a : argv)
    line += " '" + a + "'";
  return std::make_unique<test::process>(
      std::vector<std::string>{"/bin/sh", "-c", line}, home + ".log");
}

struct study_view {
  std::string state, message;
  uint64_t done = 0, failed = 0;
  std::set<std::string> nodes;
};

study_view study_status(cluster_client& c, const std::string& id) {
  auto r = c.send("automl", automl::ref_envelope(id), "status");
  if (!r) FAIL("status " << id << ": " << describe(r.error()));
  auto v = r->visit<schema::StudyStatus>([](auto s) {
    study_view v;
    v.state = s.getState();
    v.message = s.getMessage();
    v.done = s.getDone();
    v.failed = s.getFailed();
    for (auto row : s.getLeaderboard())
      v.nodes.insert(row.getNode());
    return v;
  });
  REQUIRE(v);
  return *v;
}

test::training_jobs::view job_status(cluster_client& c, const std::string& id) {
  auto ref = make_envelope<schema::JobRef>([&](auto r) { r.setId(id); });
  auto r = c.send("training", ref, "status");
  if (!r) FAIL("job status " << id << ": " << describe(r.error()));
  return test::training_jobs::view_of(*r);
}

caf::expected<envelope> submit_job(cluster_client& c, const std::string& id,
                                   const std::string& toml,
                                   const std::string& path,
                                   const dataset_ref& ref) {
  auto e = make_envelope<schema::JobSubmit>([&](auto s) {
    s.setId(id);
    s.setConfig(toml);
    s.setOrigin("job.toml");
    auto list = s.initDatasets(1);
    list[0].setPath(path);
    write_ref(list[0].initData(), ref);
  });
  return c.send("training", e, "submit");
}

} // namespace

TEST_CASE("a 3-node cluster whose nodes cannot see the data's path runs a "
          "study and a job from the head's dataset cache",
          "[datasets]") {
  test::temp_dir dir;
  test::node_set nodes{dir.path(), {"--slots", "1"}};
  auto w1 = worker_in_own_folder(nodes, dir.path(), "w1");
  auto w2 = worker_in_own_folder(nodes, dir.path(), "w2");
  std::unique_ptr<cluster_client> client;
  REQUIRE(test::eventually(
      [&] {
        auto c = cluster_client::connect("127.0.0.1", nodes.gateway_port(), 1s);
        if (!c) return false;
        auto as = (*c)->actors();
        if (!as) return false;
        size_t runners = 0;
        bool training = false;
        for (auto& a : *as) {
          runners += a.kind == "automl.runner" ? 1 : 0;
          training = training || a.name == "training";
        }
        if (runners != 3 || !training) return false;
        client = std::move(*c);
        return true;
      },
      20s));
  client->set_timeout(10s);
  INFO("head:\n" << nodes.head().log());

  // the submitter's files: uploaded, then gone
  auto submitter = dir / "client";
  fs::create_directories(submitter);
  auto houses = submitter + "/houses.csv";
  fs::copy_file(TROUPE_SOURCE_DIR "/tests/data/boston_housing.csv", houses);
  auto few = submitter + "/few.csv";
  test::training_jobs::write_few_values_csv(few, 2000, 5);
  auto houses_ref = client->upload_dataset(houses);
  REQUIRE(houses_ref);
  auto few_ref = client->upload_dataset(few);
  REQUIRE(few_ref);
  // the same bytes again: the head holds them, nothing moves
  auto again = client->upload_dataset(houses);
  REQUIRE(again);
  CHECK(again->hash == houses_ref->hash);
  CHECK(fs::is_regular_file(dir / ("head/datasets/" + houses_ref->hash)));
  fs::remove_all(submitter);
  REQUIRE_FALSE(fs::exists(houses));

  SECTION("a study") {
    automl::study_spec spec;
    spec.id = "houses";
    spec.family = "xgboost";
    spec.data_path = houses; // exists nowhere now
    spec.data = *houses_ref;
    spec.target = "cmedv";
    spec.task = "regression";
    spec.metric = "rmse";
    spec.sampler = "random";
    spec.scheduler = "none";
    spec.max_trials = 10;
    spec.folds = 2;
    spec.max_resource = 20;
    spec.min_resource = 5;
    spec.every = 5;
    spec.ensemble = 0;
    spec.warm_start = false;
    spec.out_dir = dir / "houses-out";
    auto sub = automl::submit_envelope(spec, 1);
    REQUIRE(sub);
    auto r = client->send("automl", *sub, "submit");
    if (!r) FAIL("submit: " << describe(r.error()));
    auto deadline = clock_type::now() + 90s;
    auto v = study_status(*client, "houses");
    while (v.state != "finished" && v.state != "failed" &&
           clock_type::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      v = study_status(*client, "houses");
    }
    INFO(v.message);
    REQUIRE(v.state == "finished");
    CHECK(v.done == 10);
    CHECK(v.failed == 0);
    // trials ran on the workers, which fetched the data into their caches
    CHECK(v.nodes.count("w1") == 1);
    CHECK(v.nodes.count("w2") == 1);
    for (auto name : {"w1", "w2"})
      CHECK(fs::is_regular_file(
          dir / (std::string{name} + "/data/datasets/" + houses_ref->hash)));
    CHECK(fs::is_directory(dir / "houses-out/best"));
  }

  SECTION("a data-parallel job") {
    auto toml = test::training_jobs::xgb_toml(few, 2u, 20);
    auto r = submit_job(*client, "few", toml, few, *few_ref);
    if (!r) FAIL("submit: " << describe(r.error()));
    auto deadline = clock_type::now() + 60s;
    auto v = job_status(*client, "few");
    while (!v.ended() && clock_type::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      v = job_status(*client, "few");
    }
    INFO(v.message);
    REQUIRE(v.state == "finished");
    CHECK(fs::is_directory(dir / "head/few/model"));
    // each worker read its own shard of the rows, fetched into its node's
    // cache, and dropped it once trained; the head dropped the gang's
    // shards when it disbanded it
    auto held = [&](const std::string& node) {
      size_t n = 0;
      std::error_code ec;
      for (auto& e : fs::directory_iterator(dir / (node + "/datasets"), ec))
        n += e.is_regular_file() ? 1 : 0;
      return n;
    };
    bool on_workers = false;
    for (auto& p : v.placement)
      on_workers = on_workers || p.find("@w") != std::string::npos;
    CHECK(on_workers);
    CHECK((w1->log() + w2->log()).find("datasets: fetched .shard-") !=
          std::string::npos);
    CHECK(test::eventually(
        [&] {
          return held("w1/data") == 0 && held("w2/data") == 0 &&
                 held("head") == 2; // the two uploads
        },
        5s));
  }

  SECTION("a GraphSAGE job") {
    // its Packages file uploaded, then gone: the head reads its cache's
    // copy, and the graph's shards travel to their nodes' caches
    auto mine = dir / "client2";
    fs::create_directories(mine);
    auto pkgs = mine + "/Packages";
    fs::copy_file(TROUPE_SOURCE_DIR "/tests/data/graph/Packages.sample", pkgs);
    auto ref = client->upload_dataset(pkgs);
    REQUIRE(ref);
    fs::remove_all(mine);
    auto toml = "family = \"graphsage\"\n[data]\npackages = \"" + pkgs +
                "\"\n[model]\nhidden = 32\ndims = 64\n[run]\nworkers = "
                "2\nshards = 2\nbatch = 48\nepochs = 6\n";
    auto r = submit_job(*client, "graph", toml, pkgs, *ref);
    if (!r) FAIL("submit: " << describe(r.error()));
    auto deadline = clock_type::now() + 60s;
    auto v = job_status(*client, "graph");
    while (!v.ended() && clock_type::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      v = job_status(*client, "graph");
    }
    INFO(v.message);
    REQUIRE(v.state == "finished");
    auto s = nlohmann::json::parse(v.summary);
    CHECK(s["nodes"] == 466);
    CHECK(s["valid"]["accuracy"].get<double>() >
          s["majority_accuracy"].get<double>());
  }

  SECTION("a job whose data the head does not hold is refused, naming it") {
    auto missing = *few_ref;
    missing.hash = std::string(64, 'e');
    auto r =
        submit_job(*client, "nodata", test::training_jobs::xgb_toml(few, 2u, 5),
                   few, missing);
    REQUIRE_FALSE(r);
    CHECK_THAT(describe(r.error()),
               Catch::Contains("few.csv") && Catch::Contains("dataset cache"));
  }

  REQUIRE(client->shutdown());
  CHECK(nodes.head().wait(15s) == 0);
  w1->wait(15s);
  w2->wait(15s);
}
