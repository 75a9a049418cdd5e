// Multi-objective studies: ASHA ranks a rung by non-dominated sorting and
// never stops a trial on the current front; study_core keeps each trial's
// secondary objectives, journals them and gives a non-dominated front.

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <random>
#include <set>

#include "actors/automl/asha.hpp"
#include "actors/automl/journal.hpp"
#include "actors/automl/pareto.hpp"
#include "actors/automl/study.hpp"
#include "runtime/errors.hpp"
#include "schemas/automl.capnp.h"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::automl;
using namespace troupe::tabular;

namespace {

asha::options auc_asha() {
  asha::options o;
  o.dir = direction::maximize; // the metric is an AUC
  o.min_resource = 1;
  o.max_resource = 9; // rungs at 1 and 3
  o.eta = 3;
  return o;
}

study_spec mo_spec(uint64_t max_trials) {
  study_spec s;
  s.id = "mo";
  s.family = "quadratic";
  s.metric = "value";
  s.objectives = {"model-size"};
  s.sampler = "random";
  s.scheduler = "asha";
  s.max_trials = max_trials;
  s.seed = 3;
  s.max_resource = 27;
  s.min_resource = 1;
  s.eta = 3;
  s.every = 1;
  return s;
}

} // namespace

TEST_CASE("multi-objective ASHA keeps a trial on the front that "
          "single-objective ASHA prunes",
          "[scheduler][pareto]") {
  // (auc, model bytes) at the first rung: 0 has the best AUC, 2 the
  // smallest model, 1 sits between; 3 is worse than 0 in both.
  std::vector<std::vector<double>> results{
      {0.90, 1000}, {0.89, 900}, {0.70, 10}, {0.80, 2000}};
  asha single{auc_asha()}, multi{auc_asha()};
  for (trial_id id = 0; id < results.size(); ++id) {
    single.on_trial_add(id, {}, -1);
    multi.on_trial_add(id, {}, -1);
  }
  // single-objective: the rung keeps max(1, n/3) = 1 by AUC alone
  CHECK(single.on_result(0, 1, results[0][0]).what == action::proceed);
  CHECK(single.on_result(1, 1, results[1][0]).what == action::stop);
  CHECK(single.on_result(2, 1, results[2][0]).what == action::stop);
  CHECK(single.on_result(3, 1, results[3][0]).what == action::stop);
  // multi-objective: 1 and 2 rank below the top 1/eta (NDS rank 0, but the
  // crowding order puts them after trial 0) and go on: no result dominates
  // theirs; 3 is dominated by 0 and stops
  CHECK(multi.on_result_objectives(0, 1, results[0]).what == action::proceed);
  CHECK(multi.on_result_objectives(1, 1, results[1]).what == action::proceed);
  CHECK(multi.on_result_objectives(2, 1, results[2]).what == action::proceed);
  CHECK(multi.on_result_objectives(3, 1, results[3]).what == action::stop);
  CHECK(multi.recorded(0) == 4);
  // a later trial whose size only a complete trial beats: dominated, stopped
  multi.on_trial_add(4, {}, -1);
  multi.on_complete_objectives(2, {0.95, 5});
  CHECK(multi.on_result_objectives(4, 1, {0.60, 8}).what == action::stop);
}

TEST_CASE("multi-objective ASHA keeps the top 1/eta by NDS rank, then "
          "crowding, then id",
          "[scheduler][pareto]") {
  // each new result on one rung: kept when it ranks in the top
  // max(1, n/eta) of the NDS order, or when no recorded result dominates it
  asha multi{auc_asha()};
  for (trial_id id = 0; id < 9; ++id)
    multi.on_trial_add(id, {}, -1);
  // trial 0 (0.5, 500) is dominated by 1 (0.6, 400) which comes later
  CHECK(multi.on_result_objectives(0, 1, {0.5, 500}).what == action::proceed);
  CHECK(multi.on_result_objectives(1, 1, {0.6, 400}).what == action::proceed);
  CHECK(multi.on_result_objectives(2, 1, {0.7, 300}).what == action::proceed);
  // n = 4, keep 1: (0.4, 600) is dominated by everyone and ranks last
  CHECK(multi.on_result_objectives(3, 1, {0.4, 600}).what == action::stop);
  // n = 5, keep 1; then n = 6, keep 2: (0.65, 450) ranks third (rank 1, tied
  // with trial 1 on crowding, after it by id) and trial 2 dominates it
  CHECK(multi.on_result_objectives(4, 1, {0.1, 900}).what == action::stop);
  CHECK(multi.on_result_objectives(5, 1, {0.65, 450}).what == action::stop);
}

