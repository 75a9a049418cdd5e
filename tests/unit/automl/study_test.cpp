// study_core driven directly: a fake clock (the now_ms values passed in), the
// synthetic "quadratic" family and simulated runners that report the way
// automl.runner does (every `every` steps and at the budget, obeying each
// answer).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "actors/automl/journal.hpp"
#include "actors/automl/study.hpp"
#include "actors/models/families.hpp"
#include "runtime/errors.hpp"
#include "schemas/automl.capnp.h"
#include "tests/unit/automl/checkpoints.hpp"

using namespace troupe;
using namespace troupe::automl;
using troupe::test_studies::checkpoint_of;
using troupe::test_studies::step_of;
using namespace troupe::tabular;
using troupe::models::quadratic_value;

namespace {

study_spec quadratic_spec(const std::string& scheduler, uint64_t max_trials) {
  study_spec s;
  s.id = "q-" + scheduler;
  s.family = "quadratic";
  s.metric = "value";
  s.sampler = "random";
  s.scheduler = scheduler;
  s.max_trials = max_trials;
  s.seed = 7;
  s.max_resource = 9;
  s.min_resource = 1;
  s.eta = 3;
  s.every = 1;
  return s;
}

std::unique_ptr<study_core> make_core(const study_spec& spec,
                                      const replayed_study* replay = nullptr,
                                      int64_t now = 0) {
  auto core = study_core::make(spec, replay, now);
  if (!core) FAIL("study_core::make: " << describe(core.error()));
  return std::move(*core);
}

bool is_terminal(trial_state s) {
  return s == trial_state::complete || s == trial_state::pruned ||
         s == trial_state::failed;
}

using slot_key = std::pair<std::string, uint32_t>;

/// Runners on a few nodes, driving a study_core the way automl.runner does.
struct fake_cluster {
  struct job {
    trial_assignment a;
    uint64_t at = 0;     ///< steps trained
    uint64_t target = 0; ///< the step to train to
  };

  fake_cluster(study_core& c, std::vector<std::pair<std::string, uint32_t>> ns)
      : core(c) {
    for (auto& [node, n] : ns)
      for (uint32_t i = 0; i < n; ++i)
        slots[{node, i}];
  }

  study_core& core;
  int64_t now = 0;
  std::map<slot_key, std::optional<job>> slots;
  std::vector<trial_event> events;
  /// Every assignment handed out, in order.
  std::vector<trial_assignment> placed;
  /// Checkpoints given at pause, by trial.
  std::map<trial_id, uint64_t> paused_at;
  /// Resumed assignments whose checkpoint was not the one given at pause.
  size_t bad_resumes = 0;

  void collect() {
    auto e = core.take_events();
    events.insert(events.end(), e.begin(), e.end());
  }

  size_t running() const {
    return static_cast<size_t>(
        std::count_if(slots.begin(), slots.end(),
                      [](auto& kv) { return kv.second.has_value(); }));
  }

  /// Offers every free slot to the study.
  void fill() {
    for (auto& [key, j] : slots) {
      if (j) continue;
      auto a = core.place(key.first, key.second, now);
      if (!a) continue;
      if (!a->checkpoint.empty()) {
        auto i = paused_at.find(a->id);
        if (i == paused_at.end() || i->second != step_of(a->checkpoint))
          ++bad_resumes;
      }
      placed.push_back(*a);
      job x;
      x.a = *a;
      x.at = step_of(a->checkpoint);
      x.target = a->budget;
      j = x;
    }
    collect();
  }

  /// Trains one job to its next report and obeys the answer.
  void advance(const slot_key& key) {
    auto& j = *slots.at(key);
    auto every = core.spec().every;
    auto step = std::min(j.target, (j.at / every + 1) * every);
    j.at = step;
    auto v = quadratic_value(j.a.params, step);
    auto ans = core.on_report(j.a.id, j.a.attempt, step, v, now);
    switch (ans.what) {
    case study_core::answer::proceed:
      j.target = std::max(ans.budget, step + 1);
      break;
    case study_core::answer::pause:
      paused_at[j.a.id] = step;
      CHECK(core.on_end(j.a.id, j.a.attempt, trial_outcome::paused, step, v,
                        checkpoint_of(step), "", now));
      slots.at(key).reset();
      break;
    case study_core::answer::stop:
    case study_core::answer::complete:
      CHECK(core.on_end(j.a.id, j.a.attempt, trial_outcome::finished, step, v,
                        {}, "", now));
      slots.at(key).reset();
      break;
    }
    collect();
  }

  /// One round: free slots get work, every running job reports once.
  void round() {
    fill();
    std::vector<slot_key> busy;
    for (auto& [key, j] : slots)
      if (j) busy.push_back(key);
    for (auto& key : busy)
      advance(key);
    now += 10;
  }

  /// Runs rounds until the study finishes or nothing runs; false if stuck.
  bool run_to_end(int max_rounds = 10000) {
    for (int i = 0; i < max_rounds; ++i) {
      if (core.phase() == study_phase::finished) return true;
      fill();
      if (running() == 0) return core.phase() == study_phase::finished;
      round();
    }
    return false;
  }

  /// Drops a node's slots (whatever ran there is forgotten).
  void drop_node(const std::string& node) {
    for (auto i = slots.begin(); i != slots.end();)
      i = i->first.first == node ? slots.erase(i) : std::next(i);
  }

