// Model serving on loopback clusters of real processes: a replica's node
// killed with SIGKILL under load (its requests are retried on the other
// replica, each answered once), and autoscaling up under a burst and back
// down after it, draining as it goes.

#include <catch2/catch.hpp>

#include <signal.h>

#include <map>
#include <set>

#include "actors/serving/prediction_log.hpp"
#include "tests/integration/serving_support.hpp"
#include "tests/support/nodes.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using test::serving::cmd;

namespace {

/// Waits until the head sees `nodes` nodes and runs the serving service.
bool cluster_ready(uint16_t gateway, size_t nodes) {
  return test::eventually(
      [&] {
        auto c = cluster_client::connect("127.0.0.1", gateway, 1s);
        if (!c) return false;
        auto ns = (*c)->nodes();
        auto as = (*c)->actors();
        if (!ns || ns->size() != nodes || !as) return false;
        for (auto& a : *as)
          if (a.name == "serving") return true;
        return false;
      },
      20s);
}

/// Registers pima's model as `name` and deploys it with `args`.
void deploy(const std::string& gateway, const std::string& model,
            const std::string& name, std::vector<std::string> args) {
  auto reg = test::run(
      cmd({"models", "register", name, "--model", model, "--cluster", gateway}),
      30s);
  INFO(reg.out << reg.err);
  REQUIRE(reg.code == 0);
  std::vector<std::string> argv{"deploy", name, "--cluster", gateway};
  argv.insert(argv.end(), args.begin(), args.end());
  auto dep = test::run(cmd(argv), 30s);
  INFO(dep.out << dep.err);
  REQUIRE(dep.code == 0);
}

} // namespace

TEST_CASE("kill -9 of a replica's node under load: its requests are retried "
          "on the other replica and each is answered once",
          "[integration][serving][cluster]") {
  test::temp_dir dir;
  auto model = test::serving::train_pima(dir.path());
  test::node_set cluster{dir.path()}; // the head offers no slots
  auto gw = cluster.gateway_port();
  auto worker = [&](const std::string& name) {
    return cluster.worker(name, {"--data-dir", dir / name, "--slots", "1"});
  };
  auto w1 = worker("w1");
  auto w2 = worker("w2");
  REQUIRE(cluster_ready(gw, 3));
  // Batches wait up to 20 ms to fill, so that each replica always holds
  // requests when its node dies.
  deploy(cluster.gateway_addr(), model, "pima",
         {"--replicas", "2:2", "--max-batch", "16", "--max-delay-us", "20000"});
  REQUIRE(test::eventually(
      [&] {
        auto s = test::serving::status(gw, "pima");
        return s && s->ready == 2;
      },
      60s));
  auto before = test::serving::status(gw, "pima");
  REQUIRE(before);
  CHECK(std::set<std::string>(before->ready_nodes.begin(),
                              before->ready_nodes.end()) ==
        std::set<std::string>{"w1", "w2"});

  test::serving::load load{gw, "pima", 8, "k"};
  REQUIRE(test::eventually([&] { return load.done() >= 300; }, 60s));
  w1->signal(SIGKILL);
  REQUIRE(w1->wait(10s) == 128 + SIGKILL);
  auto at_kill = load.done();
  REQUIRE(test::eventually([&] { return load.done() >= at_kill + 300; }, 60s));
  load.stop();

  // every request succeeded, answered under its own id; equal rows got
  // equal scores whichever replica (and attempt) answered them
  std::set<std::string> sent;
  std::map<uint64_t, float> score_of_row;
  std::set<std::string> replicas;
  for (auto& a : load.answers()) {
    INFO(a.sent_id << ": " << a.error);
    CHECK(a.error.empty());
    CHECK(a.answered_id == a.sent_id);
    CHECK(sent.insert(a.sent_id).second);
    auto [it, fresh] = score_of_row.emplace(a.row % 16, a.score);
    if (!fresh) CHECK(it->second == a.score);
    replicas.insert(a.replica);
  }
  CHECK(replicas.size() >= 2);
  auto after = test::serving::status(gw, "pima");
  REQUIRE(after);
  CHECK(after->retries >= 1);
  CHECK(after->errors == 0);
  CHECK(after->ready_nodes == std::vector<std::string>{"w2"});

  // the prediction log holds each request exactly once
  std::map<std::string, int> logged;
  REQUIRE(test::eventually(
      [&] {
        auto log = serving::prediction_log::open(
            (std::filesystem::path{dir / "head"} / "serving" / "predictions")
                .string());
        if (!log) return false;
        logged.clear();
        auto err = (*log)->scan(0, 10'000'000, [&](uint64_t, auto& r) {
          if (r.deployment == "pima") ++logged[r.request_id];
          return true;
        });
        return !err && logged.size() >= sent.size();
      },
      10s));
  CHECK(logged.size() == sent.size());
  for (auto& [id, n] : logged) {
    INFO(id);
    CHECK(n == 1);
    CHECK(sent.count(id) == 1);
  }

  // w1 back under its name: the deployment has two replicas again
  w1 = worker("w1");
  REQUIRE(test::eventually(
      [&] {
        auto s = test::serving::status(gw, "pima");
        return s && s->ready == 2;
      },
      60s));
}

TEST_CASE("autoscaling with real replicas: a burst scales a deployment up to "
          "its maximum and it drains back to its minimum after",
          "[integration][serving][cluster]") {
  test::temp_dir dir;
  auto model = test::serving::train_pima(dir.path());
  test::node_set cluster{dir.path()};
  auto gw = cluster.gateway_port();
  auto w1 = cluster.worker("w1", {"--data-dir", dir / "w1", "--slots", "2"});
  auto w2 = cluster.worker("w2", {"--data-dir", dir / "w2", "--slots", "1"});
  REQUIRE(cluster_ready(gw, 3));
  // a replica is meant to hold 2 rows; a batch waits up to 20 ms for 4
  deploy(cluster.gateway_addr(), model, "pima",
         {"--replicas", "1:3", "--target-in-flight", "2", "--max-batch", "4",
          "--max-delay-us", "20000", "--upscale-delay-ms", "300",
          "--downscale-delay-ms", "1500"});
  REQUIRE(test::eventually(
      [&] {
        auto s = test::serving::status(gw, "pima");
        return s && s->ready == 1 && s->replicas == 1;
      },
      60s));

  // a burst of 12 clients keeps about 12 rows outstanding: 3 replicas
  {
    test::serving::load burst{gw, "pima", 12, "burst"};
    REQUIRE(test::eventually(
        [&] {
          auto s = test::serving::status(gw, "pima");
          return s && s->ready == 3 && s->desired == 3;
        },
        60s));
    burst.stop();
    for (auto& a : burst.answers()) {
      INFO(a.sent_id);
      CHECK(a.error.empty());
    }
  }

  // after it, one client: back to one replica, and no request fails while
  // the other two drain and stop
  test::serving::load trickle{gw, "pima", 1, "trickle"};
  REQUIRE(test::eventually(
      [&] {
        auto s = test::serving::status(gw, "pima");
        return s && s->desired == 1 && s->replicas == 1;
      },
      60s));
  auto at_one = trickle.done();
  REQUIRE(test::eventually([&] { return trickle.done() >= at_one + 20; }, 30s));
  trickle.stop();
  for (auto& a : trickle.answers()) {
    INFO(a.sent_id);
    CHECK(a.error.empty());
  }
  auto s = test::serving::status(gw, "pima");
  REQUIRE(s);
  CHECK(s->errors == 0);
  CHECK(s->shed == 0);
}