TEST_CASE("multi-objective ASHA in promote mode promotes the top 1/eta of "
          "a rung by NDS order",
          "[scheduler][pareto]") {
  auto o = auc_asha();
  o.mode = asha_mode::promote;
  asha multi{o};
  // six results on the first rung; by AUC alone 0 and 1 would go up, by
  // NDS the front {0, 2} does (1 is dominated by 0, 3..5 by 2)
  std::vector<std::vector<double>> results{{0.95, 900}, {0.94, 1000},
                                           {0.60, 10},  {0.50, 20},
                                           {0.55, 30},  {0.40, 40}};
  // (all six run before anyone asks for work: exactly the top 1/eta go up)
  for (trial_id id = 0; id < results.size(); ++id)
    multi.on_trial_add(id, {}, -1);
  for (trial_id id = 0; id < results.size(); ++id)
    CHECK(multi.on_result_objectives(id, 1, results[id]).what == action::pause);
  auto first = multi.next();
  CHECK(first.what == work::kind::resume);
  CHECK(first.id == 0);
  CHECK(first.budget == 3);
  auto second = multi.next();
  CHECK(second.what == work::kind::resume);
  CHECK(second.id == 2);
  CHECK(multi.next().what == work::kind::start);
  CHECK(multi.promoted(0) == 2);
}

TEST_CASE("multi-objective ASHA never stops a trial no recorded result "
          "dominates",
          "[scheduler][pareto]") {
  std::mt19937_64 rng{5};
  std::uniform_real_distribution<double> u{0, 1};
  for (int round = 0; round < 10; ++round) {
    auto o = auc_asha();
    o.max_resource = 27;
    asha multi{o};
    // every trial's latest recorded (auc, size), in loss form
    std::map<trial_id, std::vector<double>> latest;
    size_t stopped = 0;
    for (trial_id id = 0; id < 60; ++id) {
      multi.on_trial_add(id, {}, -1);
      // quality correlates with size: a real trade-off
      double q = u(rng);
      for (uint64_t step : {1, 3, 9}) {
        std::vector<double> v{q * (0.5 + 0.5 * step / 9.0),
                              1000 * q + 200 * u(rng) + step};
        auto d = multi.on_result_objectives(id, step, v);
        std::vector<double> loss{-v[0], v[1]};
        bool dominated = false;
        for (auto& [other, l] : latest)
          dominated = dominated || (other != id && dominates(l, loss));
        latest[id] = loss;
        if (d.what == action::stop) {
          ++stopped;
          INFO("trial " << id << " stopped at step " << step);
          CHECK(dominated);
          break;
        }
      }
    }
    CHECK(stopped > 0); // the rule does prune
  }
}