  std::map<trial_id, std::vector<event_kind>> by_trial() const {
    std::map<trial_id, std::vector<event_kind>> out;
    for (auto& e : events)
      out[e.trial].push_back(e.kind);
    return out;
  }

  size_t count(trial_id id, event_kind k) const;
};

size_t count_events(const std::vector<trial_event>& events, trial_id id,
                    event_kind k) {
  return static_cast<size_t>(
      std::count_if(events.begin(), events.end(), [&](const trial_event& e) {
        return e.trial == id && e.kind == k;
      }));
}

size_t count_events(const std::vector<trial_event>& events, event_kind k) {
  return static_cast<size_t>(
      std::count_if(events.begin(), events.end(),
                    [&](const trial_event& e) { return e.kind == k; }));
}

/// Checks that every trial ended in exactly one terminal state, and that the
/// counts agree with the trials and with the journal events.
void check_all_accounted(const study_core& core,
                         const std::vector<trial_event>& events,
                         uint64_t expected_total) {
  auto n = core.counts();
  CHECK(n.total == expected_total);
  CHECK(core.trials().size() == expected_total);
  CHECK(n.running == 0);
  CHECK(n.pending == 0);
  CHECK(n.paused == 0);
  CHECK(n.complete + n.pruned + n.failed == n.total);
  CHECK(n.complete > 0);
  CHECK(count_events(events, event_kind::completed) == n.complete);
  CHECK(count_events(events, event_kind::pruned) == n.pruned);
  CHECK(count_events(events, event_kind::failed) == n.failed);
  for (auto& t : core.trials()) {
    INFO("trial " << t.rec.id << " is " << to_string(t.rec.state));
    CHECK(is_terminal(t.rec.state));
    CHECK(count_events(events, t.rec.id, event_kind::created) == 1);
    CHECK(count_events(events, t.rec.id, event_kind::completed) +
              count_events(events, t.rec.id, event_kind::pruned) +
              count_events(events, t.rec.id, event_kind::failed) ==
          1);
    if (t.rec.state == trial_state::complete) {
      REQUIRE(t.rec.value);
      CHECK(*t.rec.value == quadratic_value(t.rec.params, 9));
    }
  }
  // Every event names a trial the study has.
  for (auto& e : events)
    CHECK(e.trial < expected_total);
}

size_t fake_cluster::count(trial_id id, event_kind k) const {
  return count_events(events, id, k);
}

void check_all_accounted(const fake_cluster& c, uint64_t expected_total) {
  check_all_accounted(c.core, c.events, expected_total);
}

} // namespace

// -- running to the end -------------------------------------------------------

TEST_CASE("a study with a trial budget finishes with every trial in exactly "
          "one terminal state",
          "[study]") {
  auto scheduler = GENERATE(as<std::string>{}, "asha", "hyperband", "bohb",
                            "median", "none");
  auto sampler = GENERATE(as<std::string>{}, "random", "tpe");
  INFO("scheduler " << scheduler << ", sampler " << sampler);
  const uint64_t n = 24;
  auto spec = quadratic_spec(scheduler, n);
  spec.sampler = sampler;
  auto core = make_core(spec);
  fake_cluster c{*core, {{"a", 2}, {"b", 3}}};
  REQUIRE(c.run_to_end());
  CHECK(core->phase() == study_phase::finished);
  CHECK_FALSE(core->stop_reason().empty());
  check_all_accounted(c, n);
  CHECK(c.bad_resumes == 0);
  // Work was spread over both nodes.
  std::set<std::string> nodes;
  for (auto& a : c.placed)
    nodes.insert(a.node);
  CHECK(nodes == std::set<std::string>{"a", "b"});
  // Nothing more to do, and nothing is placed.
  CHECK_FALSE(core->wants_slots(c.now));
  CHECK_FALSE(core->place("a", 0, c.now));
  CHECK(core->take_events().empty());
}

TEST_CASE("schedulers that pause hand the trial back with its checkpoint",
          "[study]") {
  auto scheduler = GENERATE(as<std::string>{}, "hyperband", "bohb");
  INFO("scheduler " << scheduler);
  auto core = make_core(quadratic_spec(scheduler, 30));
  fake_cluster c{*core, {{"a", 4}}};
  REQUIRE(c.run_to_end());
  // Hyperband pauses at each rung: some trials were resumed from the
  // checkpoint they paused with, to a larger budget.
  CHECK_FALSE(c.paused_at.empty());
  size_t resumed = 0;
  for (auto& a : c.placed)
    if (!a.checkpoint.empty()) {
      ++resumed;
      CHECK(a.budget > step_of(a.checkpoint));
    }
  CHECK(resumed > 0);
  CHECK(c.bad_resumes == 0);
  check_all_accounted(c, 30);
}

TEST_CASE("a study without a scheduler trains every trial to max_resource",
          "[study]") {
  auto core = make_core(quadratic_spec("none", 5));
  fake_cluster c{*core, {{"a", 2}}};
  REQUIRE(c.run_to_end());
  auto n = core->counts();
  CHECK(n.complete == 5);
  CHECK(n.pruned == 0);
  for (auto& t : core->trials()) {
    CHECK(t.steps == 9);
    CHECK(t.rec.intermediate.size() == 9);
  }
}

