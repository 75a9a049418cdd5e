#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "actors/automl/asha.hpp"
#include "actors/automl/hyperband.hpp"
#include "actors/automl/median_stop.hpp"
#include "actors/automl/trial_scheduler.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using namespace troupe::automl;
using namespace troupe::tabular;

namespace {

config cfg(double x) {
  return config{{"x", x}};
}

double x_of(const config& c) {
  return std::get<double>(c.at("x"));
}

/// Distinct x in [0, 1) in a scrambled order.
config scrambled(trial_id id) {
  return cfg(static_cast<double>((id * 7919) % 1000) / 1000.0);
}

/// A loss with its optimum at x = 0.3 that improves with budget; the ranking
/// of configs is the same at every budget.
double quadratic(const config& c, uint64_t budget) {
  auto d = x_of(c) - 0.3;
  return d * d + 1.0 / static_cast<double>(budget);
}

/// A study in rounds: free slots ask for work, then every running trial
/// trains to its budget (reporting halfway, too) and obeys the answer.
struct fake_study {
  explicit fake_study(trial_scheduler& s) : sched(s) {}

  trial_scheduler& sched;
  size_t slots = 4;
  size_t max_trials = 100000;
  uint64_t max_resource = 81;
  std::function<double(const config&, uint64_t)> f = quadratic;
  std::function<config(trial_id)> sample = scrambled;
  /// Whether a trial crashes when it reaches a budget.
  std::function<bool(trial_id, uint64_t)> crashes = [](trial_id, uint64_t) {
    return false;
  };

  std::map<trial_id, config> params;
  std::map<trial_id, int64_t> bracket;
  std::map<trial_id, uint64_t> checkpoint;
  /// Trials that trained toward, and that reported at, each budget.
  std::map<uint64_t, std::set<trial_id>> attempted, reached;
  std::map<std::pair<trial_id, uint64_t>, double> reported;
  std::set<std::pair<trial_id, uint64_t>> resumed;
  std::set<trial_id> completed, pruned, failed, paused;
  size_t resumed_twice = 0, resumed_unpaused = 0, broken_answers = 0;
  work::kind last = work::kind::start;

  struct job {
    trial_id id;
    uint64_t to;
  };
  std::vector<job> active;

  void fill() {
    while (active.size() < slots) {
      auto w = sched.next();
      last = w.what;
      if (w.what == work::kind::start) {
        if (params.size() >= max_trials) return;
        auto id = static_cast<trial_id>(params.size());
        auto c = w.params ? *w.params : sample(id);
        params[id] = c;
        bracket[id] = w.bracket;
        sched.on_trial_add(id, c, w.bracket);
        checkpoint[id] = 0;
        active.push_back({id, w.budget});
      } else if (w.what == work::kind::resume) {
        if (!resumed.insert({w.id, w.budget}).second) ++resumed_twice;
        if (paused.erase(w.id) == 0) ++resumed_unpaused;
        active.push_back({w.id, w.budget});
      } else {
        return;
      }
    }
  }

  void drain_pruned() {
    for (auto id : sched.take_pruned()) {
      pruned.insert(id);
      paused.erase(id);
    }
  }

  void train(job j) {
    auto& c = params.at(j.id);
    auto from = checkpoint[j.id];
    if (j.to > from + 1) {
      auto mid = (from + j.to) / 2;
      auto d = sched.on_result(j.id, mid, f(c, mid));
      if (d.what != action::proceed || d.budget != j.to) ++broken_answers;
    }
    attempted[j.to].insert(j.id);
    if (crashes(j.id, j.to)) {
      sched.on_error(j.id);
      failed.insert(j.id);
      return;
    }
    auto v = f(c, j.to);
    auto d = sched.on_result(j.id, j.to, v);
    reached[j.to].insert(j.id);
    reported[{j.id, j.to}] = v;
    checkpoint[j.id] = j.to;
    if (j.to >= max_resource) {
      sched.on_complete(j.id, v);
      completed.insert(j.id);
    } else if (d.what == action::proceed) {
      if (d.budget <= j.to) ++broken_answers;
      active.push_back({j.id, d.budget});
    } else if (d.what == action::pause) {
      paused.insert(j.id);
    } else {
      pruned.insert(j.id);
    }
  }

  void run() {
    for (int round = 0; round < 100000; ++round) {
      fill();
      if (active.empty()) return;
      auto batch = std::move(active);
      active.clear();
      for (auto& j : batch) {
        train(j);
        drain_pruned();
      }
    }
    FAIL("the study did not end");
  }

