// AutoML trials run as training jobs, on an in-process cluster (a head and
// workers joined over loopback) whose head runs both the "automl" and the
// "training" services: a sparse-lr study leases each trial a gang of slots
// (a shard and a worker), each trial is a parameter-server job placed on
// that gang, ASHA prunes on the jobs' validations and their jobs are
// stopped, and the best trial's job model is the study's; an mlp study
// with two workers per trial runs data-parallel LibTorch jobs. Waits are
// bounded polls.

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/automl/journal.hpp"
#include "actors/automl/service.hpp"
#include "actors/automl/study.hpp"
#include "actors/models/sparse_model.hpp"
#include "actors/training/service.hpp"
#include "actors/training/wire.hpp"
#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "runtime/node.hpp"
#include "schemas/automl.capnp.h"
#include "schemas/training.capnp.h"
#include "tests/support/cluster.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::automl;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

const std::string spam = TROUPE_SOURCE_DIR "/tests/data/spam.csv";

/// A head running the AutoML and training services, and `workers` more
/// nodes; each node has `slots` slots.
struct jobs_cluster {
  jobs_cluster(const test::temp_dir& dir, size_t workers, uint32_t slots)
      : data_dir(dir.path()) {
    auto kinds = [](caf::actor_system_config& cfg) {
      automl::register_kinds(cfg);
      training::register_kinds(cfg);
    };
    auto lc = local_cluster::start(
        workers, slots, kinds, {},
        {{automl::service_kind, automl::service_name, {}},
         {training::service_kind, training::service_name, {}}},
        data_dir);
    if (!lc) FAIL("local_cluster::start: " << describe(lc.error()));
    cluster = std::move(*lc);
    auto c = cluster_client::connect("127.0.0.1", cluster->gateway_port());
    if (!c) FAIL("connect: " << describe(c.error()));
    client = std::move(*c);
    client->set_timeout(10s);
  }

  void submit(const study_spec& spec) {
    auto inner = to_envelope(spec);
    auto e = inner.visit<schema::StudySpec>([&](auto r) {
      return make_envelope<schema::StudySubmit>([&](auto b) {
        b.setSpec(r);
        b.setWeight(1);
      });
    });
    REQUIRE(e);
    auto r = client->send(automl::service_name, *e, "submit");
    if (!r) FAIL("submit " << spec.id << ": " << describe(r.error()));
  }

  /// (state, message, done, pruned, failed) of a study.
  struct study_view {
    std::string state, message, model_dir;
    uint64_t done = 0, pruned = 0, failed = 0, total = 0, requeued = 0;
    bool ended() const { return state == "finished" || state == "failed"; }
  };

  study_view status(const std::string& id) {
    auto ref = make_envelope<schema::StudyRef>([&](auto b) { b.setId(id); });
    auto r = client->send(automl::service_name, ref, "status");
    if (!r) FAIL("status " << id << ": " << describe(r.error()));
    auto v = r->visit<schema::StudyStatus>([](auto s) {
      study_view v;
      v.state = s.getState();
      v.message = s.getMessage();
      v.model_dir = s.getModelDir();
      v.done = s.getDone();
      v.pruned = s.getPruned();
      v.failed = s.getFailed();
      v.total = s.getTotalTrials();
      v.requeued = s.getRequeued();
      return v;
    });
    REQUIRE(v);
    return *v;
  }

  /// The job of a study's trial (its first attempt, unless told).
  training::job_view job(const std::string& study, uint64_t trial,
                         uint32_t attempt = 1) {
    auto id =
        study + ".t" + std::to_string(trial) + ".a" + std::to_string(attempt);
    auto ref = make_envelope<schema::JobRef>([&](auto r) { r.setId(id); });
    auto r = client->send(training::service_name, ref, "status");
    if (!r) FAIL("job " << id << ": " << describe(r.error()));
    auto v = training::job_view_of(*r);
    if (!v) FAIL("not a JobStatus: " << describe(v.error()));
    return *v;
  }

  /// Slots the study's consumer holds now.
  size_t held(const std::string& study) {
    auto xs = client->slots();
    if (!xs) FAIL("slots: " << describe(xs.error()));
    size_t n = 0;
    for (auto& x : *xs)
      n += x.consumer == "automl/" + study ? 1 : 0;
    return n;
  }

  /// Polls the study until it ends; `each` sees every poll.
  study_view wait_ended(const std::string& id, std::chrono::seconds limit,
                        const std::function<void()>& each = {}) {
    auto deadline = clock_type::now() + limit;
    auto s = status(id);
    while (!s.ended() && clock_type::now() < deadline) {
      if (each) each();
      std::this_thread::sleep_for(10ms);
      s = status(id);
    }
    INFO("study " << id << " is " << s.state << ": " << s.message);
    REQUIRE(s.ended());
    return s;
  }

