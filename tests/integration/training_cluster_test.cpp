// Training jobs on an in-process cluster (a head and workers joined over
// loopback), submitted to the head's "training" service through the
// gateway as `troupe train --cluster` does: a sparse-lr job's shards and
// workers are placed through the cluster's one scheduler as one gang over
// several nodes, are shipped their rows, learn spam, and give their slots
// back; a job that needs more slots than the cluster has waits until it is
// stopped; a node lost under a running job regroups it from its last
// checkpoint, and it ends with the weights of an uninterrupted run; bad
// configs and unknown jobs are named.

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/models/parallel_mlp.hpp"
#include "actors/models/trainable.hpp"
#include "actors/models/xgb_data.hpp"
#include "actors/training/job_journal.hpp"
#include "actors/training/mlp_worker.hpp"
#include "actors/training/part_worker.hpp"
#include "actors/training/service.hpp"
#include "actors/training/shell.hpp"
#include "actors/training/sparse_job.hpp"
#include "actors/training/sparse_lr.hpp"
#include "actors/training/xgb_parallel.hpp"
#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "runtime/metrics.hpp"
#include "runtime/node.hpp"
#include "runtime/shell.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/training.capnp.h"
#include "tests/integration/training_cluster.hpp"
#include "tests/integration/training_support.hpp"
#include "tests/support/cluster.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;
using namespace troupe::test::training_jobs;

} // namespace

TEST_CASE("a sparse-lr job places its shards and workers as one gang over "
          "several nodes, learns spam and gives its slots back",
          "[training-cluster]") {
  test::temp_dir dir;
  training_cluster t{dir, 2, 2}; // 6 slots over 3 nodes
  auto first = t.submit("spam", job_toml(2, 2, 3));
  REQUIRE(first);
  CHECK(first->id == "spam");
  auto v = t.wait_for("spam", [](const view& v) { return v.ended(); });
  INFO(v.state << ": " << v.message);
  REQUIRE(v.state == "finished");
  CHECK(v.auc > 0.95);
  CHECK(v.step == v.steps);
  CHECK(v.steps > 0);
  REQUIRE(v.placement.size() == 4);
  std::set<std::string> nodes;
  for (auto& p : v.placement)
    nodes.insert(p.substr(p.find('@') + 1));
  INFO("placed on " << nodes.size() << " node(s)");
  CHECK(nodes.size() >= 2); // four slots do not fit one node of two
  auto summary = nlohmann::json::parse(v.summary);
  CHECK(summary["examples"].get<uint64_t>() ==
        3 * summary["train_rows"].get<uint64_t>());
  // each worker's time split: it cut minibatches, pulled and pushed, and
  // computed gradients, through every step
  REQUIRE(v.usage.size() == 2);
  // (the workers' rows differ by a few: so do their steps)
  CHECK(std::max(v.usage[0].step, v.usage[1].step) == v.steps);
  for (auto& u : v.usage) {
    INFO(u.worker << ": " << training::describe_split(u.split));
    CHECK(u.step + 3 * 2 >= v.steps);
    CHECK(u.split.data > 0);
    CHECK(u.split.comm > 0);
    CHECK(u.split.compute > 0);
  }
  CHECK(v.usage[0].rank == 0);
  CHECK(v.usage[1].rank == 1);
  CHECK(summary["usage"].size() == 2);
  CHECK(std::filesystem::exists(dir.path() + "/spam/model.json"));
  CHECK(std::filesystem::exists(dir.path() + "/spam/summary.json"));
  // its slots and actors are given back
  auto deadline = clock_type::now() + 10s;
  while (t.holders()[""] < 6 && clock_type::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(t.holders()[""] == 6);
  auto actors = t.c.client->actors();
  REQUIRE(actors);
  for (auto& a : *actors)
    CHECK(a.name.rfind("spam.", 0) != 0);
  // the same id again is refused; a bad config is named with its line
  auto again = t.submit("spam", job_toml(1, 1, 1));
  REQUIRE_FALSE(again);
  CHECK_THAT(describe(again.error()), Catch::Contains("'spam' exists"));
  auto bad = t.submit("", "family = \"sparse-lr\"\n[run]\nworkers = 0\n");
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()),
             Catch::Contains("job.toml:3") && Catch::Contains("run.workers"));
  auto unknown = t.call(training_cluster::ref("nope"), "status");
  REQUIRE_FALSE(unknown);
  CHECK_THAT(describe(unknown.error()), Catch::Contains("no job 'nope'"));
  // a target that is not in the data fails the job as bad input
  auto wrong = job_toml(1, 1, 1);
  wrong.replace(wrong.find("\"type\""), 6, "\"nope\"");
  auto w = t.submit("wrong", wrong);
  REQUIRE(w);
  auto wv = t.wait_for("wrong", [](const view& v) { return v.ended(); });
  CHECK(wv.state == "failed");
  CHECK(wv.bad_input);
  CHECK_THAT(wv.message, Catch::Contains("no target column 'nope'"));
  // the shell shows them
  {
    // (one client per thread: the shell takes the test's)
    auto backend = make_backend(std::move(t.c.client));
    std::ostringstream out, err;
    shell_env env;
    env.out = &out;
    env.err = &err;
    shell sh{*backend, env, training::shell_commands(*backend)};
    REQUIRE(sh.execute("jobs") == shell::outcome::ok);
    CHECK_THAT(out.str(), Catch::StartsWith("ID     FAMILY     STATE") &&
                              Catch::Contains("spam   sparse-lr  finished") &&
                              Catch::EndsWith("2 jobs\n"));
    out.str("");
    REQUIRE(sh.execute("job spam") == shell::outcome::ok);
    CHECK_THAT(out.str(), Catch::Contains("state       finished") &&
                              Catch::Contains("spam.worker-1@") &&
                              Catch::Contains("AUC 0.9"));
    CHECK(sh.execute("stop-job nope") == shell::outcome::failed);
    CHECK_THAT(err.str(), Catch::Contains("no job 'nope'"));
    CHECK(sh.execute("job") == shell::outcome::failed);
  }
}