  /// How many trials of a bracket reached a budget.
  size_t count(int64_t b, uint64_t budget) const {
    return count_in(reached, b, budget);
  }

  size_t count_in(const std::map<uint64_t, std::set<trial_id>>& m, int64_t b,
                  uint64_t budget) const {
    auto it = m.find(budget);
    if (it == m.end()) return 0;
    return static_cast<size_t>(
        std::count_if(it->second.begin(), it->second.end(),
                      [&](trial_id id) { return bracket.at(id) == b; }));
  }
};

hyperband::options hb_options(direction dir = direction::minimize) {
  hyperband::options o;
  o.dir = dir;
  o.min_resource = 1;
  o.max_resource = 81;
  o.eta = 3;
  o.iterations = 1;
  return o;
}

} // namespace

// -- ASHA --------------------------------------------------------------------

TEST_CASE("ASHA's rungs sit at r times powers of eta below R", "[scheduler]") {
  asha::options o;
  o.min_resource = 2;
  o.max_resource = 100;
  asha a{o};
  CHECK(a.rungs() == std::vector<uint64_t>{2, 6, 18, 54});
}

TEST_CASE("ASHA's stop rule keeps a trial only in the top 1/eta so far",
          "[scheduler]") {
  auto dir = GENERATE(direction::minimize, direction::maximize);
  auto sign = dir == direction::minimize ? 1.0 : -1.0;
  asha::options o;
  o.dir = dir;
  asha a{o};
  std::vector<double> losses{5, 3, 4, 1, 2, 6};
  std::vector<action> expected{action::proceed, action::proceed, action::stop,
                               action::proceed, action::stop,    action::stop};
  for (trial_id id = 0; id < losses.size(); ++id) {
    a.on_trial_add(id, cfg(0), -1);
    auto w = a.next();
    CHECK(w.what == work::kind::start);
    CHECK(w.budget == 1);
    CHECK(a.on_result(id, 0, sign * 100).what == action::proceed);
    auto d = a.on_result(id, 1, sign * losses[id]);
    INFO("trial " << id);
    CHECK(d.what == expected[id]);
    if (d.what == action::proceed) CHECK(d.budget == 3);
  }
  CHECK(a.recorded(0) == 6);
  // A stopped trial stays stopped; the next rung starts afresh.
  CHECK(a.on_result(2, 3, sign * 0).what == action::stop);
  auto d = a.on_result(3, 3, sign * 1);
  CHECK(d.what == action::proceed);
  CHECK(d.budget == 9);
  CHECK(a.recorded(1) == 1);
  // A result at R is the last: the trial completes.
  CHECK(a.on_result(3, 81, sign * 9).what == action::proceed);
}

TEST_CASE("ASHA's stop rule never pauses a trial", "[scheduler]") {
  asha a{asha::options{}};
  fake_study study{a};
  study.max_trials = 40;
  study.run();
  CHECK(study.paused.empty());
  CHECK(study.broken_answers == 0);
  CHECK(study.completed.size() + study.pruned.size() == 40);
  CHECK(study.reached[1].size() == 40);
  CHECK(study.reached[3].size() < 40);
}

TEST_CASE("ASHA promotes exactly the top 1/eta at each rung", "[scheduler]") {
  auto dir = GENERATE(direction::minimize, direction::maximize);
  asha::options o;
  o.dir = dir;
  o.mode = asha_mode::promote;
  asha a{o};
  fake_study study{a};
  study.slots = 27;
  study.max_trials = 27;
  if (dir == direction::maximize)
    study.f = [](const config& c, uint64_t b) { return -quadratic(c, b); };
  study.run();
  CHECK(study.reached[1].size() == 27);
  CHECK(study.reached[3].size() == 9);
  CHECK(study.reached[9].size() == 3);
  CHECK(study.reached[27].size() == 1);
  CHECK(study.reached[81].empty());
  CHECK(a.promoted(0) == 9);
  CHECK(a.promoted(1) == 3);
  CHECK(a.promoted(2) == 1);
  CHECK(a.promoted(3) == 0);
  // The promoted are the best configs, by closeness to 0.3.
  std::vector<std::pair<double, trial_id>> ranked;
  for (auto& [id, c] : study.params)
    ranked.emplace_back(std::abs(x_of(c) - 0.3), id);
  std::sort(ranked.begin(), ranked.end());
  std::set<trial_id> top9;
  for (size_t i = 0; i < 9; ++i)
    top9.insert(ranked[i].second);
  CHECK(study.reached[3] == top9);
  CHECK(study.reached[27] == std::set<trial_id>{ranked[0].second});
  CHECK(study.resumed_twice == 0);
  CHECK(study.resumed_unpaused == 0);
}

