// The AutoML actors in an in-process cluster (a head and workers joined over
// loopback), driven through the gateway like the CLI does, with the
// synthetic "quadratic" family. Waits are bounded polls; the journal is read
// after the cluster is gone.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/automl/journal.hpp"
#include "actors/automl/service.hpp"
#include "actors/automl/study.hpp"
#include "actors/training/service.hpp"
#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "runtime/node.hpp"
#include "schemas/automl.capnp.h"
#include "tests/integration/training_support.hpp"
#include "tests/support/cluster.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::automl;
using namespace troupe::tabular;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

study_spec quadratic(const std::string& id, uint64_t max_trials,
                     double sleep_ms, const std::string& scheduler = "asha") {
  study_spec s;
  s.id = id;
  s.family = "quadratic";
  s.metric = "value";
  s.sampler = "random";
  s.scheduler = scheduler;
  s.max_trials = max_trials;
  s.seed = 11;
  s.max_resource = 9;
  s.min_resource = 1;
  s.eta = 3;
  s.every = 1;
  s.sleep_ms = sleep_ms;
  return s;
}

/// A StudyStatus as the tests look at it.
struct status_view {
  std::string id, state, message;
  uint64_t done = 0, running = 0, pruned = 0, failed = 0, paused = 0;
  uint64_t requeued = 0, total = 0, max_trials = 0;
  double weight = 0;
  struct row {
    uint64_t id = 0;
    std::string state, node;
  };
  std::vector<row> board;

  bool ended() const { return state == "finished" || state == "failed"; }
};

status_view view_of(const envelope& env) {
  auto v = env.visit<schema::StudyStatus>([](auto s) {
    status_view v;
    v.id = s.getId();
    v.state = s.getState();
    v.message = s.getMessage();
    v.done = s.getDone();
    v.running = s.getRunning();
    v.pruned = s.getPruned();
    v.failed = s.getFailed();
    v.paused = s.getPaused();
    v.requeued = s.getRequeued();
    v.total = s.getTotalTrials();
    v.max_trials = s.getMaxTrials();
    v.weight = s.getWeight();
    for (auto r : s.getLeaderboard())
      v.board.push_back({r.getId(), r.getState(), r.getNode()});
    return v;
  });
  if (!v) FAIL("not a StudyStatus: " << describe(v.error()));
  return *v;
}

envelope submit_envelope(const study_spec& spec, double weight) {
  auto inner = to_envelope(spec);
  auto out = inner.visit<schema::StudySpec>([&](auto r) {
    return make_envelope<schema::StudySubmit>([&](auto b) {
      b.setSpec(r);
      b.setWeight(weight);
    });
  });
  REQUIRE(out);
  return *out;
}

envelope ref_envelope(const std::string& id) {
  return make_envelope<schema::StudyRef>([&](auto b) { b.setId(id); });
}

/// A local cluster with the AutoML service on its head and a client of its
/// gateway; its data directory outlives it (for the journal).
struct automl_cluster {
  automl_cluster(const test::temp_dir& dir, size_t workers, uint32_t slots)
      : data_dir(dir.path()) {
    test::service_cluster c{workers,
                            slots,
                            register_kinds,
                            {service_kind, service_name, {}},
                            data_dir};
    cluster = std::move(c.cluster);
    client = std::move(c.client);
    client->set_timeout(10s);
  }

  caf::expected<envelope> call(const envelope& payload, const std::string& op) {
    return client->send(service_name, payload, op);
  }

  status_view submit(const study_spec& spec, double weight = 1) {
    auto r = call(submit_envelope(spec, weight), "submit");
    if (!r) FAIL("submit " << spec.id << ": " << describe(r.error()));
    return view_of(*r);
  }

  status_view status(const std::string& id) {
    auto r = call(ref_envelope(id), "status");
    if (!r) FAIL("status " << id << ": " << describe(r.error()));
    return view_of(*r);
  }

  /// Polls until `pred` holds for the study's status (or `limit` passes).
  status_view wait_for(const std::string& id,
                       const std::function<bool(const status_view&)>& pred,
                       std::chrono::milliseconds limit = 30s) {
    auto deadline = clock_type::now() + limit;
    auto s = status(id);
    while (!pred(s) && clock_type::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      s = status(id);
    }
    return s;
  }

