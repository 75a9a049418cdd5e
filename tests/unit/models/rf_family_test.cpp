#include <catch2/catch.hpp>

#include <cmath>

#include "actors/models/builtin_estimators.hpp"
#include "actors/models/xgb_data.hpp"
#include "tests/unit/models/estimator_data.hpp"

using namespace troupe;
using namespace troupe::models;
using namespace troupe::models::test;
using Catch::Matchers::Contains;

// XGBoost runs on one thread here: its OpenMP threads spin, and on a busy
// machine two of them take many times as long as one.

TEST_CASE("a random forest learns pima with its missing cells",
          "[estimator][rf]") {
  auto d = load_split("pima_diabetes.csv", "diabetes", false);
  REQUIRE(std::any_of(d.train.values.begin(), d.train.values.end(),
                      [](float x) { return std::isnan(x); }));
  auto f = find_estimator_family("rf");
  REQUIRE(f);
  CHECK((*f)->takes_nan);
  CHECK((*f)->native_categorical);
  auto e = make("rf", {{"max_depth", int64_t{8}}}, context_of(d, 1));
  fit(*e, d.train, 3);
  CHECK(e->steps() == 3);
  auto p = scores(*e, d.test);
  REQUIRE(p.size() == d.test.rows);
  for (auto x : p)
    REQUIRE((x > 0 && x < 1));
  CHECK(metric("auc", d.test, p, 2) > 0.79);
}

TEST_CASE("a random forest learns shuttle's classes", "[estimator][rf]") {
  auto d = load_split("shuttle.csv", "Class", false, 0.1);
  auto ctx = context_of(d, 1);
  auto e = make(
      "rf", {{"max_depth", int64_t{6}}, {"trees_per_step", int64_t{4}}}, ctx);
  fit(*e, d.train, 2);
  auto p = scores(*e, d.test);
  REQUIRE(p.size() == d.test.rows * ctx.classes);
  for (size_t i = 0; i < d.test.rows; ++i) {
    double sum = 0;
    for (size_t c = 0; c < ctx.classes; ++c) {
      auto x = p[i * ctx.classes + c];
      REQUIRE((x > 0 && x < 1));
      sum += x;
    }
    REQUIRE(sum == Approx(1).epsilon(1e-5));
  }
  CHECK(metric("accuracy", d.test, p, ctx.classes) > 0.99);
}

TEST_CASE("a random forest splits boston's towns natively", "[estimator][rf]") {
  auto d = load_split("boston_housing.csv", "cmedv", false);
  auto ctx = context_of(d, 1);
  ctx.feature_types = xgboost_feature_types(d.data.prep);
  REQUIRE(std::count(ctx.feature_types.begin(), ctx.feature_types.end(), "c") ==
          1);
  auto e =
      make("rf", {{"max_depth", int64_t{12}}, {"colsample_bynode", 0.5}}, ctx);
  fit(*e, d.train, 2);
  auto p = scores(*e, d.test);
  REQUIRE(p.size() == d.test.rows);
  CHECK(metric("rmse", d.test, p, 0) < 0.45 * label_sd(d.test));
  auto back = reloaded("rf", *e, ctx);
  CHECK(same_bits(scores(*back, d.test), p));
}

TEST_CASE("a saved random forest predicts and grows on as the original",
          "[estimator][rf]") {
  auto d = load_split("pima_diabetes.csv", "diabetes", false);
  auto ctx = context_of(d, 1);
  tabular::config cfg{{"max_depth", int64_t{5}},
                      {"subsample", 0.7},
                      {"trees_per_step", int64_t{4}}};
  auto straight = make("rf", cfg, ctx);
  fit(*straight, d.train, 3);
  auto half = make("rf", cfg, ctx);
  CHECK(half->steps() == 0);
  fit(*half, d.train, 1);
  CHECK(half->steps() == 1);
  auto one = scores(*half, d.test);
  auto back = reloaded("rf", *half, ctx);
  CHECK(back->steps() == 1);
  CHECK(same_bits(scores(*back, d.test), one));
  fit(*back, d.train, 2);
  CHECK(back->steps() == 3);
  auto three = scores(*back, d.test);
  CHECK(same_bits(three, scores(*straight, d.test)));
  CHECK(*back->save() == *straight->save());
  // each step's forest differs (a seed of its own): averaging changes scores
  CHECK(!same_bits(one, three));
}

TEST_CASE("the rf family names bad parameters and inputs", "[estimator][rf]") {
  auto d = load_split("pima_diabetes.csv", "diabetes", false);
  auto ctx = context_of(d, 1);
  CHECK_THAT(make_error_text("rf", {{"subsample", 0.0}}, ctx),
             Contains("'subsample'") && Contains("0"));
  CHECK_THAT(make_error_text("rf", {{"max_depth", int64_t{65}}}, ctx),
             Contains("'max_depth'") && Contains("65"));
  CHECK_THAT(make_error_text("rf", {{"colsample_bynode", 2.0}}, ctx),
             Contains("'colsample_bynode'") && Contains("2"));
  CHECK_THAT(make_error_text("rf", {{"eta", 0.3}}, ctx),
             Contains("unknown parameter 'eta'") && Contains("max_depth"));
  auto odd = ctx;
  odd.feature_types = {"q", "x"};
  CHECK_THAT(make_error_text("rf", {}, odd), Contains("'x'"));
  auto few = ctx;
  few.feature_types = {"q", "q"};
  auto e = make("rf", {}, few);
  auto err = e->fit_step(d.train);
  REQUIRE(err);
  CHECK_THAT(describe(err), Contains("2 feature types"));
  auto f = find_estimator_family("rf");
  REQUIRE(f);
  std::vector<uint8_t> junk(64, 0);
  CHECK(!(*f)->load(junk, ctx));
  // a loaded forest checks the matrix it grows on
  auto good = make("rf", {{"trees_per_step", int64_t{2}}}, ctx);
  fit(*good, d.train, 1);
  auto back = reloaded("rf", *good, ctx);
  auto bad_label = d.train;
  bad_label.labels[4] = 2;
  err = back->fit_step(bad_label);
  REQUIRE(err);
  CHECK_THAT(describe(err), Contains("training row 4"));
  CHECK(back->steps() == 1);
}
