#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>

#include "actors/automl/random_sampler.hpp"
#include "actors/automl/tpe.hpp"

using namespace troupe::automl;
using namespace troupe::tabular;

namespace {

using objective = std::function<double(const config&)>;

double num(const config& c, const std::string& name) {
  auto& v = c.at(name);
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

search_space make_space(std::vector<param_spec> params) {
  auto space = search_space::make(std::move(params));
  REQUIRE(space);
  return *space;
}

trial_record complete(trial_id id, config params, double value) {
  trial_record t;
  t.id = id;
  t.params = std::move(params);
  t.state = trial_state::complete;
  t.value = value;
  return t;
}

/// Runs a sequential study of `n` trials and returns its history.
std::vector<trial_record> run_study(sampler& s, const search_space& space,
                                    const objective& f, size_t n, uint64_t seed,
                                    direction dir = direction::minimize) {
  std::mt19937_64 rng{seed};
  std::vector<trial_record> history;
  for (size_t i = 0; i < n; ++i) {
    auto c = s.suggest(space, history, dir, rng);
    REQUIRE(!space.check(c));
    auto value = f(c);
    history.push_back(complete(i, std::move(c), value));
  }
  return history;
}

double best_value(const std::vector<trial_record>& h) {
  double best = INFINITY;
  for (auto& t : h)
    best = std::min(best, *t.value);
  return best;
}

/// Median of `dist` over the last `k` trials.
double late_median(const std::vector<trial_record>& h, size_t k,
                   const std::function<double(const config&)>& dist) {
  std::vector<double> d;
  for (size_t i = h.size() - k; i < h.size(); ++i)
    d.push_back(dist(h[i].params));
  std::sort(d.begin(), d.end());
  return 0.5 * (d[(k - 1) / 2] + d[k / 2]);
}

/// TPE against random search over 20 seeds.
struct duel {
  int tpe_wins = 0;
  double tpe_mean = 0;
  double random_mean = 0;
};

duel compare(
    const search_space& space, const objective& f, size_t n,
    const std::function<double(const std::vector<trial_record>&)>& score) {
  duel d;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    tpe_sampler tpe;
    random_sampler rnd;
    double t = score(run_study(tpe, space, f, n, seed));
    double r = score(run_study(rnd, space, f, n, seed));
    d.tpe_wins += t < r;
    d.tpe_mean += t / 20;
    d.random_mean += r / 20;
  }
  return d;
}

objective quadratic_1d = [](const config& c) {
  double x = num(c, "x");
  return (x - 0.3) * (x - 0.3);
};

objective branin = [](const config& c) {
  double x = num(c, "x"), y = num(c, "y");
  double b = 5.1 / (4 * M_PI * M_PI), cc = 5 / M_PI, t = 1 / (8 * M_PI);
  return std::pow(y - b * x * x + cc * x - 6, 2) + 10 * (1 - t) * std::cos(x) +
         10;
};

} // namespace

TEST_CASE("the good set is Optuna's gamma: min(ceil(n / 10), 25)", "[tpe]") {
  CHECK(default_gamma(0) == 0);
  CHECK(default_gamma(1) == 1);
  CHECK(default_gamma(10) == 1);
  CHECK(default_gamma(11) == 2);
  CHECK(default_gamma(100) == 10);
  CHECK(default_gamma(1000) == 25);
}

TEST_CASE("weights ramp up for old trials beyond the newest 25", "[tpe]") {
  CHECK(default_weights(10) == std::vector<double>(10, 1.0));
  auto w = default_weights(100);
  REQUIRE(w.size() == 100);
  CHECK(w[0] == Approx(0.01));
  CHECK(w[74] == Approx(1.0));
  CHECK(std::is_sorted(w.begin(), w.end()));
  CHECK(std::all_of(w.begin() + 75, w.end(), [](double x) { return x == 1; }));
}