  status_view wait_ended(const std::string& id,
                         std::chrono::milliseconds limit = 30s) {
    auto s = wait_for(
        id, [](const status_view& v) { return v.ended(); }, limit);
    INFO("study " << id << " is " << s.state << ": " << s.message);
    REQUIRE(s.ended());
    return s;
  }

  /// Stops everything (the journal can be opened after this).
  void shut_down() {
    client.reset();
    cluster.reset();
  }

  std::string data_dir;
  std::unique_ptr<local_cluster> cluster;
  std::unique_ptr<cluster_client> client;
};

/// A study's journal events; only once no cluster has the journal open.
std::vector<trial_event> journal_events(const std::string& data_dir,
                                        const std::string& study) {
  auto j = study_journal::open(data_dir + "/journal", false);
  if (!j) FAIL("journal: " << describe(j.error()));
  auto evs = (*j)->events(study);
  if (!evs) FAIL("events of " << study << ": " << describe(evs.error()));
  return *evs;
}

bool is_terminal(event_kind k) {
  return k == event_kind::completed || k == event_kind::pruned ||
         k == event_kind::failed;
}

/// Checks that every trial was created once and ended once, and returns
/// the events by trial.
std::map<trial_id, std::vector<trial_event>>
check_each_trial_ended_once(const std::vector<trial_event>& events,
                            uint64_t total) {
  std::map<trial_id, std::vector<trial_event>> by_trial;
  for (auto& e : events)
    by_trial[e.trial].push_back(e);
  CHECK(by_trial.size() == total);
  for (auto& [id, evs] : by_trial) {
    INFO("trial " << id);
    CHECK(id < total);
    auto created = std::count_if(evs.begin(), evs.end(), [](auto& e) {
      return e.kind == event_kind::created;
    });
    auto ended = std::count_if(evs.begin(), evs.end(),
                               [](auto& e) { return is_terminal(e.kind); });
    CHECK(created == 1);
    CHECK(ended == 1);
    // Nothing happens to a trial after its end.
    CHECK(is_terminal(evs.back().kind));
  }
  return by_trial;
}

void check_counts(const status_view& s, uint64_t total) {
  INFO("study " << s.id << ": " << s.state << ", " << s.message);
  CHECK(s.total == total);
  CHECK(s.running == 0);
  CHECK(s.paused == 0);
  CHECK(s.done + s.pruned + s.failed == s.total);
  CHECK(s.failed == 0);
}

nlohmann::json read_summary(const std::string& data_dir,
                            const std::string& study) {
  std::ifstream in{data_dir + "/" + study + "/summary.json"};
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

} // namespace

