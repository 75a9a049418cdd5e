// Tensor-parallel jobs on an in-process cluster (a head and a worker joined
// over loopback), submitted to the head's training service through the
// gateway: a classifier whose layers are split over two worker actors on
// two nodes (a gloo group) trains the net one worker trains alone
// (validation logloss relative <= 1e-4), each worker holding about half of
// it, keeps every rank's part at each epoch as one checkpoint, and beats
// the majority class on Fashion-MNIST; bad tensor configs are named.

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/training/job_config.hpp"
#include "actors/training/job_journal.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"
#include "tests/integration/training_cluster.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using namespace troupe::test::training_jobs;

using troupe::test::relative;

namespace {

std::string tensor_toml(uint32_t workers) {
  return std::string{"family = \"tensor\"\n[data]\nimages = \""} +
         TROUPE_SOURCE_DIR +
         "/tests/data/fashion-mnist-small\"\n"
         "[model]\nwidth = 32\nhidden = 64\nblocks = 2\nlr = 0.003\n"
         "[run]\nworkers = " +
         std::to_string(workers) +
         "\nbatch = 40\nepochs = 3\ncheckpoint_seconds = 0.01\nseed = 5\n";
}

} // namespace

TEST_CASE("a tensor-parallel job's two workers on two nodes train the net "
          "one worker trains alone, each holding about half of it",
          "[tensor-job]") {
  test::temp_dir dir;
  training_cluster t{dir, 1, 1}; // 2 slots over 2 nodes
  REQUIRE(t.submit("one", tensor_toml(1)));
  auto one = t.wait_for("one", [](const view& v) { return v.ended(); });
  INFO(one.state << ": " << one.message);
  REQUIRE(one.state == "finished");
  auto s1 = nlohmann::json::parse(one.summary);
  CHECK(s1["valid"]["accuracy"].get<double>() > 0.5);
  REQUIRE(t.submit("two", tensor_toml(2)));
  auto two = t.wait_for("two", [](const view& v) { return v.ended(); });
  INFO(two.state << ": " << two.message);
  REQUIRE(two.state == "finished");
  auto s2 = nlohmann::json::parse(two.summary);
  CHECK(relative(s2["valid"]["logloss"].get<double>(),
                 s1["valid"]["logloss"].get<double>()) <= 1e-4);
  CHECK(s2["valid"]["accuracy"] == s1["valid"]["accuracy"]);
  REQUIRE(s2["ranks"].size() == 2);
  CHECK(s2["ranks"][0]["node"] != s2["ranks"][1]["node"]);
  auto whole = s1["ranks"][0]["parameter_bytes"].get<double>();
  for (auto& r : s2["ranks"])
    CHECK(r["parameter_bytes"].get<double>() < 0.6 * whole);
  REQUIRE(s2["usage"].size() == 2);
  CHECK(two.step == 3);
  // the journal: every rank's part at epoch 2 as one checkpoint
  auto journal = training::job_journal::open(dir.path() + "/jobs");
  REQUIRE(journal);
  auto stored = (*journal)->checkpoint("two");
  REQUIRE(stored);
  REQUIRE(stored->has_value());
  auto model = (*stored)->visit<schema::JobCheckpoint>(
      [](auto c) {
        auto m = c.getModel();
        return std::make_pair(c.getStep(),
                              std::vector<uint8_t>(m.begin(), m.end()));
      },
      reader_limits{1u << 26, 64});
  REQUIRE(model);
  CHECK(model->first == 2);
  auto states =
      envelope::from_bytes(capnp::typeId<schema::MemberStates>(),
                           model->second.data(), model->second.size());
  REQUIRE(states);
  auto n = states->visit<schema::MemberStates>(
      [](auto m) { return size_t{m.getStates().size()}; },
      reader_limits{1u << 26, 64});
  REQUIRE(n);
  CHECK(*n == 2);
}

TEST_CASE("a tensor config names its bad settings", "[tensor-job]") {
  auto parse = [](const std::string& run, const std::string& model = "") {
    auto text = std::string{"family = \"tensor\"\n[data]\nimages = "
                            "\"imgs\"\n[model]\n"} +
                model + "\n[run]\n" + run + "\n";
    auto c = training::parse_job_config(text, "job.toml");
    return c ? std::string{} : describe(c.error());
  };
  CHECK(parse("workers = 2", "hidden = 128\nblocks = 3").empty());
  CHECK_THAT(parse("workers = \"1:2\""), Catch::Contains("fixed number"));
  CHECK_THAT(parse("workers = 2", "layers = 3"),
             Catch::Contains("not a setting of family tensor"));
  CHECK_THAT(parse("stages = 2"),
             Catch::Contains("not a setting of family tensor"));
  CHECK_THAT(parse("workers = 2", "widht = 3"),
             Catch::Contains("width, hidden, blocks, lr or weight_decay"));
  auto mlp = training::parse_job_config(
      "family = \"mlp\"\n[data]\nimages = \"imgs\"\n[model]\nhidden = 8\n",
      "job.toml");
  REQUIRE_FALSE(mlp);
  CHECK_THAT(describe(mlp.error()), Catch::Contains("hidden"));
}