TEST_CASE("a sparse-lr job of one synchronous worker over many keys ends with "
          "exactly the weights of in-process training on the same hashed rows",
          "[training-cluster]") {
  test::temp_dir dir;
  // a text column of words from a vocabulary of 30,000 (with two shards,
  // each holds thousands of keys: their dumps and checkpoints are large
  // messages), and a label planted on 100 of them
  auto csv = dir.path() + "/words.csv";
  {
    std::ofstream out{csv};
    out << "note,size,label\n";
    std::mt19937_64 rng{5};
    for (int r = 0; r < 6000; ++r) {
      std::string note;
      int score = 0;
      for (int w = 0; w < 8; ++w) {
        // one word in ten from the 100 that make a label
        auto word = rng() % 10 == 0 ? rng() % 100 : 100 + rng() % 29900;
        score += word < 100 ? 1 : 0;
        note += (w ? " " : "") + std::string{"w"} + std::to_string(word);
      }
      out << note << ',' << rng() % 100 << ',' << (score >= 1 ? 1 : 0) << '\n';
    }
  }
  auto toml = "family = \"sparse-lr\"\n[data]\ntrain = \"" + csv +
              "\"\ntarget = \"label\"\nvalid_fraction = 0.2\n[features]\n"
              "bits = 24\n[model]\nalpha = 0.1\nl1 = 0\nl2 = 0.5\n[run]\n"
              "workers = 1\nshards = 2\nbatch = 32\nepochs = 2\n"
              "consistency = \"sync\"\ncheckpoint_seconds = 0.02\n";
  training_cluster t{dir, 1, 3};
  REQUIRE(t.submit("words", toml));
  auto v = t.wait_for("words", [](const view& v) { return v.ended(); });
  INFO(v.message);
  REQUIRE(v.state == "finished");
  // the same rows, trained in this process
  auto cfg = training::parse_job_config(toml, dir.path() + "/job.toml");
  REQUIRE(cfg);
  auto data = training::prepare_sparse_data(*cfg);
  REQUIRE(data);
  training::sparse_table table{cfg->model};
  REQUIRE_FALSE(training::train_in_process(table, data->train, 32, 2));
  REQUIRE(table.size() > 20000);
  std::ifstream in{dir.path() + "/words/model.json"};
  auto m = nlohmann::json::parse(in);
  auto keys = m["keys"].get<std::vector<uint64_t>>();
  auto weights = m["weights"].get<std::vector<float>>();
  size_t nonzero = 0;
  for (auto& e : table.entries())
    nonzero += table.weight(e.key) != 0.f ? 1 : 0;
  CHECK(keys.size() == nonzero);
  size_t equal = 0;
  for (size_t i = 0; i < keys.size(); ++i)
    equal += weights[i] == table.weight(keys[i]) ? 1 : 0;
  CHECK(equal == keys.size()); // bit for bit
  auto summary = nlohmann::json::parse(v.summary);
  CHECK(summary["keys"].get<size_t>() == table.size());
  CHECK(summary["valid"]["auc"].get<double>() > 0.8);
}

