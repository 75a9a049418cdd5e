// Deterministic tests of the study actor (actors/automl/study_actor.hpp): the
// test plays the automl service (it grants slots and records what the study
// wants and gives back) and the trial runners (fake runners record the
// assignments and cancels; the test sends the reports and ends a runner's
// trial thread would send). Time is the fixture's manual clock and CAF's
// test coordinator: nothing sleeps, nothing runs on another thread.

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/automl/journal.hpp"
#include "actors/automl/runner.hpp"
#include "actors/automl/service.hpp"
#include "actors/automl/study.hpp"
#include "actors/automl/study_actor.hpp"
#include "actors/automl/wire.hpp"
#include "actors/models/families.hpp"
#include "runtime/errors.hpp"
#include "schemas/automl.capnp.h"
#include "tests/actors/fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/automl/checkpoints.hpp"

using namespace troupe;
using namespace troupe::automl;
using troupe::test_studies::checkpoint_of;
using troupe::test_studies::step_of;
using namespace std::chrono_literals;
using troupe::models::quadratic_value;

namespace {

using action = schema::TrialDecision::Action;
using outcome = schema::TrialEnd::Outcome;

study_spec quadratic(const std::string& id, const std::string& scheduler,
                     uint64_t max_trials) {
  study_spec s;
  s.id = id;
  s.family = "quadratic";
  s.metric = "value";
  s.sampler = "random";
  s.scheduler = scheduler;
  s.max_trials = max_trials;
  s.seed = 5;
  s.max_resource = 9;
  s.min_resource = 1;
  s.eta = 3;
  s.every = 1;
  return s;
}

/// A TrialAssignment as a runner received it.
struct assignment {
  std::string node;
  trial_id trial = 0;
  uint32_t attempt = 0;
  uint32_t slot = 0;
  uint64_t budget = 0;
  uint64_t every = 0;
  std::vector<uint8_t> checkpoint;
  config params;
  std::string study, family;
};

/// What the fake service and runners were sent, in order.
struct seen_t {
  std::vector<bool> wants;
  /// The study's latest wish for slots, from a wants or a release message.
  bool wanting = false;
  struct release_t {
    std::string node;
    uint32_t slot = 0;
    uint64_t lease = 0;
    bool wants = false;
  };
  std::vector<release_t> releases;
  std::vector<assignment> assigned;
  std::vector<std::pair<std::string, trial_id>> cancels;
  std::vector<refit_job> refits;
};

/// A runner that records what it is told (it speaks the runner's protocol).
caf::actor fake_runner(caf::actor_system& sys, std::string node,
                       std::shared_ptr<seen_t> seen) {
  auto r = sys.spawn(
      [=](trial_runner_self* self) -> trial_runner_actor::behavior_type {
        return {
            [=](trial_atom, const envelope& env, const caf::actor&,
                const caf::actor&) -> caf::result<void> {
              auto a = env.visit<schema::TrialAssignment>([&](auto x) {
                assignment a;
                a.node = node;
                a.trial = x.getTrial();
                a.attempt = x.getAttempt();
                a.slot = x.getSlot();
                a.budget = x.getBudget();
                a.every = x.getEvery();
                auto cp = x.getCheckpoint();
                a.checkpoint.assign(cp.begin(), cp.end());
                a.params = read_params(x.getParams());
                a.study = x.getStudy();
                a.family = x.getFamily();
                return a;
              });
              if (!a) return a.error();
              seen->assigned.push_back(std::move(*a));
              return caf::unit;
            },
            [=](cancel_atom, const std::string&, uint64_t trial) {
              seen->cancels.emplace_back(node, trial);
            },
            [=](ended_atom, const std::string&, uint64_t, uint32_t) {},
            self->stats_handler(),
        };
      });
  return caf::actor_cast<caf::actor>(r);
}

/// The service's side of a study: records wants and releases.
caf::actor fake_service(caf::actor_system& sys, std::shared_ptr<seen_t> seen) {
  return sys.spawn([=](caf::event_based_actor*) -> caf::behavior {
    return {
        [=](wants_atom, const std::string&, bool wants) {
          seen->wants.push_back(wants);
          seen->wanting = wants;
        },
        [=](release_atom, const std::string&, const std::string& node,
            uint32_t slot, uint64_t lease, bool wants) {
          seen->releases.push_back({node, slot, lease, wants});
          seen->wanting = wants;
        },
    };
  });
}

/// A StudyStatus as the tests look at it.
struct status_view {
  std::string state, message;
  uint64_t done = 0, running = 0, pruned = 0, failed = 0, paused = 0;
  uint64_t requeued = 0, total = 0, elapsed_ms = 0;
  bool has_best = false;
  std::vector<trial_id> board;
};

/// A study actor with a journal, a fake service, fake runners and a refit
/// that answers at once.
struct study_fixture : test::actor_fixture {
  test::temp_dir dir;
  std::shared_ptr<study_journal> journal;
  std::shared_ptr<seen_t> seen = std::make_shared<seen_t>();
  caf::actor service = fake_service(*sys, seen);
  std::map<std::string, caf::actor> runners;
  study_actor study;
  std::string id;
  uint64_t next_lease = 1;