TEST_CASE("the split ranks complete before pruned trials, and liars are bad",
          "[tpe]") {
  std::vector<trial_record> h;
  for (int i = 0; i < 18; ++i)
    h.push_back(complete(i, {}, 10.0 + i));
  trial_record pruned;
  pruned.id = 18;
  pruned.state = trial_state::pruned;
  pruned.intermediate = {{1, 100.0}, {5, 0.5}}; // better than any, but pruned
  h.push_back(pruned);
  trial_record failed;
  failed.id = 19;
  failed.state = trial_state::failed;
  h.push_back(failed);
  trial_record running;
  running.id = 20;
  running.state = trial_state::running;
  h.push_back(running);

  auto s = split_trials(h, direction::minimize);
  CHECK(s.finished == 19);
  CHECK(s.good == std::vector<size_t>{0, 1}); // gamma(19) = 2
  CHECK(s.bad.size() == 18);
  CHECK(std::count(s.bad.begin(), s.bad.end(), 18) == 1); // the pruned one
  CHECK(std::count(s.bad.begin(), s.bad.end(), 20) == 1); // the liar
  CHECK(std::count(s.bad.begin(), s.bad.end(), 19) == 0); // failed: ignored

  auto up = split_trials(h, direction::maximize);
  CHECK(up.good == std::vector<size_t>{16, 17});

  tpe_options honest;
  honest.constant_liar = false;
  auto no_liar = split_trials(h, direction::minimize, honest);
  CHECK(std::count(no_liar.bad.begin(), no_liar.bad.end(), 20) == 0);
}

TEST_CASE("a multi-objective study's split follows non-dominated order "
          "(MOTPE)",
          "[tpe]") {
  // 12 complete trials, minimizing (metric, model-size): five on the front
  // (values 0..4 against sizes 40..0), seven behind it.
  std::vector<trial_record> h;
  for (int i = 0; i < 5; ++i) {
    auto t = complete(i, {}, i);
    t.secondary_value = {40.0 - 10 * i};
    h.push_back(t);
  }
  for (int i = 5; i < 12; ++i) {
    auto t = complete(i, {}, 0.5 + i); // trial 0 (0, 40) is better in both
    t.secondary_value = {45.0};
    h.push_back(t);
  }
  // gamma(12) = 2: by the metric alone, trials 0 and 1; by non-dominated
  // order, the front's two ends (infinite crowding distance): 0 and 4
  auto s = split_trials(h, direction::minimize);
  CHECK(s.good == std::vector<size_t>{0, 4});
  // the same trials without secondary objectives: the metric alone
  for (auto& t : h)
    t.secondary_value.clear();
  CHECK(split_trials(h, direction::minimize).good == std::vector<size_t>{0, 1});
  // a maximized metric: each of trials 0..3 is dominated by the next one
  // (a larger metric and a smaller size), and trials 5..10 by trial 11; the
  // front is trial 4 (the smallest size) and trial 11 (the largest metric)
  for (int i = 0; i < 12; ++i)
    h[i].secondary_value = {i < 5 ? 40.0 - 10 * i : 45.0};
  auto up = split_trials(h, direction::maximize);
  CHECK(std::count(up.good.begin(), up.good.end(), 11) == 1);
  CHECK(std::count(up.good.begin(), up.good.end(), 4) == 1);
}

TEST_CASE("pruned trials that got further rank better", "[tpe]") {
  std::vector<trial_record> h;
  for (int i = 0; i < 20; ++i) {
    trial_record t;
    t.id = i;
    t.state = trial_state::pruned;
    // Trial 7 reached step 9 with a poor value; the others step 3.
    t.intermediate[i == 7 ? 9 : 3] = i == 7 ? 50.0 : 1.0 + i;
    h.push_back(t);
  }
  auto s = split_trials(h, direction::minimize);
  CHECK(s.good == std::vector<size_t>{0, 7});
}

TEST_CASE("TPE's start-up trials are random search's", "[tpe]") {
  auto space = make_space(
      {param_spec::real("x", 0, 1), param_spec::categorical("c", {"a", "b"})});
  tpe_sampler tpe;
  random_sampler rnd;
  auto t = run_study(tpe, space, quadratic_1d, 10, 5);
  auto r = run_study(rnd, space, quadratic_1d, 10, 5);
  for (size_t i = 0; i < 10; ++i)
    CHECK(t[i].params == r[i].params);
  auto more = run_study(tpe, space, quadratic_1d, 11, 5);
  CHECK(more[10].params !=
        run_study(rnd, space, quadratic_1d, 11, 5)[10].params);
}