// -- Hyperband ---------------------------------------------------------------

TEST_CASE("Hyperband's brackets match the paper's table for eta 3, R 81",
          "[scheduler]") {
  auto p = hyperband::plan(hb_options());
  REQUIRE(p.size() == 5);
  using v = std::vector<uint64_t>;
  CHECK(p[0].s == 4);
  CHECK(p[0].sizes == v{81, 27, 9, 3, 1});
  CHECK(p[0].budgets == v{1, 3, 9, 27, 81});
  CHECK(p[1].sizes == v{34, 11, 3, 1});
  CHECK(p[1].budgets == v{3, 9, 27, 81});
  CHECK(p[2].sizes == v{15, 5, 1});
  CHECK(p[2].budgets == v{9, 27, 81});
  CHECK(p[3].sizes == v{8, 2});
  CHECK(p[3].budgets == v{27, 81});
  CHECK(p[4].s == 0);
  CHECK(p[4].sizes == v{5});
  CHECK(p[4].budgets == v{81});
}

TEST_CASE("Hyperband pauses a rung until it is full, then promotes its best",
          "[scheduler]") {
  auto o = hb_options();
  o.max_resource = 9; // brackets: 9@1 -> 3@3 -> 1@9, 5@3 -> 1@9, 3@9
  hyperband h{o};
  for (trial_id id = 0; id < 9; ++id) {
    auto w = h.next();
    REQUIRE(w.what == work::kind::start);
    CHECK(w.budget == 1);
    CHECK(w.bracket == 0);
    h.on_trial_add(id, cfg(0), w.bracket);
  }
  // Trial i reports loss 9 - i: the last to report is the best.
  for (trial_id id = 0; id < 8; ++id)
    CHECK(h.on_result(id, 1, 9.0 - id).what == action::pause);
  CHECK(h.take_pruned().empty());
  auto d = h.on_result(8, 1, 1.0);
  CHECK(d.what == action::proceed);
  CHECK(d.budget == 3);
  auto pruned = h.take_pruned();
  std::sort(pruned.begin(), pruned.end());
  CHECK(pruned == std::vector<trial_id>{0, 1, 2, 3, 4, 5});
  auto w = h.next();
  CHECK((w.what == work::kind::resume && w.id == 7 && w.budget == 3));
  w = h.next();
  CHECK((w.what == work::kind::resume && w.id == 6 && w.budget == 3));
  w = h.next(); // nothing to resume: the next bracket fills
  CHECK(w.what == work::kind::start);
  CHECK(w.bracket == 1);
  CHECK(h.s_of(w.bracket) == 1);
  CHECK(w.budget == 3);
  // A pruned trial that reports anyway is told to stop.
  CHECK(h.on_result(0, 3, 0.0).what == action::stop);
}

TEST_CASE("a full Hyperband run gives each budget its planned trials and the "
          "best config survives",
          "[scheduler]") {
  auto dir = GENERATE(direction::minimize, direction::maximize);
  hyperband h{hb_options(dir)};
  fake_study study{h};
  if (dir == direction::maximize)
    study.f = [](const config& c, uint64_t b) { return -quadratic(c, b); };
  study.run();
  CHECK(study.last == work::kind::done);
  auto p = hyperband::plan(hb_options());
  for (int64_t b = 0; b < 5; ++b) {
    INFO("bracket " << b);
    for (size_t i = 0; i < p[b].sizes.size(); ++i)
      CHECK(study.count(b, p[b].budgets[i]) == p[b].sizes[i]);
    // The bracket's best config reached R.
    trial_id best = 0;
    double best_d = 2;
    for (auto& [id, c] : study.params)
      if (study.bracket.at(id) == b && std::abs(x_of(c) - 0.3) < best_d)
        best_d = std::abs(x_of(c) - 0.3), best = id;
    CHECK(study.completed.count(best) == 1);
  }
  CHECK(study.params.size() == 81 + 34 + 15 + 8 + 5);
  CHECK(study.completed.size() == 1 + 1 + 1 + 2 + 5);
  CHECK(study.completed.size() + study.pruned.size() == study.params.size());
  CHECK(study.paused.empty());
  CHECK(study.resumed_twice == 0);
  CHECK(study.resumed_unpaused == 0);
  CHECK(study.broken_answers == 0);
  CHECK_FALSE(study.resumed.empty());
}