// -- node loss ----------------------------------------------------------------

TEST_CASE("a lost node's trials are re-queued exactly once and run again "
          "elsewhere",
          "[study]") {
  auto core = make_core(quadratic_spec("none", 6));
  fake_cluster c{*core, {{"n1", 2}, {"n2", 2}}};
  c.fill();
  REQUIRE(c.running() == 4);
  c.round();
  c.round();
  // What ran on n1, with its attempt.
  std::map<trial_id, uint32_t> on_n1;
  for (auto& [key, j] : c.slots)
    if (j && key.first == "n1") on_n1[j->a.id] = j->a.attempt;
  REQUIRE(on_n1.size() == 2);
  auto before = core->counts();

  auto lost = core->node_lost("n1", c.now);
  c.collect();
  std::set<trial_id> lost_set(lost.begin(), lost.end());
  CHECK(lost.size() == 2);
  CHECK(lost_set.size() == 2);
  for (auto& [id, attempt] : on_n1) {
    CHECK(lost_set.count(id) == 1);
    CHECK(c.count(id, event_kind::requeued) == 1);
    CHECK(core->trials()[id].rec.state == trial_state::pending);
    CHECK(core->trials()[id].requeues == 1);
  }
  for (auto& e : c.events)
    if (e.kind == event_kind::requeued) {
      CHECK(e.node == "n1");
      CHECK(lost_set.count(e.trial) == 1);
    }
  CHECK(core->counts().requeued == 2);
  CHECK(core->counts().running == before.running - 2);

  SECTION("a second loss of the same node does nothing") {
    CHECK(core->node_lost("n1", c.now).empty());
    CHECK(core->take_events().empty());
    CHECK(core->counts().requeued == 2);
  }

  SECTION("reports and ends of the lost attempts are stale") {
    for (auto& [id, attempt] : on_n1) {
      auto ans = core->on_report(id, attempt, 3, 0.5, c.now);
      CHECK(ans.what == study_core::answer::stop);
      CHECK_FALSE(core->on_end(id, attempt, trial_outcome::finished, 3, 0.5, {},
                               "", c.now));
      CHECK_FALSE(core->on_end(id, attempt, trial_outcome::failed, 3, 0.5, {},
                               "boom", c.now));
      CHECK(core->trials()[id].rec.state == trial_state::pending);
    }
    // Nothing was recorded for them: no report, no end.
    CHECK(core->take_events().empty());
  }

  // The survivors and the re-queued trials finish on n2.
  c.drop_node("n1");
  auto placed_before = c.placed.size();
  REQUIRE(c.run_to_end());
  // The next free slots went to the re-queued trials before any new one,
  // from scratch.
  REQUIRE(c.placed.size() >= placed_before + 2);
  for (size_t i = placed_before; i < placed_before + 2; ++i) {
    CHECK(lost_set.count(c.placed[i].id) == 1);
    CHECK(c.placed[i].checkpoint.empty());
    CHECK(c.placed[i].node == "n2");
  }
  for (auto& [id, attempt] : on_n1) {
    auto& t = core->trials()[id];
    CHECK(t.rec.state == trial_state::complete);
    CHECK(t.node == "n2");
    CHECK(t.attempt > attempt);
    size_t on_n2 = 0;
    for (auto& e : c.events)
      if (e.trial == id && e.kind == event_kind::started && e.node == "n2")
        ++on_n2;
    CHECK(on_n2 == 1);
    CHECK(c.count(id, event_kind::started) == 2); // on n1, then on n2
    CHECK(c.count(id, event_kind::requeued) == 1);
  }
  check_all_accounted(c, 6);
  CHECK(core->counts().requeued == 2);
}

TEST_CASE("a lost node's trials end as pruned when the study is stopping",
          "[study]") {
  auto core = make_core(quadratic_spec("none", 4));
  fake_cluster c{*core, {{"n1", 1}, {"n2", 1}}};
  c.fill();
  c.round();
  auto running = core->stop("stopped by test", c.now);
  CHECK(running.size() == 2);
  auto lost = core->node_lost("n1", c.now);
  REQUIRE(lost.size() == 1);
  c.collect();
  CHECK(core->trials()[lost[0]].rec.state == trial_state::pruned);
  CHECK(c.count(lost[0], event_kind::requeued) == 1);
  CHECK(c.count(lost[0], event_kind::pruned) == 1);
  CHECK(core->phase() == study_phase::stopping); // n2's trial still runs
  c.drop_node("n1");
  c.round();
  CHECK(core->phase() == study_phase::finished);
  c.collect();
  for (auto& t : core->trials())
    CHECK(is_terminal(t.rec.state));
}

// -- resume -------------------------------------------------------------------

