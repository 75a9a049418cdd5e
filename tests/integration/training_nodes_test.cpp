// A training job on a cluster of real processes (a head and two workers,
// `troupe node`), submitted as `troupe train --cluster` does: kill -9 of a
// node that holds part of the job's gang while it trains; the job regroups
// on the slots left from its last checkpoint, finishes, and its model
// equals the model of the same job run without interruption.

#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/training/job_journal.hpp"
#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"
#include "tests/integration/training_support.hpp"
#include "tests/support/nodes.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::test::training_jobs;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

caf::expected<view> submit(cluster_client& c, const std::string& id,
                           const std::string& toml) {
  auto e = make_envelope<schema::JobSubmit>([&](auto s) {
    s.setId(id);
    s.setConfig(toml);
    s.setOrigin("job.toml");
  });
  auto r = c.send("training", e, "submit");
  if (!r) return r.error();
  return view_of(*r);
}

view status(cluster_client& c, const std::string& id) {
  auto ref = make_envelope<schema::JobRef>([&](auto r) { r.setId(id); });
  auto r = c.send("training", ref, "status");
  if (!r) FAIL("status " << id << ": " << describe(r.error()));
  return view_of(*r);
}

view wait_for(cluster_client& c, const std::string& id,
              const std::function<bool(const view&)>& p,
              std::chrono::milliseconds limit = 60s) {
  auto deadline = clock_type::now() + limit;
  auto v = status(c, id);
  while (!p(v) && clock_type::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    v = status(c, id);
  }
  return v;
}

/// A gateway client once the three nodes have joined and the training
/// service is up (one client per thread: the test keeps it).
std::unique_ptr<cluster_client> ready_client(test::node_set& nodes) {
  std::unique_ptr<cluster_client> client;
  REQUIRE(test::eventually(
      [&] {
        auto c = cluster_client::connect("127.0.0.1", nodes.gateway_port(), 1s);
        if (!c) return false;
        auto ns = (*c)->nodes();
        if (!ns || ns->size() != 3) return false;
        auto as = (*c)->actors();
        if (!as) return false;
        bool service = false;
        for (auto& a : *as)
          service = service || a.name == "training";
        if (!service) return false;
        client = std::move(*c);
        return true;
      },
      20s));
  client->set_timeout(10s);
  return client;
}

/// Waits until job `id` runs and has checkpointed, kill -9s `node` (which
/// must hold a member of its gang), and waits for the job to end (at most
/// `limit`): the status before the kill and the last one.
std::pair<view, view> kill_mid_job(cluster_client& c, test::process& node,
                                   const std::string& name,
                                   const std::string& id,
                                   std::chrono::milliseconds limit) {
  auto before = wait_for(c, id, [](const view& v) {
    return v.state == "running" && v.checkpoint_step > 0;
  });
  REQUIRE(before.state == "running");
  // the scheduler takes one slot at a time from the node with the most
  // free: the gang has a member on the node
  bool on_node = false;
  for (auto& p : before.placement)
    on_node = on_node || p.find("@" + name) != std::string::npos;
  REQUIRE(on_node);
  node.signal(SIGKILL);
  REQUIRE(node.wait(5s) == 128 + SIGKILL);
  auto after = wait_for(
      c, id, [](const view& v) { return v.ended(); }, limit);
  return {before, after};
}

std::pair<view, view> kill_w1_mid_job(cluster_client& c, test::process& w1,
                                      const std::string& id,
                                      std::chrono::milliseconds limit) {
  return kill_mid_job(c, w1, "w1", id, limit);
}

} // namespace

// One worker and two shards (3 of the 5 slots), synchronous: the scheduler
// takes one slot at a time from the node with the most free, so the gang
// holds a slot of each node, in node order: shard-0 on the head, shard-1 on
// w1 and worker-0 on w2. (A lost worker regroups the job:
// training_cluster_test and the data-parallel cases below.)

