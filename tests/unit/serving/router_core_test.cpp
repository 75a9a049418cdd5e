// The router's decisions (actors/serving/router_core.hpp) driven directly:
// a recorder stands in for the actor that carries them out, and a manual
// clock moves only when the test says.

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/serving/router_core.hpp"
#include "runtime/clock.hpp"
#include "runtime/errors.hpp"
#include "schemas/serving.capnp.h"

using namespace troupe;
using namespace troupe::serving;
using namespace std::chrono_literals;

namespace {

/// Records what the core asks for.
struct recorder final : router_io {
  std::vector<std::pair<router_attempt, envelope>> sent;
  std::map<uint64_t, envelope> answered;
  std::map<uint64_t, caf::error> failed;
  std::vector<uint32_t> fetched;
  std::vector<std::string> started, drained, stopped;

  void send(const router_attempt& a, const envelope& request) override {
    sent.emplace_back(a, request);
  }
  void answer(uint64_t id, const envelope& response) override {
    answered[id] = response;
  }
  void fail(uint64_t id, caf::error err) override {
    failed[id] = std::move(err);
  }
  void fetch(const std::string&, uint32_t version) override {
    fetched.push_back(version);
  }
  void start(const std::string& name, const envelope&,
             const envelope&) override {
    started.push_back(name);
  }
  void drain(const std::string& name) override { drained.push_back(name); }
  void stop(const std::string& name) override { stopped.push_back(name); }
};

envelope status(uint32_t min_replicas, uint32_t max_replicas,
                uint32_t queue_bound_rows,
                std::map<uint32_t, uint32_t> weights = {{1, 100}}) {
  deployment_settings d;
  d.name = "churn";
  d.model = "churn-model";
  d.min_replicas = min_replicas;
  d.max_replicas = max_replicas;
  d.max_batch_rows = 1;
  d.queue_bound_rows = queue_bound_rows;
  d.upscale_delay_ms = 1000;
  d.downscale_delay_ms = 1000;
  d.target_in_flight = 4;
  return make_envelope<schema::DeploymentStatus>([&](auto b) {
    to_schema(d, b.initSpec());
    auto t = b.initTraffic(static_cast<unsigned>(weights.size()));
    unsigned i = 0;
    for (auto& [v, w] : weights) {
      t[i].setVersion(v);
      t[i].setWeight(w);
      ++i;
    }
    b.setStableVersion(weights.begin()->first);
  });
}

envelope request(size_t rows, uint32_t version = 0) {
  return make_envelope<schema::PredictRequest>([&](auto b) {
    b.setDeployment("churn");
    b.setVersion(version);
    auto rl = b.initRows(static_cast<unsigned>(rows));
    for (unsigned i = 0; i < rows; ++i)
      rl[i].initValues(2);
  });
}

envelope model_version(uint32_t v) {
  return make_envelope<schema::ModelVersion>([&](auto b) {
    b.setName("churn-model");
    b.setVersion(v);
  });
}

envelope response(uint32_t batch_rows) {
  return make_envelope<schema::PredictResponse>(
      [&](auto b) { b.setBatchRows(batch_rows); });
}

struct core_fixture {
  recorder io;
  std::shared_ptr<manual_clock> time = std::make_shared<manual_clock>();
  router_core core{io, time, nullptr};

  /// Configures the core and brings `n` replicas of version 1 up (the
  /// first one fetches the model).
  void up(uint32_t n, uint32_t queue_bound = 64) {
    REQUIRE(!core.configure(status(n, n + 2, queue_bound)));
    core.reconcile();
    REQUIRE(io.fetched == std::vector<uint32_t>{1});
    core.model_fetched(1, model_version(1));
    core.reconcile();
    REQUIRE(io.started.size() == n);
    for (auto& name : io.started) {
      REQUIRE(core.replica_placed(name, "node-a"));
      core.replica_ready(name);
    }
  }

  uint64_t predict(size_t rows) {
    auto req = request(rows);
    auto t = core.admit(req);
    REQUIRE(t);
    auto id = core.open(req, *t);
    core.route(id);
    return id;
  }

  uint64_t field(uint64_t (schema::DeploymentStatus::Reader::*get)() const) {
    uint64_t out = 0;
    REQUIRE(core.status().visit<schema::DeploymentStatus>(
        [&](auto s) { out = (s.*get)(); }));
    return out;
  }
};

} // namespace

TEST_CASE_METHOD(core_fixture,
                 "a router core fetches the model, starts the minimum of "
                 "replicas and answers through the ready one",
                 "[serving][router]") {
  up(1);
  CHECK(io.started.at(0) == "serving.churn.v1.1");
  auto id = predict(3);
  REQUIRE(io.sent.size() == 1);
  auto a = io.sent[0].first;
  CHECK(a.id == id);
  CHECK(a.replica == "serving.churn.v1.1");
  CHECK(a.rows == 3);
  CHECK(core.find_replica(a.replica)->in_flight == 3);
  time->advance(2ms);
  core.on_answer(a, response(3));
  REQUIRE(io.answered.count(id) == 1);
  CHECK(core.find_replica(a.replica)->in_flight == 0);
  CHECK(core.find_replica(a.replica)->served == 3);
  CHECK(field(&schema::DeploymentStatus::Reader::getRequests) == 1);
  CHECK(field(&schema::DeploymentStatus::Reader::getRows) == 3);
  CHECK(core.pending() == 0);
}

