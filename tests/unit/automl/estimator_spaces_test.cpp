#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "actors/automl/space.hpp"
#include "actors/models/estimator.hpp"
#include "tests/unit/models/estimator_data.hpp"

using namespace troupe;
using namespace troupe::automl;

TEST_CASE("every configuration of an estimator family's default space trains",
          "[space][estimator]") {
  auto d = models::test::load_split("pima_diabetes.csv", "diabetes", true);
  auto ctx = models::test::context_of(d, 1);
  std::mt19937_64 rng{11};
  for (auto name : {"linear", "knn", "rf"}) {
    SECTION(name) {
      auto space = space_registry::with_builtins().get(name);
      REQUIRE(space);
      CHECK(space->size() > 1);
      for (int i = 0; i < 4; ++i) {
        auto cfg = space->sample(rng);
        auto e = models::test::make(name, cfg, ctx);
        models::test::fit(*e, d.train, 1);
        auto p = models::test::scores(*e, d.test);
        REQUIRE(p.size() == d.test.rows);
        for (auto x : p)
          REQUIRE((x >= 0 && x <= 1));
      }
    }
  }
}

TEST_CASE("the estimator families are registered with their fidelities",
          "[estimator]") {
  auto names = models::estimator_families();
  for (auto name : {"knn", "linear", "rf"})
    CHECK(std::count(names.begin(), names.end(), name) == 1);
  auto steps = [](const char* name) {
    auto f = models::find_estimator_family(name);
    REQUIRE(f);
    return (*f)->max_steps;
  };
  CHECK(steps("linear") == 100);
  CHECK(steps("knn") == 1);
  CHECK(steps("rf") == 32);
}