TEST_CASE("a job that needs more slots than the cluster has waits for its "
          "gang, and stops when asked",
          "[training-cluster]") {
  test::temp_dir dir;
  training_cluster t{dir, 0, 2}; // the head's 2 slots
  auto first = t.submit("big", job_toml(2, 2, 1));
  REQUIRE(first);
  auto v = t.wait_for(
      "big", [](const view& v) { return v.state != "unknown"; }, 2s);
  // it reads its data, then waits for 4 slots that never come
  std::this_thread::sleep_for(300ms);
  v = t.status("big");
  CHECK(v.state == "waiting");
  CHECK(t.holders()[""] == 2); // nothing taken in part
  auto stopped = t.call(training_cluster::ref("big"), "stop");
  REQUIRE(stopped);
  v = t.wait_for("big", [](const view& v) { return v.ended(); });
  CHECK(v.state == "stopped");
  // the list shows it
  auto list = t.call(training_cluster::ref(""), "list");
  REQUIRE(list);
  auto ids = list->visit<schema::JobList>([](auto l) {
    std::vector<std::string> out;
    for (auto j : l.getJobs())
      out.emplace_back(j.getId().cStr());
    return out;
  });
  REQUIRE(ids);
  CHECK(*ids == std::vector<std::string>{"big"});
}

TEST_CASE("a node lost under a running job regroups it from its last "
          "checkpoint on the slots left, and it ends with the weights of an "
          "uninterrupted run",
          "[training-cluster]") {
  test::temp_dir dir;
  // one worker, synchronous: its updates come in one order, so equal
  // weights mean nothing was lost and no step was trained twice
  auto toml = job_toml(1, 2, 20, 4) + "checkpoint_seconds = 0.05\n";
  std::string regrouped_model, straight_model;
  {
    training_cluster t{dir, 2, 2}; // head, worker-1, worker-2: 6 slots
    auto first = t.submit("lost", toml);
    REQUIRE(first);
    auto v = t.wait_for("lost", [](const view& v) {
      return v.state == "running" && v.checkpoint_step > 0;
    });
    REQUIRE(v.state == "running");
    // the scheduler takes one slot at a time from the node with the most
    // free: the worker is on worker-2
    std::string worker_node;
    for (auto& p : v.placement)
      if (p.find(".worker-0@") != std::string::npos)
        worker_node = p.substr(p.find('@') + 1);
    REQUIRE(worker_node.rfind("worker-", 0) == 0);
    REQUIRE_FALSE(t.c.cluster->stop_node(worker_node == "worker-1" ? 1 : 2));
    v = t.wait_for("lost", [](const view& v) { return v.ended(); });
    INFO(v.message);
    REQUIRE(v.state == "finished");
    CHECK(v.attempt == 2);
    for (auto& p : v.placement)
      CHECK(p.find("@" + worker_node) == std::string::npos);
    auto summary = nlohmann::json::parse(v.summary);
    CHECK(summary["resumed_from_step"].get<uint64_t>() > 0);
    CHECK(summary["examples"].get<uint64_t>() ==
          20 * summary["train_rows"].get<uint64_t>());
    // the same job, uninterrupted, on what is left of the cluster
    auto again = t.submit("straight", toml);
    REQUIRE(again);
    v = t.wait_for("straight", [](const view& v) { return v.ended(); });
    REQUIRE(v.state == "finished");
    CHECK(v.attempt == 1);
    auto read = [](const std::string& path) {
      std::ifstream in{path};
      return nlohmann::json::parse(in);
    };
    auto a = read(dir.path() + "/lost/model.json");
    auto b = read(dir.path() + "/straight/model.json");
    CHECK(a["keys"] == b["keys"]);
    CHECK(a["weights"] == b["weights"]);
  }
  // the journal: checkpoints at increasing steps, the loss, and the second
  // placement starting at the last checkpoint before it
  auto journal = training::job_journal::open(dir.path() + "/jobs");
  REQUIRE(journal);
  auto events = (*journal)->events("lost");
  REQUIRE(events);
  uint64_t last_checkpoint = 0, lost_at = 0, restarted_at = 0;
  bool lost = false;
  for (auto& e : *events)
    REQUIRE(e.visit<schema::JobEvent>([&](auto r) {
      using kind = schema::JobEvent::Kind;
      if (r.getKind() == kind::CHECKPOINT) {
        CHECK(r.getStep() > last_checkpoint); // no step checkpointed twice
        last_checkpoint = r.getStep();
      } else if (r.getKind() == kind::LOST) {
        lost = true;
        lost_at = last_checkpoint;
      } else if (r.getKind() == kind::STARTED && r.getAttempt() == 2) {
        restarted_at = r.getStep();
      }
      return true;
    }));
  CHECK(lost);
  CHECK(restarted_at == lost_at);
  CHECK(restarted_at > 0);
}