TEST_CASE("a study on a cluster places its trials on several nodes and "
          "accounts for each",
          "[automl-actors]") {
  test::temp_dir dir;
  const uint64_t n = 30;
  {
    automl_cluster c{dir, 2, 2};
    auto first = c.submit(quadratic("spread", n, 2));
    CHECK(first.id == "spread");
    CHECK(first.max_trials == n);
    auto s = c.wait_ended("spread");
    CHECK(s.state == "finished");
    check_counts(s, n);
    CHECK(s.done > 0);
    CHECK_THAT(s.message, Catch::Contains("summary.json"));
    // Every row of the leaderboard names the node it ran on.
    REQUIRE_FALSE(s.board.empty());
    for (auto& r : s.board)
      CHECK((r.node == "head" || r.node == "worker-1" || r.node == "worker-2"));

    // The service answers what it cannot do with errors that say why.
    auto again =
        c.call(submit_envelope(quadratic("spread", n, 2), 1), "submit");
    REQUIRE_FALSE(again);
    CHECK_THAT(describe(again.error()), Catch::Contains("already"));
    auto bad = quadratic("bad", n, 2);
    bad.scheduler = "tournament";
    auto refused = c.call(submit_envelope(bad, 1), "submit");
    REQUIRE_FALSE(refused);
    CHECK_THAT(describe(refused.error()), Catch::Contains("'tournament'"));
    auto unknown = c.call(ref_envelope("nope"), "status");
    REQUIRE_FALSE(unknown);
    CHECK_THAT(describe(unknown.error()), Catch::Contains("'nope'"));
    auto loaded = c.call(ref_envelope("spread"), "resume");
    REQUIRE_FALSE(loaded);
    CHECK_THAT(describe(loaded.error()), Catch::Contains("already loaded"));

    // list names the study with its state.
    auto list = c.call(make_envelope<schema::StudyRef>([](auto) {}), "list");
    REQUIRE(list);
    auto ids = list->visit<schema::StudyList>([](auto l) {
      std::map<std::string, std::string> out;
      for (auto st : l.getStudies())
        out[st.getId()] = st.getState();
      return out;
    });
    REQUIRE(ids);
    CHECK(*ids == std::map<std::string, std::string>{{"spread", "finished"}});
    c.shut_down();
  }
  auto events = journal_events(dir.path(), "spread");
  check_each_trial_ended_once(events, n);
  std::set<std::string> nodes;
  for (auto& e : events)
    if (e.kind == event_kind::started) nodes.insert(e.node);
  INFO("trials ran on " << nodes.size() << " node(s)");
  CHECK(nodes.size() >= 2);
  for (auto& node : nodes)
    CHECK((node == "head" || node == "worker-1" || node == "worker-2"));
  // No trial was re-queued: no node was lost.
  CHECK(std::none_of(events.begin(), events.end(),
                     [](auto& e) { return e.kind == event_kind::requeued; }));
}

TEST_CASE("two studies share the slots by weight", "[automl-actors]") {
  test::temp_dir dir;
  automl_cluster c{dir, 2, 2}; // 6 slots: the head has 2 too
  // Slow trials that all train to the end (no scheduler): 9 x 20 ms.
  const uint64_t light_n = 16, heavy_n = 40;
  auto light = c.submit(quadratic("light", light_n, 20, "none"), 1);
  auto heavy = c.submit(quadratic("heavy", heavy_n, 20, "none"), 3);
  CHECK(light.weight == 1);
  CHECK(heavy.weight == 3);
  auto both_at = clock_type::now();
  // Sample while both still want slots (neither has started its last trial).
  double light_sum = 0, heavy_sum = 0;
  int samples = 0;
  auto deadline = both_at + 20s;
  while (clock_type::now() < deadline) {
    auto l = c.status("light");
    auto h = c.status("heavy");
    if (l.total >= light_n || h.total >= heavy_n || l.ended() || h.ended())
      break;
    // Skip the start: the first study took every slot before the second came.
    if (clock_type::now() - both_at > 400ms) {
      light_sum += static_cast<double>(l.running);
      heavy_sum += static_cast<double>(h.running);
      ++samples;
    }
    std::this_thread::sleep_for(40ms);
  }
  INFO("samples " << samples << ", mean running: light "
                  << light_sum / std::max(samples, 1) << ", heavy "
                  << heavy_sum / std::max(samples, 1));
  REQUIRE(samples >= 5);
  CHECK(light_sum > 0);               // the light study is not starved
  CHECK(heavy_sum > 1.5 * light_sum); // ideally 3x: 4.5 vs 1.5 slots
  CHECK(heavy_sum + light_sum <= 6.0 * samples);
  auto l = c.wait_ended("light");
  auto h = c.wait_ended("heavy");
  check_counts(l, light_n);
  check_counts(h, heavy_n);
  CHECK(l.done == light_n);
  CHECK(h.done == heavy_n);
}

namespace {

/// Slots held by each consumer ("" for free ones), and on which nodes.
std::map<std::string, size_t> holders(cluster_client& client,
                                      std::set<std::string>* nodes_of = nullptr,
                                      const std::string& consumer = {}) {
  auto xs = client.slots();
  if (!xs) FAIL("slots: " << describe(xs.error()));
  std::map<std::string, size_t> out;
  for (auto& x : *xs) {
    ++out[x.consumer];
    if (nodes_of && x.consumer == consumer) nodes_of->insert(x.node);
  }
  return out;
}

} // namespace