TEST_CASE("failed trials don't block a Hyperband rung", "[scheduler]") {
  hyperband h{hb_options()};
  fake_study study{h};
  // Some trials crash at their first rung, others after a promotion.
  study.crashes = [](trial_id id, uint64_t budget) {
    return (id % 5 == 2 && budget <= 3) || (id % 4 == 1 && budget == 27);
  };
  study.run();
  CHECK(study.last == work::kind::done);
  CHECK(study.paused.empty());
  CHECK(study.completed.size() + study.pruned.size() + study.failed.size() ==
        study.params.size());
  auto p = hyperband::plan(hb_options());
  for (int64_t b = 0; b < 5; ++b) {
    INFO("bracket " << b);
    CHECK(study.count(b, 81) >= 1);
    for (size_t i = 0; i + 1 < p[b].sizes.size(); ++i) {
      auto survivors = study.count(b, p[b].budgets[i]);
      auto promoted = study.count_in(study.attempted, b, p[b].budgets[i + 1]);
      CHECK(promoted == std::min<size_t>(p[b].sizes[i + 1], survivors));
    }
  }
  CHECK(study.resumed_twice == 0);
}

// -- BOHB --------------------------------------------------------------------

namespace {

struct counting_sources {
  size_t random_calls = 0;
  std::vector<std::pair<uint64_t, std::vector<trial_record>>> model_calls;
  trial_id next = 0;

  config_sources sources() {
    config_sources s;
    s.random = [this] {
      ++random_calls;
      return scrambled(next++);
    };
    s.model = [this](uint64_t budget, const std::vector<trial_record>& obs) {
      model_calls.emplace_back(budget, obs);
      return scrambled(next++);
    };
    return s;
  }
};

} // namespace

TEST_CASE("BOHB draws at random until a budget has enough results, then from "
          "the model at the largest such budget",
          "[scheduler]") {
  counting_sources src;
  bohb::options o;
  static_cast<hyperband::options&>(o) = hb_options(direction::maximize);
  o.random_fraction = 0;
  o.min_observations = 5;
  bohb b{o, src.sources()};
  fake_study study{b};
  study.slots = 1;
  study.f = [](const config& c, uint64_t bud) { return -quadratic(c, bud); };
  study.run();
  CHECK(study.last == work::kind::done);
  CHECK(src.random_calls == 5);
  REQUIRE(src.model_calls.size() == 143 - 5);
  CHECK(src.model_calls.front().first == 1);
  CHECK(src.model_calls.front().second.size() == 5);
  // One slot: bracket 0 ends before bracket 1 starts; budget 9 then has 9
  // results, 27 has 3 and 81 has 1.
  CHECK(src.model_calls[81 - 5].first == 9);
  CHECK(src.model_calls[81 - 5].second.size() == 9);
  // The model sees results as reported, with the configs that earned them.
  for (auto& rec : src.model_calls.back().second) {
    CHECK(rec.value ==
          study.reported.at({rec.id, src.model_calls.back().first}));
    CHECK(rec.params == study.params.at(rec.id));
  }
  CHECK(b.observation_counts().at(81) == 10);
}

TEST_CASE("BOHB keeps drawing a random fraction once the model is up",
          "[scheduler]") {
  counting_sources src;
  bohb::options o;
  static_cast<hyperband::options&>(o) = hb_options();
  o.min_observations = 5;
  o.seed = 7;
  bohb b{o, src.sources()};
  fake_study study{b};
  study.run();
  auto total = src.random_calls + src.model_calls.size();
  CHECK(total == 143);
  // Four slots: 8 random draws before 5 results are in, then about 1/3.
  auto random_share = static_cast<double>(src.random_calls) / total;
  CHECK(random_share > 0.25);
  CHECK(random_share < 0.5);
  CHECK(src.model_calls.size() > 60);
}

// -- Median stopping ---------------------------------------------------------

namespace {

median_stop::options median_options(direction dir) {
  median_stop::options o;
  o.dir = dir;
  o.grace_period = 5;
  o.max_resource = 100;
  o.min_samples = 3;
  return o;
}

} // namespace