TEST_CASE("a data-parallel XGBoost job trains one booster over several "
          "nodes that predicts bit for bit what one process trains",
          "[training-cluster]") {
  test::temp_dir dir;
  training_cluster t{dir, 2, 1}; // 3 slots over 3 nodes
  auto csv = dir.path() + "/few.csv";
  write_few_values_csv(csv, 3000, 5);
  auto first = t.submit("boost", xgb_toml(csv, 3, 40, 0.01));
  REQUIRE(first);
  auto v = t.wait_for("boost", [](const view& v) { return v.ended(); });
  INFO(v.state << ": " << v.message);
  REQUIRE(v.state == "finished");
  CHECK(v.step == 40);
  CHECK(v.steps == 40);
  REQUIRE(v.placement.size() == 3);
  std::set<std::string> nodes;
  for (auto& p : v.placement)
    nodes.insert(p.substr(p.find('@') + 1));
  CHECK(nodes.size() == 3); // one slot per node
  auto summary = nlohmann::json::parse(v.summary);
  CHECK(summary["valid"]["auc"].get<double>() > 0.8);
  CHECK(summary["rounds"] == 40);
  // every worker's time split: it joined the tracker, built its DMatrix,
  // boosted
  REQUIRE(v.usage.size() == 3);
  for (auto& u : v.usage) {
    INFO(u.worker << ": " << training::describe_split(u.split));
    CHECK(u.step == 40);
    CHECK(u.split.compute > 0);
    CHECK(u.split.data > 0);
    CHECK(u.split.comm > 0);
  }
  CHECK(summary["usage"].size() == 3);
  // one process on the same training rows, with the same parameters
  auto table = tabular::read_csv(csv);
  REQUIRE(table);
  auto data = tabular::make_dataset(*table, "y");
  REQUIRE(data);
  auto split = tabular::train_test_split(data->X.labels, data->task, 0, 0.2);
  REQUIRE(split);
  training::xgb_part part;
  auto params =
      models::xgboost_params({{"eta", 0.1}, {"max_depth", int64_t{6}}},
                             data->task, data->classes.size(), 1, 0);
  REQUIRE(params);
  part.params = *params;
  part.types = models::xgboost_feature_types(data->prep);
  part.rounds = 40;
  auto one =
      training::train_part(part, tabular::take_rows(data->X, split->train));
  REQUIRE(one);
  auto b = xgb::booster::restore(*one);
  REQUIRE(b);
  size_t groups = 0;
  auto expected = b->predict_dense(data->X.values.data(), data->X.rows,
                                   data->X.cols, groups);
  REQUIRE(expected);
  CHECK(same_bits(model_predictions(dir.path() + "/boost", csv), *expected));
  // its slots are given back
  auto deadline = clock_type::now() + 10s;
  while (t.holders()[""] < 3 && clock_type::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(t.holders()[""] == 3);
  // a key of the other family is named with its line
  auto bad = t.submit("", xgb_toml(csv, 2, 5) + "batch = 3\n");
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()),
             Catch::Contains("job.toml:") &&
                 Catch::Contains("'run.batch' is not a setting of family "
                                 "xgboost"));
}

