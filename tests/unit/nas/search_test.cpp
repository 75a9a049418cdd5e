// The NAS search strategies with a scoring function standing in for the
// supernet: evolution and the REINFORCE controller.

#include <catch2/catch.hpp>

#include <set>

#include "actors/nas/controller.hpp"
#include "actors/nas/evolution.hpp"
#include "runtime/errors.hpp"

using namespace troupe::nas;

namespace {

/// A score that grows with the network's size: the best network sits at the
/// parameter limit, so a search that ignored the limits would leave them.
evaluator size_score(const search_space& s, int64_t scale) {
  return [&s, scale](const genes& g) {
    return static_cast<double>(count_params(s.resolve(g))) /
           static_cast<double>(scale);
  };
}

void check_within(const search_space& s, const search_result& r,
                  const limits& lim) {
  REQUIRE(!r.history.empty());
  for (auto& c : r.history) {
    auto a = s.resolve(c.g);
    INFO(describe(a));
    REQUIRE(count_params(a) <= lim.max_params);
    if (lim.max_flops > 0) REQUIRE(count_flops(a) <= lim.max_flops);
  }
  auto best = s.resolve(r.best.g);
  CHECK(count_params(best) <= lim.max_params);
  for (auto& c : r.history)
    CHECK(c.score <= r.best.score);
}

} // namespace

TEST_CASE("nas: evolution returns and scores only networks within the limits",
          "[nas][search]") {
  for (auto kind : {space_kind::mobilenet, space_kind::resnet}) {
    auto s = search_space::of(kind);
    limits lim{60000, 4000000};
    sampler draw{s, lim, 5};
    evolution_options eo;
    eo.budget = 80;
    auto r = evolve(draw, size_score(s, lim.max_params), eo);
    check_within(s, r, lim);
    CHECK(r.history.size() == 80);
    // Each network is scored once.
    std::set<std::string> seen;
    for (auto& c : r.history)
      seen.insert(describe(s.resolve(c.g)));
    CHECK(seen.size() == r.history.size());
  }
}

TEST_CASE("nas: evolution improves on its first population", "[nas][search]") {
  auto s = search_space::mobilenet();
  limits lim{100000, 0};
  sampler draw{s, lim, 9};
  evolution_options eo;
  eo.budget = 96;
  eo.population = 16;
  auto r = evolve(draw, size_score(s, lim.max_params), eo);
  double first_best = 0;
  for (size_t i = 0; i < 16; ++i)
    first_best = std::max(first_best, r.history[i].score);
  CHECK(r.best.score > first_best);
  CHECK(r.best.score > 0.9); // within 10% of the limit
}

TEST_CASE("nas: the RL controller returns and scores only networks within the "
          "limits",
          "[nas][search]") {
  for (auto kind : {space_kind::mobilenet, space_kind::resnet}) {
    auto s = search_space::of(kind);
    limits lim{50000, 3000000};
    sampler draw{s, lim, 13};
    controller_options co;
    co.budget = 60;
    auto r = search_rl(draw, size_score(s, lim.max_params), co);
    check_within(s, r, lim);
    CHECK(r.history.size() == 60);
  }
}

TEST_CASE("nas: a REINFORCE step makes the rewarded option more probable",
          "[nas][search]") {
  auto s = search_space::mobilenet();
  controller_options co;
  co.entropy_weight = 0;
  controller ctl{s, co};
  auto before = ctl.probabilities(0)[2];
  // Batches where the stem's third option earns 1 and the others 0.
  std::mt19937_64 rng{1};
  for (int step = 0; step < 30; ++step) {
    std::vector<genes> batch;
    std::vector<double> rewards;
    for (int i = 0; i < 4; ++i) {
      auto g = ctl.sample(rng);
      rewards.push_back(g[0] == 2 ? 1.0 : 0.0);
      batch.push_back(std::move(g));
    }
    ctl.update(batch, rewards);
  }
  CHECK(before == Approx(1.0 / 3));
  CHECK(ctl.probabilities(0)[2] > 0.6);
  CHECK(ctl.mode()[0] == 2);
}

TEST_CASE("nas: unknown strategy names are refused by name", "[nas][search]") {
  auto x = parse_strategy_kind("bayes");
  REQUIRE(!x);
  CHECK_THAT(troupe::describe(x.error()),
             Catch::Contains("unknown search strategy 'bayes'") &&
                 Catch::Contains("evolution, rl"));
  CHECK(parse_strategy_kind("rl").value() == strategy_kind::rl);
}