  study_fixture() {
    auto j = study_journal::open(dir / "journal", false);
    if (!j) FAIL("journal: " << describe(j.error()));
    journal = std::move(*j);
  }

  /// Stops every actor of the test, so that the system can shut down.
  ~study_fixture() {
    if (study) caf::anon_send_exit(study, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(service, caf::exit_reason::user_shutdown);
    for (auto& [node, r] : runners)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    run();
  }

  void start(const study_spec& spec) {
    id = spec.id;
    REQUIRE(journal->create(spec.id, to_envelope(spec)));
    auto core = study_core::make(spec, nullptr, time->wall_ms());
    REQUIRE(core);
    study_init init;
    init.core = std::move(*core);
    init.journal = journal;
    init.service = caf::actor_cast<service_actor>(service);
    init.out_dir = dir.path();
    init.clock = time;
    auto refits = seen;
    init.refit = [refits](caf::actor_system&, const study_actor& s,
                          refit_job job) {
      refits->refits.push_back(job);
      caf::anon_send(s, refit_atom::value, job.out_dir + "/best", std::string{},
                     false, 0.0, std::string{});
    };
    study = spawn_study(*sys, std::move(init));
    run();
  }

  caf::actor runner(const std::string& node) {
    auto& r = runners[node];
    if (!r) r = fake_runner(*sys, node, seen);
    return r;
  }

  /// Grants (node, slot) as the service would; returns the lease.
  uint64_t grant(const std::string& node, uint32_t slot) {
    auto lease = next_lease++;
    caf::anon_send(study, grant_atom::value, node, slot, runner(node), lease,
                   std::string{});
    run();
    return lease;
  }

  /// Sends a report as a trial's thread would, and returns the decision.
  std::pair<action, uint64_t> report(const assignment& a, uint64_t step,
                                     double value) {
    auto env = make_envelope<schema::TrialReport>([&](auto r) {
      r.setStudy(id);
      r.setTrial(a.trial);
      r.setAttempt(a.attempt);
      r.setStep(step);
      r.setValue(value);
    });
    auto got = std::make_shared<std::optional<std::pair<action, uint64_t>>>();
    auto s = study;
    sys->spawn([=](caf::event_based_actor* self) {
      self->request(s, caf::infinite, report_atom::value, env)
          .then([=](const envelope& d) {
            auto x = d.visit<schema::TrialDecision>([](auto r) {
              return std::make_pair(r.getAction(), r.getBudget());
            });
            if (x) *got = *x;
          });
    });
    run();
    if (!*got) FAIL("the study did not answer a report");
    return **got;
  }

  /// Ends a trial as its runner's thread would.
  void end(const assignment& a, outcome o, uint64_t steps, double value,
           std::vector<uint8_t> checkpoint = {}, std::string message = "") {
    auto env = make_envelope<schema::TrialEnd>([&](auto e) {
      e.setStudy(id);
      e.setTrial(a.trial);
      e.setAttempt(a.attempt);
      e.setOutcome(o);
      e.setSteps(steps);
      e.setValue(value);
      e.setCheckpoint(kj::arrayPtr(checkpoint.data(), checkpoint.size()));
      e.setMessage(message);
      e.setNode(a.node);
      e.setSlot(a.slot);
    });
    caf::anon_send(study, end_atom::value, env);
    run();
  }

  status_view status(uint64_t rows = 20) {
    auto got = std::make_shared<std::optional<envelope>>();
    auto s = study;
    sys->spawn([=](caf::event_based_actor* self) {
      self->request(s, caf::infinite, progress_atom::value, rows)
          .then([=](const envelope& e) { *got = e; });
    });
    run();
    if (!*got) FAIL("the study did not answer progress_atom");
    auto v = (*got)->visit<schema::StudyStatus>([](auto s) {
      status_view v;
      v.state = s.getState();
      // The enum and the deprecated text agree.
      CHECK(to_text(s.getStudyState()) == v.state);
      v.message = s.getMessage();
      v.done = s.getDone();
      v.running = s.getRunning();
      v.pruned = s.getPruned();
      v.failed = s.getFailed();
      v.paused = s.getPaused();
      v.requeued = s.getRequeued();
      v.total = s.getTotalTrials();
      v.elapsed_ms = s.getElapsedMs();
      v.has_best = s.getHasBest();
      for (auto r : s.getLeaderboard()) {
        v.board.push_back(r.getId());
        CHECK(to_text(r.getTrialState()) == std::string{r.getState().cStr()});
      }
      return v;
    });
    if (!v) FAIL("not a StudyStatus: " << describe(v.error()));
    return *v;
  }

  std::vector<trial_event> events() {
    auto e = journal->events(id);
    if (!e) FAIL("journal events: " << describe(e.error()));
    return *e;
  }

  size_t count(event_kind k, std::optional<trial_id> trial = {}) {
    auto evs = events();
    return static_cast<size_t>(
        std::count_if(evs.begin(), evs.end(), [&](const trial_event& e) {
          return e.kind == k && (!trial || e.trial == *trial);
        }));
  }
};

} // namespace

TEST_CASE_METHOD(study_fixture,
                 "a study places a trial on each slot it is granted and gives "
                 "back a slot it cannot use",
                 "[automl-actors]") {
  start(quadratic("place", "none", 2));
  // It asks for slots as soon as it starts.
  REQUIRE(seen->wants == std::vector<bool>{true});
  grant("a", 0);
  grant("a", 1);
  REQUIRE(seen->assigned.size() == 2);
  for (uint32_t i = 0; i < 2; ++i) {
    auto& a = seen->assigned[i];
    CHECK(a.node == "a");
    CHECK(a.slot == i);
    CHECK(a.trial == i);
    CHECK(a.budget == 9); // no scheduler: a full trial
    CHECK(a.every == 1);
    CHECK(a.checkpoint.empty());
    CHECK(a.study == "place");
    CHECK(a.family == "quadratic");
    CHECK(a.params.count("x") == 1);
  }
  // Both trials are out: it wants no more, and gives a further slot back.
  CHECK(seen->wants == std::vector<bool>{true, false});
  auto lease = grant("b", 0);
  CHECK(seen->assigned.size() == 2);
  REQUIRE(seen->releases.size() == 1);
  CHECK(seen->releases[0].node == "b");
  CHECK(seen->releases[0].slot == 0);
  CHECK(seen->releases[0].lease == lease);
  CHECK_FALSE(seen->releases[0].wants);
  auto s = status();
  CHECK(s.state == "running");
  CHECK(s.running == 2);
  CHECK(s.total == 2);
  // The journal has what happened.
  CHECK(count(event_kind::created) == 2);
  CHECK(count(event_kind::started) == 2);
  for (auto& e : events())
    if (e.kind == event_kind::started) CHECK(e.node == "a");
}

TEST_CASE_METHOD(study_fixture,
                 "a trial's reports get the study's decisions, its end frees "
                 "its slot, and the finished study refits and writes its "
                 "summary",
                 "[automl-actors]") {
  start(quadratic("one", "none", 1));
  auto lease = grant("a", 0);
  REQUIRE(seen->assigned.size() == 1);
  auto a = seen->assigned[0];
  auto v3 = quadratic_value(a.params, 3);
  auto d = report(a, 3, v3);
  CHECK(d.first == action::PROCEED);
  CHECK(d.second == 9);
  // A report of another attempt is stale: stop.
  auto stale = a;
  stale.attempt = a.attempt + 1;
  CHECK(report(stale, 4, v3).first == action::STOP);
  time->advance(250ms); // the injected clock dates what follows
  auto v9 = quadratic_value(a.params, 9);
  d = report(a, 9, v9);
  CHECK(d.first == action::COMPLETE);
  CHECK(seen->refits.empty()); // the trial still holds its slot
  end(a, outcome::FINISHED, 9, v9);
  // The slot goes back under its lease, with no wish for more.
  REQUIRE(seen->releases.size() == 1);
  CHECK(seen->releases[0].node == "a");
  CHECK(seen->releases[0].lease == lease);
  CHECK_FALSE(seen->releases[0].wants);
  // The study is over: its best trial was refitted, the summary written.
  REQUIRE(seen->refits.size() == 1);
  CHECK(seen->refits[0].trial == a.trial);
  CHECK(seen->refits[0].rounds == 9);
  CHECK(seen->refits[0].cv_score == v9);
  CHECK(seen->refits[0].params == a.params);
  auto s = status();
  CHECK(s.state == "finished");
  CHECK(s.done == 1);
  CHECK(s.has_best);
  CHECK(s.elapsed_ms == 250);
  CHECK(s.board == std::vector<trial_id>{a.trial});
  CHECK_THAT(s.message, Catch::Contains("summary.json"));
  std::ifstream in{dir / "summary.json"};
  REQUIRE(in);
  auto summary = nlohmann::json::parse(in);
  CHECK(summary.value("stopped_because", "") == "trial budget reached");
  auto evs = events();
  std::vector<event_kind> kinds;
  for (auto& e : evs)
    kinds.push_back(e.kind);
  CHECK(kinds ==
        std::vector<event_kind>{event_kind::created, event_kind::started,
                                event_kind::reported, event_kind::reported,
                                event_kind::completed});
  CHECK(evs.back().at_ms == time->wall_ms());
}

TEST_CASE_METHOD(study_fixture,
                 "a lost node's trials are re-queued once and placed on the "
                 "next slots granted",
                 "[automl-actors]") {
  start(quadratic("lost", "none", 3));
  grant("a", 0);
  grant("a", 1);
  REQUIRE(seen->assigned.size() == 2);
  auto first = seen->assigned;
  caf::anon_send(study, lost_atom::value, std::string{"a"});
  run();
  auto s = status();
  CHECK(s.requeued == 2);
  CHECK(s.running == 0);
  // It wants slots again, and places the lost trials first, as they were.
  CHECK(seen->wants.back());
  grant("b", 0);
  grant("b", 1);
  REQUIRE(seen->assigned.size() == 4);
  for (size_t i = 0; i < 2; ++i) {
    auto& again = seen->assigned[2 + i];
    CHECK(again.node == "b");
    CHECK(again.trial == first[i].trial);
    CHECK(again.attempt > first[i].attempt);
    CHECK(again.params == first[i].params);
    CHECK(again.budget == first[i].budget);
  }
  // The old attempts' ends hold no lease: nothing is released for node a.
  end(first[0], outcome::CANCELLED, 2, 1.0);
  CHECK(seen->releases.empty());
  // A second notice of the same loss re-queues nothing more.
  caf::anon_send(study, lost_atom::value, std::string{"a"});
  run();
  CHECK(status().requeued == 2);
  for (auto& t : first) {
    INFO("trial " << t.trial);
    CHECK(count(event_kind::requeued, t.trial) == 1);
  }
  for (auto& e : events())
    if (e.kind == event_kind::requeued) CHECK(e.node == "a");
}

TEST_CASE_METHOD(study_fixture,
                 "past its time budget the study cancels its running trials "
                 "and finishes",
                 "[automl-actors]") {
  auto spec = quadratic("timed", "none", 0);
  spec.budget_ms = 1000;
  start(spec);
  grant("a", 0);
  grant("a", 1);
  REQUIRE(seen->assigned.size() == 2);
  auto a = seen->assigned[0];
  auto b = seen->assigned[1];
  CHECK(report(a, 1, quadratic_value(a.params, 1)).first == action::PROCEED);
  advance(900ms);
  CHECK(seen->cancels.empty());
  CHECK(status().state == "running");
  advance(200ms); // the next tick finds the budget spent
  CHECK(seen->cancels.size() == 2);
  CHECK(std::count(seen->cancels.begin(), seen->cancels.end(),
                   std::make_pair(std::string{"a"}, a.trial)) == 1);
  CHECK(std::count(seen->cancels.begin(), seen->cancels.end(),
                   std::make_pair(std::string{"a"}, b.trial)) == 1);
  CHECK(status().state == "stopping");
  // A slot granted now is given back.
  grant("a", 2);
  CHECK(seen->assigned.size() == 2);
  CHECK(seen->releases.size() == 1);
  end(a, outcome::CANCELLED, 1, quadratic_value(a.params, 1), {}, "cancelled");
  CHECK(seen->refits.empty());
  end(b, outcome::CANCELLED, 0, std::nan(""), {}, "cancelled");
  REQUIRE(seen->refits.size() == 1);
  CHECK(seen->refits[0].trial == a.trial);
  auto s = status();
  CHECK(s.state == "finished");
  CHECK(s.pruned == 2);
  CHECK(s.running == 0);
  CHECK_THAT(s.message, Catch::Contains("time budget spent"));
  // The tick stops once the study has finished: the one due fires, and no
  // other is set.
  advance(100ms);
  CHECK_FALSE(sched->has_pending_timeout());
}

TEST_CASE_METHOD(study_fixture,
                 "a halted study cancels its trials, and they end pruned "
                 "with the reason",
                 "[automl-actors]") {
  start(quadratic("halted", "none", 10));
  grant("a", 0);
  grant("b", 0);
  REQUIRE(seen->assigned.size() == 2);
  caf::anon_send(study, halt_atom::value, std::string{"stopped by request"});
  run();
  CHECK(seen->cancels ==
        std::vector<std::pair<std::string, trial_id>>{
            {"a", seen->assigned[0].trial}, {"b", seen->assigned[1].trial}});
  CHECK(status().state == "stopping");
  // Its reports are told to stop.
  CHECK(report(seen->assigned[0], 1, 1.0).first == action::STOP);
  for (auto& a : std::vector<assignment>{seen->assigned})
    end(a, outcome::CANCELLED, 1, 1.0, {}, "cancelled");
  auto s = status();
  CHECK(s.state == "finished");
  CHECK(s.pruned == 2);
  CHECK(s.total == 2);
  for (auto& e : events())
    if (e.kind == event_kind::pruned) CHECK(e.message == "stopped by request");
}

// The test plays a cluster of three slots: it grants free slots while the
// study wants them, trains each placed trial one step per round and obeys
// the study's decisions. A twin study_core fed the same calls says what the
// actor must answer.
TEST_CASE_METHOD(study_fixture,
                 "a study's scheduler pauses and prunes trials through the "
                 "study actor",
                 "[automl-actors]") {
  auto scheduler = GENERATE(as<std::string>{}, "hyperband", "asha");
  INFO("scheduler " << scheduler);
  const uint64_t n = 20;
  auto spec = quadratic("sched-" + scheduler, scheduler, n);
  auto twin_made = study_core::make(spec, nullptr, time->wall_ms());
  REQUIRE(twin_made);
  auto& twin = **twin_made;
  start(spec);
  using slot_key = std::pair<std::string, uint32_t>;
  struct job {
    assignment a;
    uint64_t at = 0;
    uint64_t target = 0;
  };
  std::map<slot_key, std::optional<job>> slots{
      {{"a", 0}, {}}, {{"a", 1}, {}}, {{"b", 0}, {}}};
  std::map<slot_key, bool> held;
  size_t seen_assigned = 0, seen_released = 0;
  std::map<trial_id, uint64_t> paused_at;
  size_t pauses = 0, stops = 0, resumed = 0, mismatches = 0;
  auto wants = [&] { return seen->wanting; };
  for (int round = 0; round < 2000 && seen->refits.empty(); ++round) {
    // The service's side: grant every free slot while the study wants.
    for (auto& [key, j] : slots) {
      if (held[key] || !wants()) continue;
      held[key] = true;
      auto expected = twin.place(key.first, key.second, time->wall_ms());
      grant(key.first, key.second);
      if (seen->assigned.size() > seen_assigned) {
        auto& a = seen->assigned[seen_assigned++];
        CHECK(expected);
        if (expected &&
            (expected->id != a.trial || expected->budget != a.budget))
          ++mismatches;
        if (!a.checkpoint.empty()) {
          ++resumed;
          CHECK(paused_at.count(a.trial) == 1);
          CHECK(step_of(a.checkpoint) == paused_at[a.trial]);
          CHECK(a.budget > step_of(a.checkpoint));
        }
        j = job{a, step_of(a.checkpoint), a.budget};
      } else {
        CHECK_FALSE(expected);
      }
      for (; seen_released < seen->releases.size(); ++seen_released) {
        auto& r = seen->releases[seen_released];
        held[{r.node, r.slot}] = false;
      }
    }
    // The runners' side: every placed trial trains one step and reports.
    bool any = false;
    for (auto& [key, j] : slots) {
      if (!j) continue;
      any = true;
      auto& a = j->a;
      auto step = std::min(j->target, j->at + 1);
      j->at = step;
      auto v = quadratic_value(a.params, step);
      auto expected =
          twin.on_report(a.trial, a.attempt, step, v, time->wall_ms());
      auto d = report(a, step, v);
      if (expected.what == study_core::answer::proceed)
        CHECK(d.first == action::PROCEED);
      if (expected.what == study_core::answer::pause)
        CHECK(d.first == action::PAUSE);
      if (expected.what == study_core::answer::stop)
        CHECK(d.first == action::STOP);
      if (expected.what == study_core::answer::complete)
        CHECK(d.first == action::COMPLETE);
      if (d.first == action::PROCEED) {
        CHECK(d.second == expected.budget);
        j->target = std::max(d.second, step + 1);
        continue;
      }
      std::vector<uint8_t> cp;
      auto o = outcome::FINISHED;
      if (d.first == action::PAUSE) {
        ++pauses;
        paused_at[a.trial] = step;
        cp = checkpoint_of(step);
        o = outcome::PAUSED;
      }
      if (d.first == action::STOP) ++stops;
      twin.on_end(a.trial, a.attempt,
                  o == outcome::PAUSED ? trial_outcome::paused
                                       : trial_outcome::finished,
                  step, v, cp, "", time->wall_ms());
      end(a, o, step, v, cp);
      j.reset();
      for (; seen_released < seen->releases.size(); ++seen_released) {
        auto& r = seen->releases[seen_released];
        held[{r.node, r.slot}] = false;
      }
    }
    if (!any && !wants()) break;
    time->advance(10ms);
  }
  CHECK(mismatches == 0);
  REQUIRE(seen->refits.size() == 1);
  auto s = status();
  CHECK(s.state == "finished");
  CHECK(s.total == n);
  CHECK(s.running == 0);
  CHECK(s.paused == 0);
  CHECK(s.done + s.pruned + s.failed == s.total);
  CHECK(s.done > 0);
  auto c = twin.counts();
  CHECK(s.done == c.complete);
  CHECK(s.pruned == c.pruned);
  if (scheduler == "hyperband") {
    // Hyperband pauses at each rung and resumes from the checkpoint.
    CHECK(pauses > 0);
    CHECK(resumed > 0);
  } else {
    // ASHA stops the trials that do not make the next rung.
    CHECK(stops > 0);
    CHECK(s.pruned > 0);
  }
  // The journal agrees with the status.
  CHECK(count(event_kind::completed) == s.done);
  CHECK(count(event_kind::pruned) == s.pruned);
  CHECK(count(event_kind::created) == n);
}