TEST_CASE("a data-parallel MLP job trains one net over several nodes, and a "
          "worker whose LibTorch throws fails with the message while its "
          "node keeps running",
          "[training-cluster]") {
  test::temp_dir dir;
  training_cluster t{dir, 2, 1}; // 3 slots over 3 nodes
  auto toml = std::string{"family = \"mlp\"\n[data]\nimages = \""} +
              TROUPE_SOURCE_DIR +
              "/tests/data/fashion-mnist-small\"\n[model]\nwidth = 32\n"
              "lr = 0.002\n[run]\nworkers = 3\nbatch = 60\nepochs = 4\n"
              "checkpoint_seconds = 0.01\n";
  REQUIRE(t.submit("net", toml));
  auto v = t.wait_for("net", [](const view& v) { return v.ended(); });
  INFO(v.state << ": " << v.message);
  REQUIRE(v.state == "finished");
  CHECK(v.step == 4);
  REQUIRE(v.placement.size() == 3);
  std::set<std::string> nodes;
  for (auto& p : v.placement)
    nodes.insert(p.substr(p.find('@') + 1));
  CHECK(nodes.size() == 3);
  auto summary = nlohmann::json::parse(v.summary);
  CHECK(summary["global_batch"] == 60);
  CHECK(summary["steps_per_epoch"] == 333 / 20);
  CHECK(summary["valid"]["accuracy"].get<double>() > 0.7);
  CHECK(std::isfinite(summary["train_loss"].get<double>()));
  CHECK(std::filesystem::file_size(dir.path() + "/net/model.pt") > 0);
  CHECK(std::filesystem::file_size(dir.path() + "/net/model.mlp") > 0);
  // a worker given labels its net has no class for: LibTorch throws
  auto& sys = t.c.cluster->head_system();
  caf::scoped_actor self{sys};
  auto dir_actor = t.c.cluster->directory();
  self->request(dir_actor, 10s, caf::spawn_atom::value,
                std::string{training::mlp_worker_kind}, std::string{"worker-1"},
                std::string{}, std::string{"thrower"})
      .receive([](const envelope&) {},
               [](caf::error& err) { FAIL("spawn: " << describe(err)); });
  caf::actor worker;
  self->request(dir_actor, 10s, lookup_atom::value, std::string{"thrower"})
      .receive([&](const caf::actor& a) { worker = a; },
               [](caf::error& err) { FAIL("lookup: " << describe(err)); });
  auto store = models::torch_rendezvous::serve("127.0.0.1", 1, 30);
  REQUIRE(store);
  std::vector<float> x(40 * 4, 1.f), y(40, 9.f); // classes 0..2 only
  auto part = make_envelope<schema::MlpPart>([&](auto p) {
    p.setWorld(1);
    p.setStorePort(store->port());
    p.setGroup("thrower");
    p.setLayers(1);
    p.setWidth(4);
    p.setActivation("relu");
    p.setLr(0.01);
    p.setTask("multiclass");
    p.setClasses(3);
    p.setEpochs(1);
    p.setLocalBatch(8);
    p.setGlobalBatch(8);
    p.setSteps(2);
    p.setThreads(1);
    p.setCols(4);
    p.setValues(kj::arrayPtr(reinterpret_cast<const uint8_t*>(x.data()),
                             x.size() * sizeof(float)));
    p.setLabels(kj::arrayPtr(reinterpret_cast<const uint8_t*>(y.data()),
                             y.size() * sizeof(float)));
  });
  std::string message;
  self->request(caf::actor_cast<training::part_worker_actor>(worker), 60s,
                training::part_train_atom::value, part, caf::actor{})
      .receive([](const envelope&) { FAIL("the part trained"); },
               [&](caf::error& err) { message = describe(err); });
  CHECK_THAT(message, Catch::Contains("out of bounds"));
  // the node is still there, and so is the worker
  auto ns = t.c.client->nodes();
  REQUIRE(ns);
  CHECK(ns->size() == 3);
  auto as = t.c.client->actors();
  REQUIRE(as);
  bool thrower = false;
  for (auto& a : *as)
    thrower = thrower || a.name == "thrower";
  CHECK(thrower);
}

