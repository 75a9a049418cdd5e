// The router actor (actors/serving/router.hpp) on CAF's deterministic test
// coordinator: the serving service, the directory and the replicas are
// stand-in actors, messages move only when the test runs the scheduler and
// time only when it advances the fixture's clocks. No sleeps, no threads.

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/serving/convert.hpp"
#include "actors/serving/errors.hpp"
#include "actors/serving/router.hpp"
#include "actors/serving/router_core.hpp"
#include "actors/serving/service.hpp"
#include "runtime/errors.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/cluster.capnp.h"
#include "schemas/serving.capnp.h"
#include "tests/actors/fixture.hpp"

using namespace troupe;
using namespace troupe::serving;
using namespace std::chrono_literals;

namespace {

using release_atom = caf::atom_constant<caf::atom("release")>;

/// What the stand-ins saw.
struct world {
  /// replica name -> its handle, as the directory spawned it
  std::map<std::string, caf::actor> replicas;
  /// replica name -> request ids it was sent
  std::map<std::string, std::vector<std::string>> received;
  std::vector<std::string> stopped;
  uint32_t fetches = 0;
  /// Whether the service answers fetches.
  bool serve_models = true;
};

/// A replica that loads at once and answers its predicts when released.
caf::behavior replica(caf::event_based_actor* self, std::string name,
                      std::shared_ptr<world> w) {
  auto held = std::make_shared<std::vector<
      std::pair<caf::typed_response_promise<envelope>, std::string>>>();
  return {
      [](load_atom, const envelope&, const envelope&) { return true; },
      [=](predict_atom, const envelope& req) -> caf::result<envelope> {
        std::string id;
        (void)req.visit<schema::PredictRequest>(
            [&](auto r) { id = r.getRequestId(); });
        w->received[name].push_back(id);
        auto rp = self->make_response_promise<envelope>();
        held->emplace_back(rp, id);
        return rp;
      },
      [=](release_atom) {
        for (auto& [rp, id] : *held)
          rp.deliver(make_envelope<schema::PredictResponse>([&](auto r) {
            r.setRequestId(id);
            r.setReplica(name);
            r.setBatchRows(1);
          }));
        held->clear();
      },
      [](drain_atom) { return true; },
  };
}

/// The serving service as far as a router asks it: model files.
caf::behavior service(caf::event_based_actor* self, std::shared_ptr<world> w) {
  return {
      [=](fetch_atom, const std::string& model,
          uint32_t version) -> caf::result<envelope> {
        ++w->fetches;
        if (!w->serve_models) return self->make_response_promise<envelope>();
        return make_envelope<schema::ModelVersion>([&](auto b) {
          b.setName(model);
          b.setVersion(version);
        });
      },
  };
}

/// The directory as far as a router asks it: spawn, look up, stop.
caf::behavior directory(caf::event_based_actor* self,
                        std::shared_ptr<world> w) {
  return {
      [=](caf::spawn_atom, const std::string&, const std::string&,
          const std::string&, const std::string& name) {
        w->replicas[name] = self->spawn(replica, name, w);
        return make_envelope<schema::Snapshot>([&](auto b) {
          auto a = b.initActors(1);
          a[0].setName(name);
          a[0].setNode("node-" + std::to_string(w->replicas.size()));
        });
      },
      [=](lookup_atom, const std::string& name) { return w->replicas[name]; },
      [=](stop_atom, const std::string& name) {
        w->stopped.push_back(name);
        if (auto r = w->replicas.find(name); r != w->replicas.end())
          self->send_exit(r->second, caf::exit_reason::user_shutdown);
        return caf::unit;
      },
  };
}

envelope deployment(uint32_t replicas) {
  deployment_settings d;
  d.name = "churn";
  d.model = "churn-model";
  d.min_replicas = replicas;
  d.max_replicas = replicas;
  return make_envelope<schema::DeploymentStatus>([&](auto b) {
    to_schema(d, b.initSpec());
    auto t = b.initTraffic(1);
    t[0].setVersion(1);
    t[0].setWeight(100);
    b.setStableVersion(1);
  });
}

envelope request(const std::string& id) {
  return make_envelope<schema::PredictRequest>([&](auto b) {
    b.setDeployment("churn");
    b.setRequestId(id);
    b.initRows(1)[0].initValues(2);
  });
}

struct router_fixture : test::actor_fixture {
  std::shared_ptr<world> w = std::make_shared<world>();
  caf::actor dir = sys->spawn(directory, w);
  caf::actor svc = sys->spawn(service, w);
  router_actor router;

