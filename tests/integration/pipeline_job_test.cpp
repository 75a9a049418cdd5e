// Pipeline jobs on an in-process cluster (a head and a worker joined over
// loopback), submitted to the head's training service through the gateway:
// a net cut into two stage actors on two nodes, exchanging activations and
// gradients as PipelineTensor envelopes, trains the net one stage trains
// alone (validation logloss relative <= 1e-4) under 1F1B and GPipe, keeps
// every stage's state at each epoch as one checkpoint in its journal, and
// beats the majority class on Fashion-MNIST; bad pipeline configs are
// named.

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

std::string pipeline_toml(uint32_t stages, const std::string& schedule,
                          uint32_t epochs = 3, const std::string& run = "") {
  return std::string{"family = \"pipeline\"\n[data]\nimages = \""} +
         TROUPE_SOURCE_DIR +
         "/tests/data/fashion-mnist-small\"\n"
         "[model]\nlayers = 3\nwidth = 32\nactivation = \"tanh\"\n"
         "lr = 0.003\n"
         "[run]\nstages = " +
         std::to_string(stages) + "\nmicro = 4\nschedule = \"" + schedule +
         "\"\nbatch = 40\nepochs = " + std::to_string(epochs) +
         "\ncheckpoint_seconds = 0.01\nseed = 5\n" + run;
}

} // namespace

TEST_CASE("a pipeline job's two stage actors on two nodes train the net one "
          "stage trains alone, and keep every stage's state as one "
          "checkpoint each epoch",
          "[pipeline-job]") {
  test::temp_dir dir;
  training_cluster t{dir, 1, 1}; // 2 slots over 2 nodes
  REQUIRE(t.submit("whole", pipeline_toml(1, "1f1b")));
  auto whole = t.wait_for("whole", [](const view& v) { return v.ended(); });
  INFO(whole.state << ": " << whole.message);
  REQUIRE(whole.state == "finished");
  auto ws = nlohmann::json::parse(whole.summary);
  auto base = ws["valid"]["logloss"].get<double>();
  // Fashion-MNIST's ten classes: a net that learnt something
  CHECK(ws["valid"]["accuracy"].get<double>() > 0.5);
  for (auto schedule : {"1f1b", "gpipe"}) {
    auto id = std::string{"cut-"} + schedule;
    REQUIRE(t.submit(id, pipeline_toml(2, schedule)));
    auto v = t.wait_for(id, [](const view& v) { return v.ended(); });
    INFO(schedule << ": " << v.state << ": " << v.message);
    REQUIRE(v.state == "finished");
    auto summary = nlohmann::json::parse(v.summary);
    CHECK(relative(summary["valid"]["logloss"].get<double>(), base) <= 1e-4);
    REQUIRE(summary["stages"].size() == 2);
    // one stage a node: their tensors crossed the loopback as envelopes
    CHECK(summary["stages"][0]["node"] != summary["stages"][1]["node"]);
    CHECK(summary["stages"][0]["layers"][1] ==
          summary["stages"][1]["layers"][0]);
    CHECK(summary["stages"][1]["layers"][1] == 4);
    // every stage reported its split: the first waits on the last
    REQUIRE(summary["usage"].size() == 2);
    CHECK(summary["usage"][0]["comm"].get<double>() > 0);
    CHECK(v.step == 3);
  }
  // cut where the user says: the last stage holds the head alone
  REQUIRE(
      t.submit("cut-user", pipeline_toml(2, "1f1b", 3, "starts = [0, 3]\n")));
  auto u = t.wait_for("cut-user", [](const view& v) { return v.ended(); });
  INFO(u.state << ": " << u.message);
  REQUIRE(u.state == "finished");
  auto us = nlohmann::json::parse(u.summary);
  CHECK(us["stages"][1]["layers"][0] == 3);
  CHECK(relative(us["valid"]["logloss"].get<double>(), base) <= 1e-4);
  // the journal: the checkpoints of epochs 1 and 2, each every stage's
  // state at that epoch
  auto journal = training::job_journal::open(dir.path() + "/jobs");
  REQUIRE(journal);
  auto stored = (*journal)->checkpoint("cut-1f1b");
  REQUIRE(stored);
  REQUIRE(stored->has_value());
  auto& ckpt = **stored;
  auto step =
      ckpt.visit<schema::JobCheckpoint>([](auto c) { return c.getStep(); });
  REQUIRE(step);
  CHECK(*step == 2);
  auto model = ckpt.visit<schema::JobCheckpoint>(
      [](auto c) {
        auto m = c.getModel();
        return std::vector<uint8_t>(m.begin(), m.end());
      },
      reader_limits{1u << 26, 64});
  REQUIRE(model);
  auto state = envelope::from_bytes(capnp::typeId<schema::PipelineState>(),
                                    model->data(), model->size());
  REQUIRE(state);
  auto stages = state->visit<schema::PipelineState>(
      [](auto p) { return size_t{p.getStages().size()}; },
      reader_limits{1u << 26, 64});
  REQUIRE(stages);
  CHECK(*stages == 2);
}

TEST_CASE("a pipeline config names its bad settings", "[pipeline-job]") {
  auto parse = [](const std::string& run, const std::string& model = "") {
    auto text = std::string{"family = \"pipeline\"\n[data]\nimages = "
                            "\"imgs\"\n[model]\n"} +
                model + "\n[run]\n" + run + "\n";
    auto c = training::parse_job_config(text, "job.toml");
    return c ? std::string{} : describe(c.error());
  };
  CHECK(parse("stages = 2").empty());
  CHECK_THAT(parse("schedule = \"zigzag\""), Catch::Contains("zigzag"));
  CHECK_THAT(parse("workers = 2"),
             Catch::Contains("'run.workers' is not a setting of family "
                             "pipeline"));
  CHECK_THAT(parse("micro = 100\nbatch = 10"), Catch::Contains("micro = 100"));
  CHECK_THAT(parse("stages = 5", "layers = 2"),
             Catch::Contains("stages = 5 for a net of 3 layers"));
  CHECK_THAT(parse("stages = 2\nstarts = [0, 0]"),
             Catch::Contains("'run.starts' is not each stage's first layer"));
  CHECK_THAT(parse("stages = 3\nstarts = [0, 2]"),
             Catch::Contains("starts = 2 stages' first layers for stages = 3"));
  CHECK_THAT(parse("stages = 2\nstarts = [0, 3]", "layers = 2"),
             Catch::Contains("each below 3"));
  CHECK(parse("stages = 2\nstarts = [0, 2]", "layers = 2").empty());
  CHECK_THAT(parse("stages = 2", "dropout = 0.1"),
             Catch::Contains("not a setting of family pipeline"));
  // and the other families do not take a pipeline's settings
  auto mlp = training::parse_job_config(
      "family = \"mlp\"\n[data]\nimages = \"imgs\"\n[run]\nstages = 2\n",
      "job.toml");
  REQUIRE_FALSE(mlp);
  CHECK_THAT(describe(mlp.error()), Catch::Contains("stages"));
}