TEST_CASE("kill -9 of a parameter-server shard's node: the shard alone comes "
          "back on another node from its last checkpoint, and the worker "
          "carries on",
          "[training-nodes]") {
  test::temp_dir dir;
  test::node_set nodes{dir.path(), {"--slots", "1"}};
  auto w1 = nodes.worker("w1", {"--slots", "2"});
  auto w2 = nodes.worker("w2", {"--slots", "2"});
  auto client = ready_client(nodes);
  auto toml = job_toml(1, 2, 20, 4) + "checkpoint_seconds = 0.05\n";
  auto first = submit(*client, "killed", toml);
  if (!first) FAIL("submit: " << describe(first.error()));
  INFO("head:\n" << nodes.head().log());
  auto [before, v] = kill_w1_mid_job(*client, *w1, "killed", 60s);
  INFO(v.message);
  REQUIRE(v.state == "finished");
  CHECK(v.attempt == 1); // the gang was never placed again
  REQUIRE(before.placement.size() == 3);
  CHECK(before.placement[1] == "killed.shard-1@w1");
  CHECK(before.placement[2] == "killed.worker-0@w2");
  REQUIRE(v.placement.size() == 3);
  CHECK(v.placement[0] == before.placement[0]);
  CHECK(v.placement[1] == "killed.shard-1.r1@w2"); // the slot left
  CHECK(v.placement[2] == before.placement[2]);
  auto summary = nlohmann::json::parse(v.summary);
  CHECK(summary["resumed_from_step"].get<uint64_t>() == 0);
  CHECK(summary["examples"].get<uint64_t>() ==
        20 * summary["train_rows"].get<uint64_t>()); // no step ran twice
  // the same job, never interrupted: close, for the shard lost only the
  // steps after its checkpoint
  REQUIRE(submit(*client, "straight", toml));
  auto s =
      wait_for(*client, "straight", [](const view& v) { return v.ended(); });
  REQUIRE(s.state == "finished");
  INFO("validation logloss " << v.logloss << " after the loss, " << s.logloss
                             << " without");
  CHECK(v.logloss == Approx(s.logloss).epsilon(0.02));
  CHECK(v.auc > 0.95);
  REQUIRE(client->shutdown());
  CHECK(nodes.head().wait(15s) == 0);
  w2->wait(15s);
  // the journal: the loss, then the shard restored from the checkpoint
  // before it, and no second placement of the gang
  auto journal = training::job_journal::open(dir.path() + "/head/jobs");
  REQUIRE(journal);
  auto events = (*journal)->events("killed");
  REQUIRE(events);
  uint64_t last_checkpoint = 0, lost_at = 0;
  bool lost = false, restored = false;
  for (auto& e : *events)
    REQUIRE(e.visit<schema::JobEvent>([&](auto r) {
      using kind = schema::JobEvent::Kind;
      INFO(r.getMessage().cStr());
      if (r.getKind() == kind::CHECKPOINT) {
        CHECK(r.getStep() > last_checkpoint);
        last_checkpoint = r.getStep();
      } else if (r.getKind() == kind::LOST) {
        lost = true;
        lost_at = last_checkpoint;
        CHECK(std::string{r.getMessage()}.find("killed.shard-1 on node w1") !=
              std::string::npos);
      } else if (r.getKind() == kind::RESTORED) {
        restored = true;
        CHECK(r.getStep() == lost_at);
        CHECK(std::string{r.getMessage()}.find(
                  "killed.shard-1.r1 on node w2") != std::string::npos);
      }
      CHECK(r.getAttempt() == 1);
      return true;
    }));
  CHECK(lost);
  CHECK(restored);
  CHECK(lost_at > 0);
}