TEST_CASE("the median rule stops a clearly bad trial, never in its grace "
          "period",
          "[scheduler]") {
  auto dir = GENERATE(direction::minimize, direction::maximize);
  auto sign = dir == direction::minimize ? 1.0 : -1.0;
  median_stop m{median_options(dir)};
  for (trial_id id = 0; id < 3; ++id) {
    m.on_trial_add(id, cfg(0), -1);
    for (uint64_t step = 1; step <= 20; ++step)
      REQUIRE(m.on_result(id, step, sign * 1.0).what == action::proceed);
    m.on_complete(id, sign * 1.0);
  }
  m.on_trial_add(3, cfg(0), -1);
  for (uint64_t step = 1; step < 5; ++step)
    CHECK(m.on_result(3, step, sign * 10.0).what == action::proceed);
  CHECK(m.on_result(3, 5, sign * 10.0).what == action::stop);
  CHECK(m.on_result(3, 6, sign * 0.0).what == action::stop);
  // A good trial is never stopped.
  for (uint64_t step = 1; step <= 20; ++step)
    CHECK(m.on_result(4, step, sign * 0.5).what == action::proceed);
  CHECK(m.next().budget == 100);
}

TEST_CASE("the median rule compares the best so far with others' running "
          "averages at the same step",
          "[scheduler]") {
  auto dir = GENERATE(direction::minimize, direction::maximize);
  auto sign = dir == direction::minimize ? 1.0 : -1.0;
  median_stop m{median_options(dir)};
  // Others: 3.0 at steps 5..9, then 1.0 at 10: running mean 16/6 at step 10.
  for (trial_id id = 0; id < 3; ++id)
    for (uint64_t step = 5; step <= 10; ++step)
      m.on_result(id, step, sign * (step < 10 ? 3.0 : 1.0));
  auto median = m.median_at(9, 10);
  REQUIRE(median);
  CHECK(*median == Approx(16.0 / 6.0)); // a loss, whatever the direction
  // Best 2.0 beats the median of averages though the others' last is 1.0.
  CHECK(m.on_result(3, 10, sign * 2.0).what == action::proceed);
  // Nobody else reached step 11: too few samples to judge.
  CHECK(m.on_result(3, 11, sign * 50.0).what == action::proceed);
  CHECK_FALSE(m.median_at(3, 11));
  CHECK(m.on_result(4, 10, sign * 2.7).what == action::stop);
}

TEST_CASE("the median rule needs min_samples other trials", "[scheduler]") {
  median_stop m{median_options(direction::minimize)};
  for (trial_id id = 0; id < 2; ++id)
    for (uint64_t step = 1; step <= 10; ++step)
      m.on_result(id, step, 1.0);
  for (uint64_t step = 1; step <= 10; ++step)
    CHECK(m.on_result(2, step, 100.0).what == action::proceed);
  // A failed trial does not count either.
  m.on_error(0);
  CHECK(m.on_result(3, 6, 100.0).what == action::proceed);
}

// -- FIFO and the factory ----------------------------------------------------

TEST_CASE("the FIFO scheduler never stops or pauses", "[scheduler]") {
  fifo_scheduler f{50};
  fake_study study{f};
  study.max_resource = 50;
  study.max_trials = 7;
  study.f = [](const config& c, uint64_t) { return 1e9 * x_of(c); };
  study.run();
  CHECK(study.completed.size() == 7);
  CHECK(study.pruned.empty());
  CHECK(study.paused.empty());
  CHECK(study.broken_answers == 0);
  CHECK(study.reached[50].size() == 7);
}

TEST_CASE("make_scheduler builds the CLI's schedulers and names bad settings",
          "[scheduler]") {
  budget_options o;
  counting_sources src;
  for (auto name : {"asha", "hyperband", "median", "none"}) {
    auto s = make_scheduler(name, o);
    REQUIRE(s);
    CHECK((*s)->name() == name);
  }
  auto s = make_scheduler("bohb", o, src.sources());
  REQUIRE(s);
  CHECK((*s)->name() == "bohb");
  CHECK_FALSE(make_scheduler("bohb", o));
  auto unknown = make_scheduler("tournament", o);
  REQUIRE_FALSE(unknown);
  CHECK_THAT(describe(unknown.error()), Catch::Contains("'tournament'"));
  o.eta = 1;
  auto bad = make_scheduler("asha", o);
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()), Catch::Contains("eta"));
  o.eta = 3;
  o.min_resource = 100;
  o.max_resource = 10;
  CHECK_FALSE(make_scheduler("hyperband", o));
}