TEST_CASE(
    "a data-parallel MLP job's workers report their time split, and a "
    "job whose workers wait for data beyond its threshold raises an alert "
    "in its status, the shell, /metrics and its journal",
    "[training-cluster]") {
  test::temp_dir dir;
  {
    training_cluster t{dir, 1, 1}; // 2 slots over 2 nodes
    // any wait for data is too much: the alert must come
    auto toml = std::string{"family = \"mlp\"\n[data]\nimages = \""} +
                TROUPE_SOURCE_DIR +
                "/tests/data/fashion-mnist-small\"\n[model]\nwidth = 16\n"
                "[run]\nworkers = 2\nbatch = 40\nepochs = 3\n"
                "checkpoint_seconds = 0.01\ndata_wait_alert = 0\n";
    REQUIRE(t.submit("starved", toml));
    auto v = t.wait_for("starved", [](const view& v) { return v.ended(); });
    INFO(v.state << ": " << v.message);
    REQUIRE(v.state == "finished");
    // every worker's split: it computed, gathered batches, averaged
    // gradients with its peer; the parts add up to no more than the job
    REQUIRE(v.usage.size() == 2);
    for (auto& u : v.usage) {
      INFO(u.worker << ": " << training::describe_split(u.split));
      CHECK(u.step == 3);
      CHECK(u.split.compute > 0);
      CHECK(u.split.data > 0);
      CHECK(u.split.comm > 0);
      CHECK(u.split.idle >= 0);
      CHECK(u.split.total() * 1000 <= v.elapsed_ms + 1);
    }
    CHECK(v.usage[0].worker != v.usage[1].worker);
    CHECK(v.data_wait_share > 0);
    CHECK(v.data_wait_share < 1);
    CHECK_THAT(v.alert, Catch::StartsWith("data-starved"));
    auto summary = nlohmann::json::parse(v.summary);
    REQUIRE(summary["usage"].size() == 2);
    CHECK(summary["usage"][0]["compute"].get<double>() > 0);
    CHECK(summary["data_wait_share"].get<double>() ==
          Approx(v.data_wait_share));
    // the shell's `job ID`
    auto status = t.call(training_cluster::ref("starved"), "status");
    REQUIRE(status);
    auto text = training::format_job(*status);
    REQUIRE(text);
    CHECK_THAT(*text, Catch::Contains("ALERT       data-starved"));
    CHECK_THAT(*text, Catch::Contains("COMPUTE"));
    CHECK_THAT(*text, Catch::Contains(v.usage[1].worker));
    // the head's /metrics
    auto metrics = process_metrics().render();
    CHECK_THAT(metrics,
               Catch::Contains("troupe_job_data_starved{job=\"starved\"} 1"));
    CHECK_THAT(metrics,
               Catch::Contains("troupe_job_worker_seconds{job=\"starved\","
                               "state=\"comm\",worker=\"" +
                               v.usage[0].worker + "\"}"));
    CHECK_THAT(metrics,
               Catch::Contains("troupe_job_data_wait_share{job=\"starved\"}"));
  }
  // the journal: the alert once, and the splits at checkpoints and the end
  auto journal = training::job_journal::open(dir.path() + "/jobs");
  REQUIRE(journal);
  auto events = (*journal)->events("starved");
  REQUIRE(events);
  size_t alerts = 0, usages = 0;
  nlohmann::json last;
  for (auto& e : *events)
    REQUIRE(e.visit<schema::JobEvent>([&](auto r) {
      using kind = schema::JobEvent::Kind;
      if (r.getKind() == kind::ALERT) {
        ++alerts;
        CHECK_THAT(std::string{r.getMessage().cStr()},
                   Catch::StartsWith("data-starved"));
      } else if (r.getKind() == kind::USAGE) {
        ++usages;
        last = nlohmann::json::parse(r.getMessage().cStr());
      }
      return true;
    }));
  CHECK(alerts == 1);
  CHECK(usages >= 1);
  REQUIRE(last.size() == 2);
  CHECK(last[0]["step"] == 3);
  CHECK(last[1]["comm"].get<double>() > 0);
}