TEST_CASE("a multi-objective study keeps each trial's objectives and gives a "
          "non-dominated front of its complete trials",
          "[study][pareto]") {
  auto core = study_core::make(mo_spec(30), nullptr, 0);
  REQUIRE(core);
  auto& c = **core;
  CHECK(c.multi());
  std::mt19937_64 rng{9};
  std::uniform_real_distribution<double> u{0, 1};
  int64_t now = 0;
  size_t pruned = 0;
  // one slot; each trial reports at every budget it is given until it ends
  for (int guard = 0; guard < 1000 && c.phase() == study_phase::running;
       ++guard) {
    auto a = c.place("n", 0, now);
    if (!a) break;
    double q = u(rng), size = 100 + 900 * u(rng);
    uint64_t step = a->budget;
    for (;;) {
      // a smaller loss with a bigger model, and better with steps
      double value = q + 1.0 / static_cast<double>(step);
      auto ans = c.on_report(a->id, a->attempt, step, value, now,
                             {size + static_cast<double>(step)});
      if (ans.what == study_core::answer::proceed) {
        step = ans.budget;
        continue;
      }
      pruned += ans.what == study_core::answer::stop;
      REQUIRE(c.on_end(a->id, a->attempt, trial_outcome::finished, step, value,
                       {}, "", now));
      break;
    }
    now += 10;
  }
  CHECK(c.phase() == study_phase::finished);
  CHECK(pruned > 0);
  auto front = c.pareto_front();
  REQUIRE_FALSE(front.empty());
  auto loss = [&](trial_id id) {
    auto& t = c.trials()[id];
    REQUIRE(t.secondary().size() == 1);
    return std::vector<double>{t.score(), t.secondary()[0]};
  };
  std::set<trial_id> on(front.begin(), front.end());
  for (auto& t : c.trials()) {
    if (t.rec.state != trial_state::complete) {
      CHECK(on.count(t.rec.id) == 0);
      continue;
    }
    CHECK(t.rec.secondary_value.size() == 1);
    bool dominated = false;
    for (auto& o : c.trials())
      if (o.rec.state == trial_state::complete)
        dominated = dominated || dominates(loss(o.rec.id), loss(t.rec.id));
    CHECK(on.count(t.rec.id) == (dominated ? 0u : 1u));
  }
  // best metric first; the refit takes the front's best
  for (size_t i = 1; i < front.size(); ++i)
    CHECK(c.trials()[front[i - 1]].score() <= c.trials()[front[i]].score());
  REQUIRE(c.chosen());
  CHECK(*c.chosen() == front.front());
  // reports and completions carry the objectives into the journal's events
  size_t with = 0, reported = 0;
  for (auto& e : c.take_events()) {
    if (e.kind == event_kind::reported) {
      ++reported;
      with += e.objectives.size() == 1;
    }
    if (e.kind == event_kind::completed) CHECK(e.objectives.size() == 1);
  }
  CHECK(with == reported);
}

TEST_CASE("a multi-objective study goes on with a trial on the front that a "
          "single-objective study prunes",
          "[study][pareto]") {
  // One slot, so trial 0 runs to the end before trial 1 starts. Trial 1 has
  // the worse metric at every step but the smaller model.
  auto run = [](bool multi) {
    auto spec = mo_spec(2);
    if (!multi) spec.objectives.clear();
    auto core = study_core::make(spec, nullptr, 0);
    REQUIRE(core);
    auto& c = **core;
    std::vector<study_core::answer::kind> answers;
    for (trial_id id = 0; id < 2; ++id) {
      auto a = c.place("n", 0, 0);
      REQUIRE(a);
      REQUIRE(a->id == id);
      uint64_t step = a->budget;
      for (;;) {
        double value = (id == 0 ? 0.1 : 0.5) + 1.0 / static_cast<double>(step);
        std::vector<double> size{id == 0 ? 1000.0 : 100.0};
        auto ans = c.on_report(id, a->attempt, step, value, 0,
                               multi ? size : std::vector<double>{});
        if (id == 1) answers.push_back(ans.what);
        if (ans.what != study_core::answer::proceed) {
          c.on_end(id, a->attempt, trial_outcome::finished, step, value, {}, "",
                   0);
          break;
        }
        step = ans.budget;
      }
    }
    return std::make_pair(answers, c.trials()[1].rec.state);
  };
  auto [single_answers, single_state] = run(false);
  CHECK(single_state == trial_state::pruned); // ranked below trial 0
  CHECK(single_answers.front() == study_core::answer::stop);
  auto [multi_answers, multi_state] = run(true);
  CHECK(multi_state == trial_state::complete); // nothing dominates it
  CHECK(multi_answers.back() == study_core::answer::complete);
}