TEST_CASE("a resumed study keeps finished trials and re-runs interrupted ones "
          "once",
          "[study]") {
  auto scheduler = GENERATE(as<std::string>{}, "asha", "hyperband", "none");
  INFO("scheduler " << scheduler);
  const uint64_t n = 20;
  auto spec = quadratic_spec(scheduler, n);
  auto core = make_core(spec);
  fake_cluster c{*core, {{"a", 2}, {"b", 2}}};
  // Run until some are complete and some run, then "crash".
  for (int i = 0; i < 1000; ++i) {
    auto k = core->counts();
    if (k.complete >= 1 && k.complete + k.pruned >= 3 && k.running >= 2) break;
    c.round();
  }
  c.collect();
  auto at_crash = core->counts();
  REQUIRE(at_crash.complete >= 1);
  REQUIRE(at_crash.complete + at_crash.pruned >= 3);
  REQUIRE(at_crash.running >= 2);
  REQUIRE(core->phase() == study_phase::running);

  replayed_study replay;
  for (auto& e : c.events)
    apply_event(replay.trials, e);
  std::set<trial_id> unfinished; // running, paused or pending at the crash
  for (auto& [id, rec] : replay.trials)
    if (!is_terminal(rec.state)) unfinished.insert(id);
  // The replay agrees with the core it came from.
  REQUIRE(replay.trials.size() == core->trials().size());
  for (auto& t : core->trials()) {
    CHECK(replay.trials.at(t.rec.id).state == t.rec.state);
    CHECK(replay.trials.at(t.rec.id).params == t.rec.params);
  }
  const auto old_trials = core->trials();
  const auto old_size = old_trials.size();
  core.reset();

  auto resumed = make_core(spec, &replay, 100'000);
  fake_cluster r{*resumed, {{"a", 2}, {"c", 2}}};
  r.now = 100'000;
  r.collect();
  // Resuming re-queued each unfinished trial, once, and did nothing else.
  CHECK(r.events.size() == unfinished.size());
  for (auto& e : r.events) {
    CHECK(e.kind == event_kind::requeued);
    CHECK(unfinished.count(e.trial) == 1);
  }
  REQUIRE(resumed->trials().size() == old_size);
  for (auto& t : resumed->trials()) {
    auto& old = old_trials[t.rec.id];
    if (unfinished.count(t.rec.id)) {
      CHECK(t.rec.state == trial_state::pending);
      CHECK(t.requeues == 1);
      CHECK(t.rec.params == old.rec.params);
    } else {
      CHECK(t.rec.state == old.rec.state);
      CHECK(t.rec.params == old.rec.params);
      CHECK(t.rec.value == old.rec.value);
      CHECK(t.rec.intermediate == old.rec.intermediate);
      CHECK(t.requeues == 0);
    }
  }
  CHECK(resumed->counts().requeued == unfinished.size());

  REQUIRE(r.run_to_end());
  // Across both lives: one creation and one end per trial.
  auto all = c.events;
  all.insert(all.end(), r.events.begin(), r.events.end());
  check_all_accounted(*resumed, all, n);
  for (auto& t : resumed->trials()) {
    INFO("trial " << t.rec.id);
    if (unfinished.count(t.rec.id)) {
      // Ran again, once, from scratch.
      CHECK(r.count(t.rec.id, event_kind::requeued) == 1);
      CHECK(r.count(t.rec.id, event_kind::started) >= 1);
      CHECK(r.count(t.rec.id, event_kind::created) == 0);
    } else if (t.rec.id < old_size) {
      // Finished before the crash: untouched.
      CHECK(r.by_trial().count(t.rec.id) == 0);
      CHECK(t.rec.state == old_trials[t.rec.id].rec.state);
      CHECK(t.rec.value == old_trials[t.rec.id].rec.value);
    }
  }
  // Re-queued trials start (from scratch) before new ones; new ids continue
  // after the old.
  size_t first_new = r.placed.size();
  for (size_t i = 0; i < r.placed.size(); ++i)
    if (r.placed[i].id >= old_size) {
      first_new = i;
      break;
    }
  std::set<trial_id> placed_first;
  for (size_t i = 0; i < first_new; ++i) {
    CHECK(unfinished.count(r.placed[i].id) == 1);
    CHECK(r.placed[i].checkpoint.empty());
    placed_first.insert(r.placed[i].id);
  }
  CHECK(placed_first == unfinished);
  std::vector<trial_id> created;
  for (auto& e : r.events)
    if (e.kind == event_kind::created) created.push_back(e.trial);
  REQUIRE(created.size() == n - old_size);
  for (size_t i = 0; i < created.size(); ++i)
    CHECK(created[i] == old_size + i);
}

TEST_CASE("a replay that skips a trial id is refused", "[study]") {
  replayed_study replay;
  trial_event ev;
  ev.kind = event_kind::created;
  ev.trial = 0;
  apply_event(replay.trials, ev);
  ev.trial = 2;
  apply_event(replay.trials, ev);
  auto core = study_core::make(quadratic_spec("asha", 5), &replay, 0);
  REQUIRE_FALSE(core);
  CHECK_THAT(describe(core.error()), Catch::Contains("skips trial 1"));
}

// -- the time budget ----------------------------------------------------------

TEST_CASE("past the time budget the study stops and prunes its running "
          "trials",
          "[study]") {
  auto spec = quadratic_spec("none", 0);
  spec.budget_ms = 1000;
  auto core = make_core(spec, nullptr, 5000);
  fake_cluster c{*core, {{"a", 2}, {"b", 2}}};
  c.now = 5000;
  c.fill();
  REQUIRE(c.running() == 4);
  c.round();
  CHECK(core->tick(5999).empty());
  CHECK(core->phase() == study_phase::running);
  CHECK(core->wants_slots(5999));

  auto running = core->tick(6000);
  std::set<trial_id> expected;
  for (auto& [key, j] : c.slots)
    if (j) expected.insert(j->a.id);
  CHECK(std::set<trial_id>(running.begin(), running.end()) == expected);
  CHECK(running.size() == 4);
  CHECK(core->phase() == study_phase::stopping);
  CHECK(core->stop_reason() == "time budget spent");
  CHECK(core->tick(7000).empty());
  // No more work, whatever asks.
  CHECK_FALSE(core->wants_slots(6000));
  CHECK_FALSE(core->place("a", 9, 6000));
  CHECK_FALSE(core->place("z", 0, 9000));

  // The runners end them: a report is answered stop, a cancel ends one.
  c.now = 6010;
  auto it = c.slots.begin();
  while (!it->second)
    ++it;
  auto& j = *it->second;
  CHECK(core->on_end(j.a.id, j.a.attempt, trial_outcome::cancelled, j.at,
                     std::nan(""), {}, "cancelled", c.now));
  it->second.reset();
  for (auto& [key, x] : c.slots)
    if (x) {
      auto ans = core->on_report(x->a.id, x->a.attempt, x->at + 1, 0.5, c.now);
      CHECK(ans.what == study_core::answer::stop);
      CHECK(core->on_end(x->a.id, x->a.attempt, trial_outcome::finished,
                         x->at + 1, 0.5, {}, "", c.now));
      x.reset();
    }
  c.collect();
  CHECK(core->phase() == study_phase::finished);
  for (auto id : running) {
    auto& t = core->trials()[id];
    CHECK(t.rec.state == trial_state::pruned);
    CHECK(t.message == "time budget spent");
    CHECK(c.count(id, event_kind::pruned) == 1);
  }
  CHECK_FALSE(core->place("a", 0, 10'000));
  CHECK_FALSE(core->wants_slots(10'000));
}

TEST_CASE("past the time budget place() gives nothing and tick() stops",
          "[study]") {
  auto spec = quadratic_spec("asha", 0);
  spec.budget_ms = 100;
  auto core = make_core(spec, nullptr, 0);
  auto a = core->place("a", 0, 50);
  REQUIRE(a);
  (void)core->take_events();
  CHECK_FALSE(core->place("a", 1, 100));
  CHECK_FALSE(core->place("b", 0, 5000));
  CHECK_FALSE(core->wants_slots(100));
  CHECK(core->counts().total == 1);
  auto running = core->tick(100);
  CHECK(running == std::vector<trial_id>{a->id});
  CHECK(core->phase() == study_phase::stopping);
  CHECK(core->stop_reason() == "time budget spent");
  // No trial was created past the budget.
  for (auto& e : core->take_events())
    CHECK(e.kind != event_kind::created);
}

// -- stop ---------------------------------------------------------------------

TEST_CASE("stop() is idempotent", "[study]") {
  auto core = make_core(quadratic_spec("hyperband", 0));
  fake_cluster c{*core, {{"a", 3}}};
  // Until trials pause at a rung while others run.
  for (int i = 0; i < 100; ++i) {
    c.fill();
    if (core->counts().paused > 0 && core->counts().running > 0) break;
    c.round();
  }
  auto k = core->counts();
  REQUIRE(k.paused > 0);
  REQUIRE(k.running > 0);
  std::set<trial_id> open;
  for (auto& t : core->trials())
    if (!is_terminal(t.rec.state)) open.insert(t.rec.id);
  auto first = core->stop("first", c.now);
  c.collect();
  CHECK(first.size() == k.running);
  CHECK(core->stop_reason() == "first");
  // Paused and pending trials ended at once; running ones wait for their end.
  CHECK(core->counts().paused == 0);
  CHECK(core->counts().pending == 0);
  CHECK(core->counts().running == k.running);
  auto events = c.events.size();

  CHECK(core->stop("second", c.now + 5).empty());
  CHECK(core->stop_reason() == "first");
  CHECK(core->take_events().empty());
  CHECK(c.events.size() == events);
  CHECK(core->phase() == study_phase::stopping);

  for (auto& [key, j] : c.slots)
    if (j) {
      core->on_end(j->a.id, j->a.attempt, trial_outcome::cancelled, j->at,
                   std::nan(""), {}, "cancelled", c.now);
      j.reset();
    }
  CHECK(core->phase() == study_phase::finished);
  CHECK(core->stop("third", c.now).empty());
  CHECK(core->stop_reason() == "first");
  CHECK(core->phase() == study_phase::finished);
  c.collect();
  REQUIRE(open.size() > k.running); // some were paused or pending
  for (auto& t : core->trials()) {
    CHECK(is_terminal(t.rec.state));
    CHECK(c.count(t.rec.id, event_kind::pruned) +
              c.count(t.rec.id, event_kind::completed) +
              c.count(t.rec.id, event_kind::failed) ==
          1);
    if (open.count(t.rec.id)) {
      CHECK(t.rec.state == trial_state::pruned);
      CHECK(t.message == "first");
    }
  }
}

TEST_CASE("stopping an idle study finishes it at once", "[study]") {
  auto core = make_core(quadratic_spec("asha", 10));
  CHECK(core->stop("nothing to do", 0).empty());
  CHECK(core->phase() == study_phase::finished);
  CHECK_FALSE(core->place("a", 0, 1));
  CHECK(core->counts().total == 0);
}

// -- the spec -----------------------------------------------------------------

TEST_CASE("a spec survives to_envelope and spec_from, field by field",
          "[study]") {
  study_spec s;
  s.id = "round-trip_1.x";
  s.family = "quadratic";
  s.data_path = "/data/train.csv";
  s.target = "label";
  s.test_path = "/data/test.csv";
  s.task = "multiclass";
  s.metric = "logloss";
  s.maximize = true;
  s.sampler = "random";
  s.scheduler = "hyperband";
  s.budget_ms = 123'456;
  s.max_trials = 77;
  s.seed = 0xfeedbeefcafeULL;
  s.space = R"({"x": {"type": "float", "low": 0, "high": 1}})";
  s.space_format = "toml";
  s.created_ms = 1'700'000'000'123;
  s.folds = 5;
  s.max_resource = 100;
  s.min_resource = 4;
  s.eta = 4;
  s.every = 7;
  s.patience = 21;
  s.ensemble = 7;
  s.ensemble_method = "stacking";
  s.threads = 3;
  s.out_dir = "/tmp/out dir";
  s.sleep_ms = 0.1 + 0.2; // not exactly representable in decimal

  auto back = spec_from(to_envelope(s));
  REQUIRE(back);
  auto& b = *back;
  CHECK(b.id == s.id);
  CHECK(b.family == s.family);
  CHECK(b.data_path == s.data_path);
  CHECK(b.target == s.target);
  CHECK(b.test_path == s.test_path);
  CHECK(b.task == s.task);
  CHECK(b.metric == s.metric);
  CHECK(b.maximize == s.maximize);
  CHECK(b.sampler == s.sampler);
  CHECK(b.scheduler == s.scheduler);
  CHECK(b.budget_ms == s.budget_ms);
  CHECK(b.max_trials == s.max_trials);
  CHECK(b.seed == s.seed);
  CHECK(b.space == s.space);
  CHECK(b.space_format == s.space_format);
  CHECK(b.created_ms == s.created_ms);
  CHECK(b.folds == s.folds);
  CHECK(b.max_resource == s.max_resource);
  CHECK(b.min_resource == s.min_resource);
  CHECK(b.eta == s.eta);
  CHECK(b.every == s.every);
  CHECK(b.patience == s.patience);
  CHECK(b.ensemble == s.ensemble);
  CHECK(b.ensemble_method == s.ensemble_method);
  CHECK(b.threads == s.threads);
  CHECK(b.out_dir == s.out_dir);
  CHECK(b.sleep_ms == s.sleep_ms);

  // The defaults survive too (options not given keep them).
  study_spec d;
  d.id = "defaults";
  auto db = spec_from(to_envelope(d));
  REQUIRE(db);
  CHECK(db->family == "xgboost");
  CHECK(db->folds == 3);
  CHECK(db->max_resource == 729);
  CHECK(db->patience == 45);
  CHECK(db->ensemble == 20);
  CHECK(db->ensemble_method == "caruana");
  CHECK(db->min_resource == 9);
  CHECK(db->every == 9);
  CHECK(db->sleep_ms == 0);
}

namespace {

envelope spec_with_option(const std::string& key, const std::string& value) {
  return make_envelope<schema::StudySpec>([&](auto b) {
    b.setId("opt");
    auto list = b.initOptions(1);
    list[0].setKey(key);
    list[0].setValue(value);
  });
}

std::string validation_error(study_spec s) {
  auto err = validate(s);
  if (!err) return "";
  return describe(err);
}

} // namespace

TEST_CASE("spec_from names bad and unknown options", "[study]") {
  auto bad = spec_from(spec_with_option("folds", "five"));
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()),
             Catch::Contains("'folds'") && Catch::Contains("'five'"));
  auto trailing = spec_from(spec_with_option("eta", "3x"));
  REQUIRE_FALSE(trailing);
  CHECK_THAT(describe(trailing.error()), Catch::Contains("'eta'"));
  auto unknown = spec_from(spec_with_option("colour", "blue"));
  REQUIRE_FALSE(unknown);
  CHECK_THAT(describe(unknown.error()), Catch::Contains("'colour'"));
  auto ok = spec_from(spec_with_option("max_resource", "81"));
  REQUIRE(ok);
  CHECK(ok->max_resource == 81);
  // Not a StudySpec at all.
  auto other =
      spec_from(make_envelope<schema::StudyRef>([](auto b) { b.setId("x"); }));
  CHECK_FALSE(other);
}

TEST_CASE("validate() names the field and the value", "[study]") {
  auto good = quadratic_spec("asha", 10);
  CHECK(validation_error(good).empty());

  auto s = good;
  s.sampler = "grid";
  CHECK_THAT(validation_error(s),
             Catch::Contains("sampler") && Catch::Contains("'grid'"));

  s = good;
  s.scheduler = "tournament";
  CHECK_THAT(validation_error(s),
             Catch::Contains("scheduler") && Catch::Contains("'tournament'"));

  s = good;
  s.ensemble_method = "blending";
  CHECK_THAT(validation_error(s),
             Catch::Contains("ensemble method 'blending'") &&
                 Catch::Contains("caruana or stacking"));
  s.ensemble_method = "stacking";
  CHECK(validation_error(s).empty());

  s = good;
  s.id = "a/b";
  CHECK_THAT(validation_error(s),
             Catch::Contains("id") && Catch::Contains("'a/b'"));
  s.id = "";
  CHECK_THAT(validation_error(s), Catch::Contains("id"));
  s.id = "..";
  CHECK_THAT(validation_error(s), Catch::Contains("id '..'"));
  s.id = std::string(65, 'x');
  CHECK_THAT(validation_error(s), Catch::Contains("id"));
  s.id = std::string(64, 'x');
  CHECK(validation_error(s).empty());

  s = good;
  s.min_resource = 10;
  s.max_resource = 9;
  CHECK_THAT(validation_error(s), Catch::Contains("min_resource"));
  s.min_resource = 0;
  CHECK_THAT(validation_error(s), Catch::Contains("min_resource"));
  s.min_resource = 9;
  CHECK(validation_error(s).empty());

  s = good;
  s.folds = 1;
  CHECK_THAT(validation_error(s), Catch::Contains("folds"));
  s.folds = 21;
  CHECK_THAT(validation_error(s), Catch::Contains("folds"));
  s.folds = 0;
  CHECK(validation_error(s).empty());
  s.folds = 2;
  CHECK(validation_error(s).empty());

  s = good;
  s.eta = 1;
  CHECK_THAT(validation_error(s), Catch::Contains("eta"));
  s = good;
  s.every = 0;
  CHECK_THAT(validation_error(s), Catch::Contains("every"));
  s = good;
  s.family = "svm";
  CHECK_THAT(validation_error(s), Catch::Contains("'svm'"));
  s = good;
  s.space_format = "yaml";
  CHECK_THAT(validation_error(s), Catch::Contains("'yaml'"));
  s = good;
  s.sleep_ms = std::nan("");
  CHECK_THAT(validation_error(s), Catch::Contains("sleep_ms"));
  s = good;
  s.family = "xgboost";
  CHECK_THAT(validation_error(s), Catch::Contains("--data"));
  s.data_path = "train.csv";
  CHECK_THAT(validation_error(s), Catch::Contains("--target"));

  // make() refuses what validate() refuses.
  s = good;
  s.scheduler = "tournament";
  auto core = study_core::make(s, nullptr, 0);
  REQUIRE_FALSE(core);
  CHECK_THAT(describe(core.error()), Catch::Contains("'tournament'"));
}

// -- the leaderboard ----------------------------------------------------------

namespace {

/// Places `n` trials on one node and returns their assignments.
std::vector<trial_assignment> place_all(study_core& core, size_t n) {
  std::vector<trial_assignment> out;
  for (uint32_t i = 0; i < n; ++i) {
    auto a = core.place("a", i, 0);
    REQUIRE(a);
    out.push_back(*a);
  }
  return out;
}

} // namespace

TEST_CASE("the leaderboard ranks complete trials by the metric, best first",
          "[study]") {
  auto maximize = GENERATE(false, true);
  INFO("maximize " << maximize);
  auto spec = quadratic_spec("none", 6);
  spec.maximize = maximize;
  spec.every = 3;
  auto core = make_core(spec);
  CHECK(core->dir() == (maximize ? direction::maximize : direction::minimize));
  auto a = place_all(*core, 6);
  // Final values (reported at max_resource = 9).
  std::vector<double> finals{0.4, 0.1, 0.3, 0.2, 0.25};
  for (size_t i = 0; i < finals.size(); ++i) {
    auto ans = core->on_report(a[i].id, a[i].attempt, 9, finals[i], 1);
    CHECK(ans.what == study_core::answer::complete);
    CHECK(core->on_end(a[i].id, a[i].attempt, trial_outcome::finished, 9,
                       finals[i], {}, "", 1));
  }
  // Trial 5 fails after a report better than anything, in both directions:
  // it ranks after every complete trial.
  double extreme = maximize ? 10.0 : -10.0;
  REQUIRE(core->on_report(a[5].id, a[5].attempt, 3, extreme, 2).what ==
          study_core::answer::proceed);
  CHECK(core->on_end(a[5].id, a[5].attempt, trial_outcome::failed, 3, extreme,
                     {}, "out of memory", 2));
  CHECK(core->trials()[5].rec.state == trial_state::failed);
  CHECK(core->trials()[5].message == "out of memory");

  auto board = core->leaderboard();
  std::vector<trial_id> expected =
      maximize ? std::vector<trial_id>{0, 2, 4, 3, 1, 5}
               : std::vector<trial_id>{1, 3, 4, 2, 0, 5};
  CHECK(board == expected);
  REQUIRE(core->best());
  CHECK(*core->best() == expected.front());
  CHECK(core->phase() == study_phase::finished);
}

TEST_CASE("best_step picks the step of the best intermediate value",
          "[study]") {
  auto maximize = GENERATE(false, true);
  INFO("maximize " << maximize);
  auto spec = quadratic_spec("none", 1);
  spec.maximize = maximize;
  spec.every = 3;
  auto core = make_core(spec);
  auto a = place_all(*core, 1)[0];
  // Steps 3, 6, 9: the minimum is at 6, the maximum at 3.
  std::map<uint64_t, double> values{{3, 0.5}, {6, 0.2}, {9, 0.4}};
  for (auto& [step, v] : values) {
    auto ans = core->on_report(a.id, a.attempt, step, v, 1);
    CHECK(ans.what == (step == 9 ? study_core::answer::complete
                                 : study_core::answer::proceed));
  }
  CHECK(core->best_step(a.id) == (maximize ? 3u : 6u));
  REQUIRE(core->trials()[a.id].rec.value);
  CHECK(*core->trials()[a.id].rec.value == 0.4);

  SECTION("a trial without reports counts as one step") {
    auto spec2 = quadratic_spec("none", 1);
    auto core2 = make_core(spec2);
    auto b = place_all(*core2, 1)[0];
    CHECK(core2->best_step(b.id) == 1);
  }
}

TEST_CASE("a quadratic study finds a good configuration", "[study]") {
  // TPE with ASHA: the best trial beats the median of the first ten by a
  // margin (the optimum is 0 + 1/9 at x = 0.3, y = 0.7).
  auto spec = quadratic_spec("asha", 60);
  spec.sampler = "tpe";
  auto core = make_core(spec);
  fake_cluster c{*core, {{"a", 4}}};
  REQUIRE(c.run_to_end());
  auto best = core->best();
  REQUIRE(best);
  auto& t = core->trials()[*best];
  REQUIRE(t.rec.value);
  CHECK(t.rec.state == trial_state::complete);
  CHECK(*t.rec.value < 1.0 / 9 + 0.05);
  // The best trial is the leaderboard's first, and no complete trial beats it.
  for (auto& u : core->trials())
    if (u.rec.state == trial_state::complete)
      CHECK(*u.rec.value >= *t.rec.value);
}

// A sign ("-1" would wrap to 2^64-1) and values wider than the field
// ("4294967297" would fold to 1) are refused.
TEST_CASE("spec_from refuses negative and out-of-range option numbers",
          "[study]") {
  auto neg = spec_from(spec_with_option("every", "-1"));
  CHECK_FALSE(neg);
  auto wide = spec_from(spec_with_option("folds", "4294967297"));
  CHECK_FALSE(wide);
}

// The study actor asks the service for slots while wants_slots() holds and
// gives a granted slot straight back when place() has nothing; if the two
// disagree, slots go back and forth between the study and the service
// until the state changes.
TEST_CASE("wants_slots() holds only when place() has work", "[study]") {
  auto scheduler = GENERATE(as<std::string>{}, "asha", "hyperband", "bohb",
                            "median", "none");
  INFO("scheduler " << scheduler);
  auto core = make_core(quadratic_spec(scheduler, 12));
  fake_cluster c{*core, {{"a", 3}}};
  size_t disagreements = 0;
  for (int i = 0; i < 1000 && core->phase() != study_phase::finished; ++i) {
    c.fill();
    if (c.running() < c.slots.size() && core->wants_slots(c.now)) {
      ++disagreements;
      UNSCOPED_INFO("round " << i
                             << ": a slot is free, place() gave nothing, "
                                "wants_slots() is true; counts: running "
                             << core->counts().running << ", paused "
                             << core->counts().paused << ", total "
                             << core->counts().total);
    }
    c.round();
  }
  CHECK(disagreements == 0);
}

// -- population-based training ------------------------------------------------

TEST_CASE("PBT: a trial that exploits another starts from that trial's "
          "checkpoint with its configuration perturbed",
          "[study][pbt]") {
  auto spec = quadratic_spec("pbt", 40);
  spec.min_resource = 3; // the interval: members pause every 3 steps
  spec.max_resource = 9;
  auto core = make_core(spec);
  fake_cluster c{*core, {{"a", 3}}};
  // who paused with which configuration, by the step of its checkpoint
  std::map<trial_id, config> params;
  size_t children = 0;
  for (int round = 0; round < 10000; ++round) {
    if (core->phase() == study_phase::finished) break;
    auto before = c.placed.size();
    c.fill();
    for (auto i = before; i < c.placed.size(); ++i) {
      auto& a = c.placed[i];
      params[a.id] = a.params;
      if (a.checkpoint.empty() || c.paused_at.count(a.id)) continue;
      // a new trial with a checkpoint: a child. Its parent paused at that
      // step (PBT keeps the checkpoint while the parent trains on) with
      // a configuration each of whose values is 0.8 or 1.2 times the
      // child's, clamped to [0, 1]
      ++children;
      auto step = step_of(a.checkpoint);
      CHECK(step % 3 == 0);
      CHECK(a.budget == step + 3);
      bool found = false;
      for (auto& [p, at] : c.paused_at) {
        if (p == a.id) continue;
        auto& pp = params.at(p);
        auto near = [&](const char* k) {
          auto x = std::get<double>(pp.at(k));
          auto y = std::get<double>(a.params.at(k));
          return y == std::clamp(x * 0.8, 0.0, 1.0) ||
                 y == std::clamp(x * 1.2, 0.0, 1.0);
        };
        found = found || (near("x") && near("y"));
      }
      CHECK(found);
    }
    if (c.running() == 0) break;
    c.round();
  }
  CHECK(core->phase() == study_phase::finished);
  CHECK(children > 0);
  // the replaced members ended pruned; every trial ended once
  auto n = core->counts();
  CHECK(n.pruned >= children);
  CHECK(n.complete + n.pruned + n.failed == n.total);
  // PBT's children reach the top: the best trial is better than the
  // population's first members' average
  auto best = core->best();
  REQUIRE(best);
  CHECK(core->trials()[*best].score() < 0.2);
}