TEST_CASE("kill -9 of a worker node under an elastic data-parallel XGBoost "
          "job: the job regroups on fewer workers from its last checkpoint's "
          "model and predicts bit for bit as an uninterrupted run",
          "[training-nodes]") {
  test::temp_dir dir;
  test::node_set nodes{dir.path(), {"--slots", "1"}};
  auto w1 = nodes.worker("w1", {"--slots", "2"});
  auto w2 = nodes.worker("w2", {"--slots", "2"});
  auto client = ready_client(nodes);
  auto csv = dir.path() + "/few.csv";
  write_few_values_csv(csv, 4000, 11);
  // 2 to 4 workers: 4 of the 5 slots, then the 3 left after the kill
  auto toml = xgb_toml(csv, "2:4", 800, 0.05);
  REQUIRE(submit(*client, "killed", toml));
  INFO("head:\n" << nodes.head().log());
  auto [before, v] = kill_w1_mid_job(*client, *w1, "killed", 60s);
  REQUIRE(before.checkpoint_step < 800);
  CHECK(before.workers == 4);
  INFO(v.message);
  REQUIRE(v.state == "finished");
  CHECK(v.attempt == 2);
  CHECK(v.placement.size() == 3);
  CHECK(v.workers == 3);
  for (auto& p : v.placement)
    CHECK(p.find("@w1") == std::string::npos);
  auto summary = nlohmann::json::parse(v.summary);
  CHECK(summary["resumed_from_step"].get<uint64_t>() > 0);
  CHECK(summary["workers"] == 3);
  // the same job, never interrupted, on what is left (3 workers)
  REQUIRE(submit(*client, "straight", toml));
  v = wait_for(*client, "straight", [](const view& v) { return v.ended(); });
  REQUIRE(v.state == "finished");
  CHECK(v.attempt == 1);
  CHECK(same_bits(model_predictions(dir.path() + "/head/killed", csv),
                  model_predictions(dir.path() + "/head/straight", csv)));
  REQUIRE(client->shutdown());
  CHECK(nodes.head().wait(15s) == 0);
  w2->wait(15s);
}

namespace {

/// A job of `epochs` epochs of `family` ([data] and [model] as `model`,
/// two workers, a checkpoint every 0.05 s) on a head of 1 slot and two
/// workers of 2: kill -9 of w1 mid-job regroups it on w2 from its last
/// checkpoint, and it finishes with an accuracy > 0.7.
void kill_worker_under_net_job(const std::string& family,
                               const std::string& model, uint32_t epochs,
                               uint32_t batch) {
  test::temp_dir dir;
  test::node_set nodes{dir.path(), {"--slots", "1"}};
  auto w1 = nodes.worker("w1", {"--slots", "2"});
  auto w2 = nodes.worker("w2", {"--slots", "2"});
  auto client = ready_client(nodes);
  auto toml = "family = \"" + family + "\"\n[data]\nimages = \"" +
              TROUPE_SOURCE_DIR + "/tests/data/fashion-mnist-small\"\n" +
              model + "[run]\nworkers = 2\nbatch = " + std::to_string(batch) +
              "\nepochs = " + std::to_string(epochs) +
              "\ncheckpoint_seconds = 0.05\n";
  REQUIRE(submit(*client, "killed", toml));
  INFO("head:\n" << nodes.head().log());
  auto [before, v] = kill_w1_mid_job(*client, *w1, "killed", 120s);
  REQUIRE(before.checkpoint_step < epochs);
  INFO(v.message);
  REQUIRE(v.state == "finished");
  CHECK(v.attempt == 2);
  CHECK(v.step == epochs);
  for (auto& p : v.placement)
    CHECK(p.find("@w1") == std::string::npos);
  auto summary = nlohmann::json::parse(v.summary);
  CHECK(summary["family"] == family);
  CHECK(summary["resumed_from_step"].get<uint64_t>() > 0);
  CHECK(summary["valid"]["accuracy"].get<double>() > 0.7);
  REQUIRE(client->shutdown());
  CHECK(nodes.head().wait(15s) == 0);
  w2->wait(15s);
}

} // namespace

TEST_CASE("kill -9 of a worker node under a data-parallel MLP job: the job "
          "regroups from its last checkpoint's net and finishes",
          "[training-nodes]") {
  kill_worker_under_net_job("mlp", "[model]\nwidth = 32\nlr = 0.002\n", 40, 32);
}

TEST_CASE("kill -9 of a worker node under a job of a user's TorchScript "
          "module: the job regroups from its last checkpoint's replica and "
          "finishes",
          "[training-nodes][torchscript]") {
  kill_worker_under_net_job("torchscript",
                            std::string{"[model]\nmodule = \""} +
                                TROUPE_SOURCE_DIR +
                                "/tests/data/torchscript/fashion_cnn.pt\"\n"
                                "lr = 0.003\n",
                            30, 50);
}