TEST_CASE("a study and actors that take slots share the cluster's slots "
          "through one scheduler, never oversubscribing a node",
          "[automl-actors]") {
  test::temp_dir dir;
  automl_cluster c{dir, 1, 2}; // 4 slots: head 2, worker-1 2
  auto& client = *c.client;
  // an actor of a kind that takes a slot (as a deployment's replica does)
  auto echo = client.spawn("echo", "worker-1", "", "echo-a");
  REQUIRE(echo);
  std::set<std::string> echo_nodes;
  auto held = holders(client, &echo_nodes, "echo-a");
  CHECK(held["echo-a"] == 1);
  CHECK(echo_nodes == std::set<std::string>{"worker-1"});
  CHECK(held[""] == 3);
  // a study that wants every slot gets the three left, not four
  c.submit(quadratic("busy", 200, 30, "none"));
  auto deadline = clock_type::now() + 20s;
  while (holders(client)["automl/busy"] < 3 && clock_type::now() < deadline)
    std::this_thread::sleep_for(20ms);
  size_t most = 0;
  for (int i = 0; i < 15; ++i) {
    held = holders(client);
    most = std::max(most, held["automl/busy"]);
    CHECK(held["echo-a"] == 1);
    CHECK(held["automl/busy"] + held["echo-a"] + held[""] == 4);
    auto s = c.status("busy");
    CHECK(s.running <= 3);
    std::this_thread::sleep_for(20ms);
  }
  CHECK(most == 3);
  // the nodes show the scheduler's count: none free while the study wants
  // (a slot is free for a moment between two trials: the fewest seen)
  uint32_t fewest = 4;
  for (int i = 0; i < 20 && fewest > 0; ++i) {
    auto nodes = client.nodes();
    REQUIRE(nodes);
    uint32_t free = 0;
    for (auto& n : *nodes)
      free += n.free_slots;
    fewest = std::min(fewest, free);
    std::this_thread::sleep_for(10ms);
  }
  CHECK(fewest == 0);
  // another slot-taking actor is refused on a full node, naming who holds it
  auto refused = client.spawn("echo", "head", "", "echo-b");
  if (!refused) {
    CHECK_THAT(describe(refused.error()), Catch::Contains("no free slot") &&
                                              Catch::Contains("automl/busy"));
  } else {
    // it came in between two trials: it holds a slot of its own all the same
    CHECK(holders(client)["echo-b"] == 1);
    REQUIRE(client.stop("echo-b"));
  }
  // the actor's slot goes back to the cluster when it stops
  REQUIRE(client.stop("echo-a"));
  deadline = clock_type::now() + 20s;
  while (holders(client)["automl/busy"] < 4 && clock_type::now() < deadline)
    std::this_thread::sleep_for(20ms);
  held = holders(client);
  CHECK(held["automl/busy"] == 4);
  CHECK(held.count("echo-a") == 0);
  // a stopped study gives its slots back
  REQUIRE(c.call(ref_envelope("busy"), "stop"));
  c.wait_ended("busy");
  deadline = clock_type::now() + 20s;
  while (holders(client)[""] < 4 && clock_type::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(holders(client)[""] == 4);
}

TEST_CASE("a job of higher priority takes a preemptible study's slots back, "
          "whose trials there are re-queued while it still finishes, and a "
          "study that is not preemptible keeps its slots",
          "[automl-actors]") {
  test::temp_dir dir;
  auto kinds = [](caf::actor_system_config& cfg) {
    automl::register_kinds(cfg);
    training::register_kinds(cfg);
  };
  auto lc = local_cluster::start(
      0, 3, kinds, {},
      {{automl::service_kind, automl::service_name, {}},
       {training::service_kind, training::service_name, {}}},
      dir.path());
  REQUIRE(lc);
  auto c = cluster_client::connect("127.0.0.1", (*lc)->gateway_port());
  REQUIRE(c);
  auto& client = **c;
  client.set_timeout(10s);
  auto held = [&](const std::string& consumer) {
    return holders(client)[consumer];
  };
  auto study_status = [&](const std::string& id) {
    auto r = client.send(automl::service_name, ref_envelope(id), "status");
    if (!r) FAIL("status " << id << ": " << describe(r.error()));
    return view_of(*r);
  };
  auto run_job = [&](const std::string& id) {
    auto toml = test::training_jobs::job_toml(1, 1, 3) + "priority = 5\n";
    auto e = make_envelope<schema::JobSubmit>([&](auto s) {
      s.setId(id);
      s.setConfig(toml);
      s.setOrigin("job.toml");
    });
    auto r = client.send(training::service_name, e, "submit");
    if (!r) FAIL("submit " << id << ": " << describe(r.error()));
    auto ref = make_envelope<schema::JobRef>([&](auto x) { x.setId(id); });
    auto deadline = clock_type::now() + 30s;
    test::training_jobs::view v;
    do {
      std::this_thread::sleep_for(20ms);
      auto s = client.send(training::service_name, ref, "status");
      if (!s) FAIL("job status: " << describe(s.error()));
      v = test::training_jobs::view_of(*s);
    } while (!v.ended() && clock_type::now() < deadline);
    return v;
  };
  for (bool preemptible : {true, false}) {
    auto id = std::string{preemptible ? "yields" : "keeps"};
    auto spec = quadratic(id, 18, 40, "none"); // 9 steps of 40 ms a trial
    spec.preemptible = preemptible;
    auto r =
        client.send(automl::service_name, submit_envelope(spec, 1), "submit");
    if (!r) FAIL("submit: " << describe(r.error()));
    auto deadline = clock_type::now() + 20s;
    while (held("automl/" + id) < 3 && clock_type::now() < deadline)
      std::this_thread::sleep_for(10ms);
    REQUIRE(held("automl/" + id) == 3);
    // a job of priority 5 wants 2 of the 3 slots the study holds
    auto job = run_job("job-" + id);
    INFO(job.message);
    CHECK(job.state == "finished");
    auto s = study_status(id);
    deadline = clock_type::now() + 30s;
    while (!s.ended() && clock_type::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      s = study_status(id);
    }
    REQUIRE(s.state == "finished");
    CHECK(s.done == 18);
    if (preemptible)
      CHECK(s.requeued >= 2); // the two slots the job took back
    else
      CHECK(s.requeued == 0); // the job waited for trials to end
  }
}

TEST_CASE("stopping a running study ends it, pruning what ran",
          "[automl-actors]") {
  test::temp_dir dir;
  {
    automl_cluster c{dir, 1, 2};
    // Without the stop it would run for minutes.
    c.submit(quadratic("endless", 100000, 20, "none"));
    auto s = c.wait_for("endless", [](const status_view& v) {
      return v.running >= 2 && v.done >= 1;
    });
    REQUIRE(s.running >= 2);
    auto t0 = clock_type::now();
    auto r = c.call(ref_envelope("endless"), "stop");
    REQUIRE(r);
    auto after = view_of(*r);
    CHECK(after.state != "running"); // the stop is seen before the status
    auto ended = c.wait_ended("endless", 5s);
    auto took = clock_type::now() - t0;
    CHECK(took < 3s);
    CHECK(ended.state == "finished");
    CHECK(ended.pruned >= 1);
    CHECK(ended.running == 0);
    CHECK(ended.done + ended.pruned + ended.failed == ended.total);
    CHECK(ended.total < 1000);
    // A second stop changes nothing.
    auto again = c.call(ref_envelope("endless"), "stop");
    REQUIRE(again);
    auto later = c.status("endless");
    CHECK(later.state == "finished");
    CHECK(later.total == ended.total);
    CHECK(later.pruned == ended.pruned);
    auto summary = read_summary(dir.path(), "endless");
    CHECK(summary.value("stopped_because", "") == "stopped by request");
    c.shut_down();
  }
  auto events = journal_events(dir.path(), "endless");
  std::map<trial_id, std::vector<trial_event>> by_trial;
  for (auto& e : events)
    by_trial[e.trial].push_back(e);
  size_t stopped = 0;
  for (auto& [id, evs] : by_trial) {
    INFO("trial " << id);
    auto ended = std::count_if(evs.begin(), evs.end(),
                               [](auto& e) { return is_terminal(e.kind); });
    CHECK(ended == 1);
    if (evs.back().kind == event_kind::pruned) {
      CHECK(evs.back().message == "stopped by request");
      ++stopped;
    }
  }
  CHECK(stopped >= 1);
}

// A node stopping in an orderly way (its agent gets an exit, as here or on
// SIGTERM) stops its runner, which cancels its trials; whether their
// CANCELLED end or the node-left notice reaches the study first, each such
// trial is re-queued exactly once and runs again elsewhere.
TEST_CASE("a lost node's trials are re-queued once and the study finishes",
          "[automl-actors]") {
  test::temp_dir dir;
  const uint64_t n = 24;
  uint64_t status_requeued = 0;
  {
    automl_cluster c{dir, 2, 2};
    // Every trial trains to the end: 9 steps of 40 ms.
    c.submit(quadratic("survivor", n, 40, "none"));
    auto s = c.wait_for("survivor", [](const status_view& v) {
      return v.done >= 4 && v.running >= 5;
    });
    REQUIRE(s.running >= 5); // worker-1's slots are busy
    REQUIRE(c.cluster->stop_node(1) == caf::none);
    CHECK(c.cluster->stop_node(1) != caf::none); // already stopped
    CHECK(c.cluster->stop_node(0) != caf::none); // the head is no worker
    auto ended = c.wait_ended("survivor");
    CHECK(ended.state == "finished");
    check_counts(ended, n);
    // Without a scheduler nothing is pruned: lost trials ran again.
    CHECK(ended.done == n);
    status_requeued = ended.requeued;
    c.shut_down();
  }
  auto events = journal_events(dir.path(), "survivor");
  auto by_trial = check_each_trial_ended_once(events, n);
  auto cancelled = [](const trial_event& e) {
    return e.kind == event_kind::pruned && e.message == "cancelled";
  };
  // Where the study first heard of worker-1's loss: a re-queue, or the
  // cancelled end of a trial there.
  size_t lost_at = events.size();
  std::set<trial_id> requeued;
  for (size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    if (e.kind == event_kind::requeued) {
      CHECK(e.node == "worker-1");
      CHECK(requeued.insert(e.trial).second); // once per trial
    }
    if (e.kind == event_kind::requeued || cancelled(e))
      lost_at = std::min(lost_at, i);
  }
  REQUIRE(lost_at < events.size());
  CHECK(status_requeued == requeued.size());
  // The trials running on worker-1 then: started there last, not ended.
  std::map<trial_id, std::string> last_node;
  for (size_t i = 0; i < lost_at; ++i) {
    auto& e = events[i];
    if (e.kind == event_kind::started) last_node[e.trial] = e.node;
    if (is_terminal(e.kind)) last_node.erase(e.trial);
  }
  std::set<trial_id> on_lost;
  for (auto& [id, node] : last_node)
    if (node == "worker-1") on_lost.insert(id);
  INFO(on_lost.size() << " trial(s) ran on worker-1, " << requeued.size()
                      << " re-queued");
  REQUIRE(on_lost.size() >= 1);
  CHECK(on_lost.size() <= 2);
  // Only those were re-queued; nothing ran on worker-1 after the loss.
  for (auto id : requeued)
    CHECK(on_lost.count(id) == 1);
  for (size_t i = lost_at; i < events.size(); ++i)
    if (events[i].kind == event_kind::started)
      CHECK(events[i].node != "worker-1");
  for (auto id : on_lost) {
    INFO("trial " << id);
    auto& evs = by_trial.at(id);
    CHECK(requeued.count(id) == 1);
    if (!requeued.count(id)) {
      CHECK(cancelled(evs.back()));
      continue;
    }
    // Started on worker-1, re-queued once, started elsewhere, complete.
    auto rq = std::find_if(evs.begin(), evs.end(), [](auto& e) {
      return e.kind == event_kind::requeued;
    });
    CHECK(std::any_of(evs.begin(), rq, [](auto& e) {
      return e.kind == event_kind::started && e.node == "worker-1";
    }));
    CHECK(std::any_of(rq, evs.end(), [](auto& e) {
      return e.kind == event_kind::started && e.node != "worker-1";
    }));
    CHECK(evs.back().kind == event_kind::completed);
  }
  // Every other trial trained to the end.
  for (auto& [id, evs] : by_trial)
    if (!on_lost.count(id)) {
      INFO("trial " << id);
      CHECK(evs.back().kind == event_kind::completed);
    }
}

TEST_CASE("a study stored in the journal resumes on a new cluster",
          "[automl-actors]") {
  test::temp_dir dir;
  const uint64_t n = 20;
  uint64_t done_before = 0;
  {
    automl_cluster c{dir, 1, 2};
    c.submit(quadratic("phoenix", n, 20, "none"));
    auto s = c.wait_for("phoenix", [](const status_view& v) {
      return v.done >= 3 && v.running >= 2;
    });
    REQUIRE(s.done >= 3);
    c.shut_down(); // the whole cluster goes, trials running
  }
  auto before = journal_events(dir.path(), "phoenix");
  std::map<trial_id, trial_record> replay;
  for (auto& e : before)
    apply_event(replay, e);
  std::set<trial_id> complete_before, open_before;
  for (auto& [id, t] : replay) {
    if (t.state == trial_state::complete) complete_before.insert(id);
    if (t.state == trial_state::running || t.state == trial_state::pending ||
        t.state == trial_state::paused)
      open_before.insert(id);
  }
  done_before = complete_before.size();
  // The running trials were left open: the study died with the service
  // before their cancelled ends came back.
  CHECK(open_before.size() >= 2);
  REQUIRE(done_before >= 3);
  auto size_before = replay.size();
  {
    automl_cluster c{dir, 1, 2};
    // Listed as stored until resumed.
    auto list = c.call(make_envelope<schema::StudyRef>([](auto) {}), "list");
    REQUIRE(list);
    auto states = list->visit<schema::StudyList>([](auto l) {
      std::map<std::string, std::string> out;
      for (auto st : l.getStudies())
        out[st.getId()] = st.getState();
      return out;
    });
    REQUIRE(states);
    CHECK(*states == std::map<std::string, std::string>{{"phoenix", "stored"}});
    auto r = c.call(ref_envelope("phoenix"), "resume");
    REQUIRE(r);
    auto resumed = view_of(*r);
    CHECK(resumed.id == "phoenix");
    CHECK(resumed.requeued == open_before.size());
    auto ended = c.wait_ended("phoenix");
    CHECK(ended.state == "finished");
    check_counts(ended, n);
    CHECK(ended.done >= done_before);
    c.shut_down();
  }
  auto all = journal_events(dir.path(), "phoenix");
  REQUIRE(all.size() > before.size());
  // The journal only grew.
  for (size_t i = 0; i < before.size(); ++i) {
    CHECK(all[i].trial == before[i].trial);
    CHECK(all[i].kind == before[i].kind);
  }
  std::vector<trial_event> after(all.begin() + before.size(), all.end());
  auto by_trial = check_each_trial_ended_once(all, n);
  for (auto& e : after) {
    // Completed trials were left alone; new ids continue after the old.
    CHECK(complete_before.count(e.trial) == 0);
    if (e.kind == event_kind::created) CHECK(e.trial >= size_before);
    if (e.kind == event_kind::requeued) CHECK(open_before.count(e.trial) == 1);
  }
  for (auto id : open_before) {
    INFO("trial " << id);
    auto n_requeued = std::count_if(after.begin(), after.end(), [&](auto& e) {
      return e.trial == id && e.kind == event_kind::requeued;
    });
    CHECK(n_requeued == 1);
  }
}

// While trials are paused and nothing can start (the trial budget is spent,
// Hyperband waits for a rung to fill), the study must not ask for slots it
// would give straight back: the service would grant and take back the same
// slot tens of thousands of times a second.
TEST_CASE("a study waiting for paused trials does not spin the service",
          "[automl-actors]") {
  test::temp_dir dir;
  automl_cluster c{dir, 0, 3};
  c.submit(quadratic("waits", 12, 20, "hyperband"));
  c.wait_ended("waits");
  auto stats = c.client->stats(service_name);
  REQUIRE(stats);
  REQUIRE(stats->size() == 1);
  // A dozen trials need a few messages each (wants, grant, release).
  INFO("the service handled " << (*stats)[0].handled << " messages");
  CHECK((*stats)[0].handled < 1000);
}