TEST_CASE("TPE is deterministic for a seed", "[tpe]") {
  auto space = make_space(
      {param_spec::real("x", 0, 1), param_spec::integer("n", 1, 100, true)});
  tpe_sampler a, b;
  auto ha = run_study(a, space, quadratic_1d, 30, 11);
  auto hb = run_study(b, space, quadratic_1d, 30, 11);
  auto hc = run_study(a, space, quadratic_1d, 30, 12);
  for (size_t i = 0; i < 30; ++i)
    CHECK(ha[i].params == hb[i].params);
  CHECK(ha.back().params != hc.back().params);
}

TEST_CASE("TPE beats random search on a 1-d quadratic over 20 seeds", "[tpe]") {
  auto space = make_space({param_spec::real("x", 0, 1)});
  auto best = compare(space, quadratic_1d, 60, best_value);
  CHECK(best.tpe_wins >= 15);
  CHECK(best.tpe_mean < best.random_mean);
  // Late suggestions gather at x = 0.3.
  auto near = compare(space, quadratic_1d, 60, [](auto& h) {
    return late_median(h, 20,
                       [](auto& c) { return std::fabs(num(c, "x") - 0.3); });
  });
  CHECK(near.tpe_wins >= 17);
  CHECK(near.tpe_mean < 0.5 * near.random_mean);
}

TEST_CASE("TPE concentrates on a log-scale optimum", "[tpe]") {
  auto space = make_space({param_spec::real("lr", 1e-6, 1, true)});
  objective f = [](const config& c) {
    double e = std::log10(num(c, "lr")) + 2.5;
    return e * e;
  };
  auto near = compare(space, f, 50, [](auto& h) {
    return late_median(h, 20, [](auto& c) {
      return std::fabs(std::log10(num(c, "lr")) + 2.5);
    });
  });
  CHECK(near.tpe_wins >= 17);
  CHECK(near.tpe_mean < 0.5 * near.random_mean);
}

TEST_CASE("TPE beats random search on Branin over 20 seeds", "[tpe]") {
  auto space =
      make_space({param_spec::real("x", -5, 10), param_spec::real("y", 0, 15)});
  auto best = compare(space, branin, 80, best_value);
  CHECK(best.tpe_wins >= 14);
  CHECK(best.tpe_mean < 0.75 * best.random_mean);
}

TEST_CASE("TPE learns the categorical and integer parts of a 3-d function",
          "[tpe]") {
  auto space = make_space({param_spec::real("x", 0, 1),
                           param_spec::integer("depth", 1, 12),
                           param_spec::categorical("c", {"a", "b", "c"})});
  objective f = [](const config& c) {
    double x = num(c, "x") - 0.7, d = (num(c, "depth") - 4) / 11.0;
    return x * x + d * d + (std::get<std::string>(c.at("c")) == "b" ? 0 : 0.3);
  };
  auto best = compare(space, f, 60, best_value);
  CHECK(best.tpe_wins >= 15);
  CHECK(best.tpe_mean < best.random_mean);
  auto misses = compare(space, f, 60, [](auto& h) {
    double other = 0;
    for (size_t i = h.size() - 20; i < h.size(); ++i)
      other += std::get<std::string>(h[i].params.at("c")) != "b";
    return other;
  });
  CHECK(misses.tpe_mean < 0.5 * misses.random_mean);
  auto depth = compare(space, f, 60, [](auto& h) {
    return late_median(h, 20,
                       [](auto& c) { return std::fabs(num(c, "depth") - 4); });
  });
  CHECK(depth.tpe_mean < depth.random_mean);
}