  void shut_down() {
    client.reset();
    cluster.reset();
  }

  std::string data_dir;
  std::unique_ptr<local_cluster> cluster;
  std::unique_ptr<cluster_client> client;
};

study_spec job_study(const std::string& id, const std::string& family,
                     uint64_t trials, uint64_t max_resource) {
  study_spec s;
  s.id = id;
  s.family = family;
  s.data_path = spam;
  s.target = "type";
  s.task = "binary";
  s.metric = "auc";
  s.maximize = true;
  s.sampler = "random";
  s.scheduler = "asha";
  s.max_trials = trials;
  s.seed = 5;
  s.max_resource = max_resource;
  s.min_resource = 1;
  s.eta = 3;
  s.every = 1;
  s.ensemble = 0;
  s.warm_start = false;
  return s;
}

/// A study's journal events (once no cluster holds the journal).
std::vector<trial_event> journal_events(const std::string& data_dir,
                                        const std::string& study) {
  auto j = study_journal::open(data_dir + "/journal", false);
  if (!j) FAIL("journal: " << describe(j.error()));
  auto evs = (*j)->events(study);
  if (!evs) FAIL("events: " << describe(evs.error()));
  return *evs;
}

} // namespace

TEST_CASE("a sparse-lr study runs each trial as a parameter-server job on a "
          "gang of slots, stops the jobs ASHA prunes, and keeps the best "
          "job's model",
          "[automl-jobs]") {
  test::temp_dir dir;
  jobs_cluster c{dir, 2, 2}; // 6 slots over 3 nodes: 3 gangs of 2
  auto spec = job_study("spam-lr", "sparse-lr", 8, 9);
  spec.workers_per_trial = 1; // a worker and a shard
  c.submit(spec);
  size_t most = 0;
  bool whole = true;
  auto s = c.wait_ended(spec.id, 240s, [&] {
    auto n = c.held(spec.id);
    most = std::max(most, n);
    whole = whole && n % 2 == 0; // gangs are never granted in part
  });
  INFO(s.message);
  REQUIRE(s.state == "finished");
  CHECK(whole);
  CHECK(most >= 4); // two trials' gangs at once
  CHECK(s.total == 8);
  CHECK(s.failed == 0);
  CHECK(s.done + s.pruned == 8);
  CHECK(s.pruned >= 1);
  // every trial was a job of two actors (a shard and a worker)
  std::map<uint64_t, training::job_view> by_trial_job;
  for (uint64_t t = 0; t < 8; ++t)
    by_trial_job[t] = c.job(spec.id, t);
  for (auto& [t, j] : by_trial_job) {
    INFO("trial " << t << ": " << j.state << " " << j.message);
    CHECK(j.family == "sparse-lr");
    CHECK(j.placement.size() == 2);
    CHECK((j.state == "finished" || j.state == "stopped"));
  }
  // the model is the best trial's job's, as `troupe serve` loads it
  REQUIRE(!s.model_dir.empty());
  auto model = models::sparse_model::load_dir(s.model_dir);
  REQUIRE(model);
  auto summary = nlohmann::json::parse(
      *read_file(c.data_dir + "/" + spec.id + "/summary.json"));
  auto best = summary["best"]["trial"].get<uint64_t>();
  auto best_job = by_trial_job.at(best);
  CHECK(best_job.state == "finished");
  auto job_summary = nlohmann::json::parse(best_job.summary);
  CHECK(summary["best"]["cv_score"].get<double>() ==
        job_summary["valid"]["auc"].get<double>());
  c.shut_down();
  // complete trials reported before their end, then at max_resource with
  // the job's final validation; pruned ones stopped before it
  auto events = journal_events(dir.path(), spec.id);
  std::map<trial_id, std::vector<trial_event>> by_trial;
  for (auto& e : events)
    by_trial[e.trial].push_back(e);
  size_t stopped = 0;
  for (auto& [id, evs] : by_trial) {
    INFO("trial " << id);
    uint64_t top = 0;
    size_t reports = 0;
    for (auto& e : evs)
      if (e.kind == event_kind::reported) {
        top = std::max(top, e.step);
        ++reports;
      }
    auto& last = evs.back();
    if (last.kind == event_kind::completed) {
      CHECK(top == 9);
      CHECK(reports >= 8); // 8 validations before the end, then the end
    } else {
      REQUIRE(last.kind == event_kind::pruned);
      CHECK(top < 9);
      stopped += by_trial_job.at(id).state == "stopped" ? 1 : 0;
    }
  }
  // a pruned trial's job that was still training was stopped (those that
  // ended first are "finished")
  INFO("pruned trials whose job was stopped: " << stopped);
  CHECK(stopped + s.done <= 8);
}