namespace {

const std::string fashion_data = std::string{"[data]\nimages = \""} +
                                 TROUPE_SOURCE_DIR +
                                 "/tests/data/fashion-mnist-small\"\n";

/// A job of 30 epochs whose members train together (`family`, its [data]
/// as `data`, its [model] as `model`, its [run] members as `members`), a
/// checkpoint every 0.05 s, on a head of 1 slot and two workers of 2:
/// kill -9 of w1 mid-job regroups every member from the last checkpoint,
/// and the job ends with exactly the validation loss of the same job run
/// without a kill (weights, AdamW's state and the epoch's order restored),
/// its accuracy at least `accuracy`.
void kill_member_under_job(const std::string& family, const std::string& data,
                           const std::string& model, const std::string& members,
                           double accuracy) {
  test::temp_dir dir;
  test::node_set nodes{dir.path(), {"--slots", "1"}};
  auto w1 = nodes.worker("w1", {"--slots", "2"});
  auto w2 = nodes.worker("w2", {"--slots", "2"});
  auto client = ready_client(nodes);
  auto toml = "family = \"" + family + "\"\n" + data + model + "[run]\n" +
              members +
              "batch = 40\nepochs = 30\ncheckpoint_seconds = 0.05\nseed = 3\n";
  REQUIRE(submit(*client, "killed", toml));
  INFO("head:\n" << nodes.head().log());
  auto [before, v] = kill_w1_mid_job(*client, *w1, "killed", 120s);
  REQUIRE(before.checkpoint_step < 30);
  INFO(v.message);
  REQUIRE(v.state == "finished");
  CHECK(v.attempt == 2);
  CHECK(v.step == 30);
  for (auto& p : v.placement)
    CHECK(p.find("@w1") == std::string::npos);
  auto summary = nlohmann::json::parse(v.summary);
  CHECK(summary["resumed_from_step"].get<uint64_t>() > 0);
  CHECK(summary["valid"]["accuracy"].get<double>() > accuracy);
  REQUIRE(submit(*client, "whole", toml));
  auto w = wait_for(
      *client, "whole", [](const view& v) { return v.ended(); }, 120s);
  REQUIRE(w.state == "finished");
  auto ws = nlohmann::json::parse(w.summary);
  CHECK(ws["valid"]["logloss"].get<double>() ==
        summary["valid"]["logloss"].get<double>());
  REQUIRE(client->shutdown());
  CHECK(nodes.head().wait(15s) == 0);
  w2->wait(15s);
}

} // namespace

TEST_CASE("kill -9 of a stage's node under a pipeline job: the job regroups "
          "every stage from its last checkpoint and ends with the net of an "
          "uninterrupted run",
          "[training-nodes][pipeline-job]") {
  kill_member_under_job("pipeline", fashion_data,
                        "[model]\nlayers = 3\nwidth = 64\nlr = 0.002\n",
                        "stages = 2\nmicro = 4\n", 0.7);
}

TEST_CASE("kill -9 of a rank's node under a tensor-parallel job: the job "
          "regroups every rank from its last checkpoint and ends with the "
          "net of an uninterrupted run",
          "[training-nodes][tensor-job]") {
  kill_member_under_job(
      "tensor", fashion_data,
      "[model]\nwidth = 64\nhidden = 128\nblocks = 2\nlr = 0.002\n",
      "workers = 2\n", 0.7);
}

TEST_CASE("kill -9 of a node under a GraphSAGE job (a worker and a graph "
          "shard on it): the job places its workers and shards again, "
          "resumes from its last checkpoint and ends with the net of an "
          "uninterrupted run",
          "[training-nodes][graph-job]") {
  // the package sample's majority section is right for 0.48 of the
  // held-out packages
  kill_member_under_job(
      "graphsage",
      std::string{"[data]\npackages = \""} + TROUPE_SOURCE_DIR +
          "/tests/data/graph/Packages.sample\"\n",
      "[model]\nhidden = 32\ndims = 64\n", "workers = 2\nshards = 2\n", 0.55);
}