TEST_CASE("a multi-objective report without its objectives fails the trial, "
          "naming what is missing",
          "[study][pareto]") {
  auto core = study_core::make(mo_spec(2), nullptr, 0);
  REQUIRE(core);
  auto a = (*core)->place("n", 0, 0);
  REQUIRE(a);
  auto ans = (*core)->on_report(a->id, a->attempt, a->budget, 0.5, 0, {});
  CHECK(ans.what == study_core::answer::stop);
  auto& t = (*core)->trials()[a->id];
  CHECK(t.rec.state == trial_state::failed);
  CHECK(t.message.find("0 of 1 secondary objectives") != std::string::npos);
  auto b = (*core)->place("n", 0, 0);
  REQUIRE(b);
  (*core)->on_report(b->id, b->attempt, b->budget, 0.5, 0, {std::nan("")});
  CHECK((*core)->trials()[b->id].message.find("'model-size' is not finite") !=
        std::string::npos);
}

TEST_CASE(
    "objectives survive the journal and a resumed study's replay, and old "
    "events without them replay as before",
    "[journal][pareto]") {
  test::temp_dir dir;
  auto j = study_journal::open(dir / "j");
  REQUIRE(j);
  auto spec = mo_spec(10);
  REQUIRE((*j)->create(spec.id, to_envelope(spec)));
  std::vector<trial_event> evs(5);
  evs[0].trial = 0;
  evs[0].kind = event_kind::created;
  evs[1].trial = 0;
  evs[1].kind = event_kind::reported;
  evs[1].step = 1;
  evs[1].value = 0.25;
  evs[1].objectives = {321.5};
  evs[2].trial = 0;
  evs[2].kind = event_kind::completed;
  evs[2].value = 0.125;
  evs[2].objectives = {400};
  evs[3].trial = 1; // as an older writer left it: no objectives
  evs[3].kind = event_kind::created;
  evs[4].trial = 1;
  evs[4].kind = event_kind::reported;
  evs[4].step = 1;
  evs[4].value = 0.5;
  REQUIRE((*j)->append(spec.id, evs));
  auto back = (*j)->events(spec.id);
  REQUIRE(back);
  REQUIRE(back->size() == 5);
  CHECK((*back)[1].objectives == std::vector<double>{321.5});
  CHECK((*back)[2].objectives == std::vector<double>{400});
  CHECK((*back)[4].objectives.empty());
  auto r = (*j)->replay(spec.id);
  REQUIRE(r);
  CHECK(r->trials.at(0).secondary.at(1) == std::vector<double>{321.5});
  CHECK(r->trials.at(0).secondary_value == std::vector<double>{400});
  CHECK(r->trials.at(1).secondary.empty());
  auto spec_back = spec_from(to_envelope(spec));
  REQUIRE(spec_back);
  CHECK(spec_back->objectives == std::vector<std::string>{"model-size"});
  auto core = study_core::make(*spec_back, &*r, 0);
  REQUIRE(core);
  auto front = (*core)->pareto_front();
  CHECK(front == std::vector<trial_id>{0});
}

TEST_CASE("set_objectives and validate name an unknown, a repeated or a "
          "misplaced objective",
          "[study][pareto]") {
  study_spec s;
  CHECK_FALSE(set_objectives(s, "auc,model-size"));
  CHECK(s.metric == "auc");
  CHECK(s.objectives == std::vector<std::string>{"model-size"});
  CHECK(objective_names(s) == std::vector<std::string>{"auc", "model-size"});
  CHECK_FALSE(set_objectives(s, "rmse"));
  CHECK(s.objectives.empty());
  auto msg = [](const std::string& list) {
    study_spec x;
    return describe(set_objectives(x, list));
  };
  CHECK(msg("auc,speed").find("unknown objective 'speed'") !=
        std::string::npos);
  CHECK(msg("auc,latency,latency").find("'latency' is named twice") !=
        std::string::npos);
  CHECK(msg("latency,auc").find("first objective is the study's metric") !=
        std::string::npos);
  CHECK(msg("f1,latency").find("unknown objective 'f1'") != std::string::npos);
  auto spec = mo_spec(1);
  spec.scheduler = "hyperband";
  auto err = describe(validate(spec));
  CHECK(err.find("hyperband") != std::string::npos);
  CHECK(err.find("asha or none") != std::string::npos);
  spec.scheduler = "asha";
  spec.objectives = {"flops"};
  CHECK(describe(validate(spec)).find("unknown objective 'flops'") !=
        std::string::npos);
}
