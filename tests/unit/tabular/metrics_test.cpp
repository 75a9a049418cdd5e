#include <catch2/catch.hpp>

#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"

using namespace troupe::tabular;

TEST_CASE("AUC matches the Mann-Whitney reference and halves ties",
          "[metrics]") {
  CHECK(*auc({0, 0, 1, 1}, {0.1f, 0.4f, 0.35f, 0.8f}) == Approx(0.75));
  CHECK(*auc({0, 1}, {0.5f, 0.5f}) == Approx(0.5));
  CHECK(*auc({0, 0, 1}, {0.1f, 0.2f, 0.9f}) == Approx(1.0));
  CHECK(*auc({1, 1, 0}, {0.1f, 0.2f, 0.9f}) == Approx(0.0));
  auto one_class = auc({1, 1}, {0.2f, 0.3f});
  REQUIRE_FALSE(one_class);
  CHECK_THAT(troupe::describe(one_class.error()),
             Catch::Contains("both classes"));
}

TEST_CASE("logloss for binary and multiclass probabilities", "[metrics]") {
  CHECK(*logloss({1, 0}, {0.9f, 0.1f}, 2) == Approx(0.1053605).epsilon(1e-5));
  CHECK(*logloss({0, 2}, {0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f}, 3) ==
        Approx(0.2899092).epsilon(1e-5));
  // Certain and wrong is large but finite.
  auto worst = logloss({1}, {0.0f}, 2);
  REQUIRE(worst);
  CHECK(*worst > 30);
  CHECK_FALSE(logloss({0, 1}, {0.5f}, 2));
}

TEST_CASE("accuracy thresholds binary scores and takes the argmax of "
          "multiclass rows",
          "[metrics]") {
  CHECK(*accuracy({1, 0, 1}, {0.6f, 0.4f, 0.3f}, 2) == Approx(2.0 / 3));
  CHECK(*accuracy({2, 0}, {0.1f, 0.2f, 0.7f, 0.3f, 0.6f, 0.1f}, 3) ==
        Approx(0.5));
}

TEST_CASE("RMSE, MAE and KS against hand-computed values", "[metrics]") {
  CHECK(*rmse({1, 2, 3}, {1, 2, 5}) == Approx(1.1547005));
  CHECK(*mae({1, 2, 3}, {1, 2, 5}) == Approx(2.0 / 3));
  CHECK(*ks({0, 0, 1, 1}, {0.1f, 0.2f, 0.3f, 0.4f}) == Approx(1.0));
  CHECK(*ks({0, 0, 1, 1}, {0.1f, 0.4f, 0.35f, 0.8f}) == Approx(0.5));
}

TEST_CASE("metrics are found by name with their direction", "[metrics]") {
  CHECK(find_metric("auc")->better == direction::maximize);
  CHECK(find_metric("rmse")->better == direction::minimize);
  auto bad = find_metric("f1");
  REQUIRE_FALSE(bad);
  CHECK_THAT(troupe::describe(bad.error()), Catch::Contains("'f1'"));
  CHECK_FALSE(evaluate("auc", {1, 2}, {0.1f, 0.2f}, 0));
  CHECK_FALSE(evaluate("auc", {0, 1, 2}, std::vector<float>(9, 0.3f), 3));
  CHECK(*evaluate("mae", {1, 2, 3}, {1, 2, 5}, 0) == Approx(2.0 / 3));
}