  void start(uint32_t replicas) {
    router_config cfg;
    cfg.service = caf::actor_cast<service_actor>(svc);
    cfg.directory = dir;
    cfg.status = deployment(replicas);
    cfg.clock = time;
    router = spawn_router(*sys, std::move(cfg));
    run();
    // the model arrives before the first tick; the tick starts replicas
    advance(std::chrono::duration_cast<std::chrono::milliseconds>(
        router_tick_every));
  }

  /// Asks the router to predict; the answer lands in the result once the
  /// test runs the scheduler.
  std::shared_ptr<std::optional<caf::expected<envelope>>>
  predict(const std::string& id) {
    auto out = std::make_shared<std::optional<caf::expected<envelope>>>();
    sys->spawn([=, r = router](caf::event_based_actor* self) {
      self->request(r, caf::infinite, predict_atom::value, request(id))
          .then([=](const envelope& e) { *out = e; },
                [=](caf::error& err) { *out = std::move(err); });
    });
    run();
    return out;
  }

  std::vector<std::string> states() {
    std::vector<std::string> out;
    auto got = std::make_shared<std::optional<envelope>>();
    sys->spawn([=, r = router](caf::event_based_actor* self) {
      self->request(r, caf::infinite, deployment_atom::value)
          .then([=](const envelope& e) { *got = e; });
    });
    run();
    REQUIRE(got->has_value());
    REQUIRE((*got)->visit<schema::DeploymentStatus>([&](auto s) {
      for (auto r : s.getReplicas())
        out.push_back(std::string{r.getName().cStr()} + "=" +
                      r.getState().cStr());
    }));
    return out;
  }

  ~router_fixture() {
    if (router) caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc, caf::exit_reason::user_shutdown);
    // replicas the directory had no time to stop before its own exit
    for (auto& [name, r] : w->replicas)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    run();
  }
};

std::string replica_of(const caf::expected<envelope>& answer) {
  std::string out;
  if (answer)
    (void)answer->visit<schema::PredictResponse>(
        [&](auto r) { out = r.getReplica(); });
  return out;
}

} // namespace

TEST_CASE_METHOD(router_fixture,
                 "the router actor starts a replica through the directory and "
                 "answers a predict through it",
                 "[serving][router][actors]") {
  start(1);
  CHECK(w->fetches == 1);
  REQUIRE(w->replicas.size() == 1);
  auto name = w->replicas.begin()->first;
  CHECK(states() == std::vector<std::string>{name + "=ready"});
  auto answer = predict("r-1");
  CHECK(!answer->has_value()); // the replica holds it
  REQUIRE(w->received[name] == std::vector<std::string>{"r-1"});
  caf::anon_send(w->replicas[name], release_atom::value);
  run();
  REQUIRE(answer->has_value());
  REQUIRE(**answer);
  CHECK(replica_of(**answer) == name);
}

TEST_CASE_METHOD(router_fixture,
                 "a request no replica became ready for fails after 30 s of "
                 "the injected clock",
                 "[serving][router][actors]") {
  w->serve_models = false; // the model never arrives: no replica starts
  start(1);
  CHECK(w->replicas.empty());
  auto answer = predict("r-1");
  advance(29s);
  CHECK(!answer->has_value());
  advance(2s);
  REQUIRE(answer->has_value());
  REQUIRE(!**answer);
  CHECK(is((*answer)->error(), serving::errc::no_replica));
  CHECK(describe((*answer)->error()).find("became ready in 30 s") !=
        std::string::npos);
}

TEST_CASE_METHOD(router_fixture,
                 "a request on a replica that goes down is retried on another "
                 "replica",
                 "[serving][router][actors]") {
  start(2);
  REQUIRE(w->replicas.size() == 2);
  auto answer = predict("r-1");
  std::string first, second;
  for (auto& [name, ids] : w->received)
    if (!ids.empty()) first = name;
  REQUIRE(!first.empty());
  for (auto& [name, h] : w->replicas)
    if (name != first) second = name;
  caf::anon_send_exit(w->replicas[first], caf::exit_reason::kill);
  run();
  REQUIRE(w->received[second] == std::vector<std::string>{"r-1"});
  caf::anon_send(w->replicas[second], release_atom::value);
  run();
  REQUIRE(answer->has_value());
  REQUIRE(**answer);
  CHECK(replica_of(**answer) == second);
}