TEST_CASE_METHOD(core_fixture,
                 "a request waits for a ready replica, and fails once none "
                 "became ready in 30 s of the injected clock",
                 "[serving][router]") {
  REQUIRE(!core.configure(status(1, 1, 64)));
  core.reconcile();
  auto early = predict(1);
  CHECK(core.parked() == 1);
  CHECK(io.sent.empty());
  time->advance(29s);
  core.tick();
  CHECK(io.failed.empty());
  time->advance(2s);
  core.tick();
  REQUIRE(io.failed.count(early) == 1);
  CHECK(is(io.failed[early], serving::errc::no_replica));
  CHECK(describe(io.failed[early]).find("became ready in 30 s") !=
        std::string::npos);
  CHECK(core.parked() == 0);

  SECTION("a parked request goes out when its replica is ready") {
    auto later = predict(2);
    core.model_fetched(1, model_version(1));
    core.reconcile();
    REQUIRE(io.started.size() == 1);
    REQUIRE(core.replica_placed(io.started[0], "node-a"));
    CHECK(io.sent.empty());
    core.replica_ready(io.started[0]);
    REQUIRE(io.sent.size() == 1);
    CHECK(io.sent[0].first.id == later);
  }
}

TEST_CASE_METHOD(core_fixture,
                 "past the queue bound of its version a request is shed as "
                 "overloaded",
                 "[serving][router]") {
  up(1, 4);
  predict(3);
  auto refused = core.admit(request(2));
  REQUIRE(!refused);
  CHECK(is(refused.error(), serving::errc::overloaded));
  CHECK(describe(refused.error()).rfind("overloaded: deployment churn v1", 0) ==
        0);
  CHECK(field(&schema::DeploymentStatus::Reader::getShed) == 1);
  CHECK(core.admit(request(1)));
  auto unknown = core.admit(request(1, 7));
  REQUIRE(!unknown);
  CHECK(is(unknown.error(), serving::errc::no_traffic));
}

TEST_CASE_METHOD(core_fixture,
                 "a lost replica's requests go to another one, and fail after "
                 "three replicas were lost",
                 "[serving][router]") {
  up(2);
  auto id = predict(1);
  REQUIRE(io.sent.size() == 1);
  CHECK(io.sent[0].first.id == id);
  auto first = io.sent[0].first.replica;
  core.replica_down(first, "node lost");
  REQUIRE(io.sent.size() == 2);
  auto second = io.sent[1].first;
  CHECK(second.replica != first);
  CHECK(second.number == 2);
  CHECK(field(&schema::DeploymentStatus::Reader::getRetries) == 1);
  // An answer from the lost replica's attempt no longer counts.
  core.on_answer(io.sent[0].first, response(1));
  CHECK(io.answered.empty());
  core.on_error(second,
                make_error(troupe::errc::shutting_down, "replica stopped"));
  CHECK(io.failed.empty()); // parked: no replica is left
  CHECK(core.parked() == 1);
}

TEST_CASE_METHOD(core_fixture,
                 "a replica that failed to start is tried again only after the "
                 "backoff of the injected clock",
                 "[serving][router]") {
  REQUIRE(!core.configure(status(1, 1, 64)));
  core.reconcile();
  core.model_fetched(1, model_version(1));
  core.reconcile();
  REQUIRE(io.started.size() == 1);
  REQUIRE(core.replica_placed(io.started[0], "node-a"));
  core.replica_start_failed(io.started[0], "no free slot");
  CHECK(io.stopped == std::vector<std::string>{io.started[0]});
  CHECK(core.replicas().empty());
  core.reconcile();
  CHECK(io.started.size() == 1);
  time->advance(999ms);
  core.reconcile();
  CHECK(io.started.size() == 1);
  time->advance(1ms);
  core.reconcile();
  CHECK(io.started.size() == 2);
}

TEST_CASE_METHOD(core_fixture,
                 "under load the router scales up after the upscale delay, "
                 "and drains a replica before stopping it when load is gone",
                 "[serving][router]") {
  up(1);
  for (int i = 0; i < 12; ++i)
    predict(1); // 12 in flight for a target of 4 per replica
  core.tick();
  CHECK(core.desired() == 1);
  time->advance(1500ms);
  core.tick();
  CHECK(core.desired() == 2);
  REQUIRE(io.started.size() == 2);
  REQUIRE(core.replica_placed(io.started[1], "node-b"));
  core.replica_ready(io.started[1]);
  // every request answered: the load is gone
  for (auto& [a, req] : std::vector<std::pair<router_attempt, envelope>>(
           io.sent.begin(), io.sent.end()))
    core.on_answer(a, response(1));
  CHECK(core.pending() == 0);
  time->advance(250ms);
  core.tick();
  time->advance(1500ms);
  core.tick();
  CHECK(core.desired() == 1);
  REQUIRE(io.drained.size() == 1);
  CHECK(core.find_replica(io.drained[0])->phase == replica_phase::draining);
  CHECK(io.stopped.empty());
  core.replica_drained(io.drained[0]);
  CHECK(io.stopped == io.drained);
  CHECK(core.replicas().size() == 1);
}
