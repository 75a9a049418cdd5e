// AutoML studies with real processes on loopback: a worker killed mid-study
// on a 3-node cluster, and a study resumed after a kill -9 of the process
// that ran it. Trials are checked one by one in the study journal.

#include <catch2/catch.hpp>

#include <signal.h>

#include <map>
#include <set>
#include <thread>

#include "actors/automl/journal.hpp"
#include "runtime/client.hpp"
#include "tests/support/nodes.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using automl::event_kind;
using test::process;

namespace {

/// What the journal says about each trial of a study.
struct trial_history {
  size_t created = 0;
  size_t terminal = 0; ///< completed + pruned + failed events
  size_t completed = 0;
  std::vector<std::string> requeued_from; ///< node (or "" at resume)
  std::set<std::string> nodes;            ///< nodes it started on
  double value = 0;
};

std::map<automl::trial_id, trial_history>
read_journal(const std::string& dir, const std::string& study) {
  auto j = automl::study_journal::open(dir, false);
  REQUIRE(j);
  auto events = (*j)->events(study);
  REQUIRE(events);
  std::map<automl::trial_id, trial_history> out;
  for (auto& ev : *events) {
    auto& h = out[ev.trial];
    switch (ev.kind) {
    case event_kind::created:
      ++h.created;
      break;
    case event_kind::started:
      h.nodes.insert(ev.node);
      break;
    case event_kind::completed:
      ++h.completed;
      ++h.terminal;
      h.value = ev.value;
      break;
    case event_kind::pruned:
    case event_kind::failed:
      ++h.terminal;
      break;
    case event_kind::requeued:
      h.requeued_from.push_back(ev.node);
      break;
    default:
      break;
    }
  }
  return out;
}

std::vector<std::string> quadratic_study(const std::string& id,
                                         const std::string& trials,
                                         const std::string& sleep_ms) {
  return {test::troupe_bin(), "automl", "--family",     "quadratic",
          "--sleep-ms",       sleep_ms, "--max-rounds", "9",
          "--min-rounds",     "1",      "--every",      "1",
          "--trials",         trials,   "--study",      id,
          "--quiet"};
}

} // namespace

TEST_CASE("a 3-node study survives a killed worker: every trial is accounted "
          "for once and its trials are re-queued once") {
  test::temp_dir dir;
  test::node_set nodes{dir.path(), {"--slots", "1"}};
  auto gw = nodes.gateway_port();
  auto worker = [&](const std::string& name) {
    return nodes.worker(name, {"--slots", "2"});
  };
  auto w1 = worker("w1");
  auto w2 = worker("w2");
  std::unique_ptr<cluster_client> client;
  REQUIRE(test::eventually(
      [&] {
        auto c = cluster_client::connect("127.0.0.1", gw, 1s);
        if (!c) return false;
        auto ns = (*c)->nodes();
        if (!ns || ns->size() != 3) return false;
        auto as = (*c)->actors();
        if (!as) return false;
        size_t runners = 0;
        for (auto& a : *as)
          runners += a.kind == "automl.runner" ? 1 : 0;
        // One client per thread (each owns a KJ event loop): keep it only
        // once the cluster is ready, so the next attempt's can be made.
        if (runners != 3) return false;
        client = std::move(*c);
        return true;
      },
      20s));
  // Without early stopping every trial trains 9 steps of 40 ms: ~3 s on 5
  // slots.
  auto argv = quadratic_study("s1", "40", "40");
  argv.push_back("--scheduler");
  argv.push_back("none");
  argv.push_back("--cluster");
  argv.push_back("127.0.0.1:" + std::to_string(gw));
  process study{argv, dir / "automl.log"};
  // Let trials start on every node, then kill w1 while it trains.
  std::this_thread::sleep_for(1000ms);
  REQUIRE(study.running());
  w1->signal(SIGKILL);
  REQUIRE(w1->wait(5s) == 128 + SIGKILL);
  auto code = study.wait(90s);
  INFO("automl:\n" << study.log() << "\nhead:\n" << nodes.head().log());
  REQUIRE(code == 0);
  CHECK_THAT(study.log(), Catch::Contains("leaderboard"));
  REQUIRE(client->shutdown());
  CHECK(nodes.head().wait(15s) == 0);
  w2->wait(15s);

  auto trials = read_journal(dir / "head/journal", "s1");
  REQUIRE(trials.size() == 40);
  size_t requeued = 0;
  bool ran_on_w1 = false;
  for (auto& [id, h] : trials) {
    INFO("trial " << id);
    CHECK(h.created == 1);
    CHECK(h.terminal == 1);
    ran_on_w1 = ran_on_w1 || h.nodes.count("w1");
    CHECK(h.requeued_from.size() <= 1);
    for (auto& node : h.requeued_from) {
      CHECK(node == "w1");
      ++requeued;
    }
  }
  CHECK(ran_on_w1);
  CHECK(requeued >= 1);
}

TEST_CASE("a study resumed after kill -9 keeps every completed trial and "
          "re-queues the running ones once") {
  test::temp_dir dir;
  auto argv = quadratic_study("r1", "60", "15");
  argv.push_back("--out");
  argv.push_back(dir / "runs");
  argv.push_back("--slots");
  argv.push_back("2");
  {
    process first{argv, dir / "first.log"};
    // Wait until some trials are complete, then kill the whole process.
    REQUIRE(test::eventually(
        [&] {
          std::this_thread::sleep_for(200ms);
          auto j = automl::study_journal::open(dir / "runs/journal", false);
          if (!j) return false;
          auto evs = (*j)->events("r1");
          if (!evs) return false;
          size_t done = 0;
          for (auto& e : *evs)
            done += e.kind == event_kind::completed ? 1 : 0;
          return done >= 5;
        },
        30s));
    first.signal(SIGKILL);
    REQUIRE(first.wait(5s) == 128 + SIGKILL);
  }
  auto before = read_journal(dir / "runs/journal", "r1");
  std::map<automl::trial_id, double> completed;
  std::set<automl::trial_id> interrupted;
  for (auto& [id, h] : before) {
    if (h.completed) completed[id] = h.value;
    if (!h.terminal) interrupted.insert(id);
  }
  REQUIRE(completed.size() >= 5);
  REQUIRE(before.size() < 60);

  auto r = test::run({test::troupe_bin(), "automl", "--resume", "r1", "--out",
                      dir / "runs", "--slots", "2", "--quiet"},
                     90s);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("resumed"));

  auto after = read_journal(dir / "runs/journal", "r1");
  REQUIRE(after.size() == 60);
  for (auto& [id, h] : after) {
    INFO("trial " << id);
    CHECK(h.created == 1);
    CHECK(h.terminal == 1);
    if (completed.count(id)) {
      CHECK(h.completed == 1);
      CHECK(h.value == completed[id]);
      CHECK(h.requeued_from.empty());
    } else if (interrupted.count(id)) {
      CHECK(h.requeued_from.size() == 1);
    } else {
      CHECK(h.requeued_from.empty());
    }
  }
}