TEST_CASE("TPE models conditional parameters where they are active", "[tpe]") {
  auto space = make_space({
      param_spec::categorical("shape", {"bowl", "flat", "ramp"}),
      param_spec::real("x", 0, 1).only_if("shape", {"bowl"}),
      param_spec::real("y", 0, 1).only_if("shape", {"ramp"}),
  });
  objective f = [](const config& c) {
    auto& shape = std::get<std::string>(c.at("shape"));
    if (shape == "bowl") return std::pow(num(c, "x") - 0.3, 2);
    if (shape == "ramp") return 0.2 + num(c, "y");
    return 0.5;
  };
  // run_study checks every suggestion: children present iff enabled.
  auto bowls = compare(space, f, 60, [](auto& h) {
    double others = 0;
    for (size_t i = h.size() - 20; i < h.size(); ++i)
      others += std::get<std::string>(h[i].params.at("shape")) != "bowl";
    return others;
  });
  CHECK(bowls.tpe_mean < 0.5 * bowls.random_mean);
  auto best = compare(space, f, 60, best_value);
  CHECK(best.tpe_wins >= 15);
}

TEST_CASE("maximizing a negated objective mirrors minimizing it", "[tpe]") {
  auto space =
      make_space({param_spec::real("x", -5, 10), param_spec::real("y", 0, 15)});
  tpe_sampler down, up;
  auto low = run_study(down, space, branin, 40, 3, direction::minimize);
  auto high = run_study(
      up, space, [](const config& c) { return -branin(c); }, 40, 3,
      direction::maximize);
  for (size_t i = 0; i < low.size(); ++i)
    CHECK(low[i].params == high[i].params);
  // And the study did improve past the random start-up.
  double startup_best = INFINITY;
  for (size_t i = 0; i < 10; ++i)
    startup_best = std::min(startup_best, *low[i].value);
  CHECK(best_value(low) < startup_best);
}

TEST_CASE("pending trials make parallel suggestions spread out", "[tpe]") {
  auto space = make_space({param_spec::real("x", 0, 1)});
  // Spread (standard deviation) of 8 suggestions made while the earlier
  // ones are still running.
  auto spread = [&](bool liar, uint64_t seed) {
    std::mt19937_64 rng{seed};
    std::vector<trial_record> h;
    for (trial_id i = 0; i < 30; ++i) {
      auto c = space.sample(rng);
      auto v = quadratic_1d(c);
      h.push_back(complete(i, std::move(c), v));
    }
    tpe_options opts;
    opts.constant_liar = liar;
    tpe_sampler tpe{opts};
    std::vector<double> xs;
    for (int k = 0; k < 8; ++k) {
      auto c = tpe.suggest(space, h, direction::minimize, rng);
      xs.push_back(num(c, "x"));
      trial_record t;
      t.id = h.size();
      t.params = std::move(c);
      t.state = trial_state::running;
      h.push_back(std::move(t));
    }
    double mean = 0, var = 0;
    for (double x : xs)
      mean += x / 8;
    for (double x : xs)
      var += (x - mean) * (x - mean) / 8;
    return std::sqrt(var);
  };
  int wider = 0;
  double with = 0, without = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    double on = spread(true, seed), off = spread(false, seed);
    wider += on > off;
    with += on / 20;
    without += off / 20;
    CHECK(on > 0.02); // never (nearly) the same point eight times
  }
  CHECK(wider >= 17);
  CHECK(with > 2 * without);
}

TEST_CASE("TPE skips history that does not fit the space", "[tpe]") {
  auto space = make_space(
      {param_spec::real("x", 0, 1), param_spec::categorical("c", {"a", "b"})});
  std::vector<trial_record> h;
  std::mt19937_64 rng{1};
  for (trial_id i = 0; i < 20; ++i) {
    config c{{"x", i % 2 ? param_value{7.0} : param_value{int64_t{1}}},
             {"c", std::string{"zzz"}},
             {"gone", 1.0}};
    h.push_back(complete(i, std::move(c), 1.0 * i));
  }
  tpe_sampler tpe;
  for (int k = 0; k < 5; ++k)
    CHECK(!space.check(tpe.suggest(space, h, direction::minimize, rng)));
}