TEST_CASE("an mlp study with two workers per trial runs each trial as a "
          "data-parallel LibTorch job of two workers, validated and reported "
          "each epoch",
          "[automl-jobs]") {
  test::temp_dir dir;
  jobs_cluster c{dir, 1, 2}; // 4 slots over 2 nodes
  auto spec = job_study("spam-net", "mlp", 3, 3);
  spec.workers_per_trial = 2;
  c.submit(spec);
  auto s = c.wait_ended(spec.id, 240s);
  INFO(s.message);
  REQUIRE(s.state == "finished");
  CHECK(s.failed == 0);
  CHECK(s.done + s.pruned == 3);
  CHECK(s.done >= 1);
  std::map<uint64_t, training::job_view> jobs;
  for (uint64_t t = 0; t < 3; ++t) {
    auto j = c.job(spec.id, t);
    INFO(j.id << ": " << j.state << " " << j.message);
    CHECK(j.family == "mlp");
    CHECK((j.state == "finished" || j.state == "stopped"));
    CHECK(j.placement.size() == 2);
    jobs[t] = j;
  }
  REQUIRE(!s.model_dir.empty());
  CHECK(std::filesystem::file_size(s.model_dir + "/model.pt") > 0);
  c.shut_down();
  // a complete trial reported epochs 1 and 2 from the job's validations,
  // then 3 from its summary, whose history holds the first two
  auto events = journal_events(dir.path(), spec.id);
  std::map<trial_id, std::vector<trial_event>> by_trial;
  for (auto& e : events)
    by_trial[e.trial].push_back(e);
  for (auto& [id, evs] : by_trial) {
    if (evs.back().kind != event_kind::completed) continue;
    INFO("trial " << id);
    std::vector<uint64_t> steps;
    for (auto& e : evs)
      if (e.kind == event_kind::reported) steps.push_back(e.step);
    CHECK(steps == std::vector<uint64_t>{1, 2, 3});
    auto sum = nlohmann::json::parse(jobs.at(id).summary);
    CHECK(sum["epochs"] == 3);
    REQUIRE(sum["valid_history"].size() == 2);
    CHECK(sum["valid_history"][1]["step"] == 2);
    CHECK(evs.back().value == sum["valid"]["auc"].get<double>());
  }
}

TEST_CASE("a node lost under a job trial fails its job, and the study places "
          "the trial again on the nodes left, where it finishes",
          "[automl-jobs]") {
  test::temp_dir dir;
  jobs_cluster c{dir, 2, 1}; // 3 slots on 3 nodes: a gang spans two
  auto spec = job_study("spam-lost", "sparse-lr", 2, 9);
  spec.scheduler = "none";
  spec.workers_per_trial = 1;
  // 40 epochs a trial: long enough to lose a node under it
  spec.space =
      R"({"params": {"epochs": {"type": "categorical", "choices": ["40"]}}})";
  c.submit(spec);
  // trial 0's job trains on a worker node and the head, or two workers
  training::job_view first;
  auto deadline = clock_type::now() + 60s;
  for (;;) {
    auto ref = make_envelope<schema::JobRef>(
        [&](auto r) { r.setId(spec.id + ".t0.a1"); });
    auto r = c.client->send(training::service_name, ref, "status");
    if (r) {
      first = *training::job_view_of(*r);
      if (first.state == "running" && first.placement.size() == 2) break;
    }
    REQUIRE(clock_type::now() < deadline);
    std::this_thread::sleep_for(10ms);
  }
  std::string lost;
  for (auto& p : first.placement) {
    auto node = p.substr(p.find('@') + 1);
    if (node != "head") lost = node;
  }
  REQUIRE(lost.rfind("worker-", 0) == 0);
  REQUIRE(c.cluster->stop_node(std::stoul(lost.substr(7))) == caf::none);
  auto s = c.wait_ended(spec.id, 240s);
  INFO(s.message);
  REQUIRE(s.state == "finished");
  CHECK(s.done == 2);
  CHECK(s.failed == 0);
  CHECK(s.requeued >= 1);
  auto gone = c.job(spec.id, 0, 1);
  INFO(gone.message);
  CHECK(gone.state == "failed");
  CHECK_THAT(gone.message, Catch::Contains("leased by its submitter"));
  // placed again (a re-queue counts an attempt, as a placement does)
  std::optional<training::job_view> again;
  for (uint32_t a = 2; a < 8 && !again; ++a) {
    auto ref = make_envelope<schema::JobRef>(
        [&](auto r) { r.setId(spec.id + ".t0.a" + std::to_string(a)); });
    if (auto r = c.client->send(training::service_name, ref, "status"))
      again = *training::job_view_of(*r);
  }
  REQUIRE(again);
  CHECK(again->state == "finished");
  for (auto& p : again->placement)
    CHECK(p.substr(p.find('@') + 1) != lost);
}
