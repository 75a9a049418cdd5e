#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "actors/models/builtin_estimators.hpp"
#include "actors/models/checkpoint.hpp"
#include "actors/models/errors.hpp"
#include "schemas/estimators.capnp.h"
#include "tests/unit/models/estimator_data.hpp"

using namespace troupe;
using namespace troupe::models;
using namespace troupe::models::test;
using Catch::Matchers::Contains;

TEST_CASE("a logistic model learns pima diabetes", "[estimator][linear]") {
  auto d = load_split("pima_diabetes.csv", "diabetes", true);
  auto ctx = context_of(d);
  auto e = make("linear", {{"alpha", 1e-3}, {"l1_ratio", 0.5}}, ctx);
  fit(*e, d.train, 100);
  CHECK(e->steps() == 100);
  auto p = scores(*e, d.test);
  REQUIRE(p.size() == d.test.rows);
  for (auto x : p)
    REQUIRE((x > 0 && x < 1));
  CHECK(metric("auc", d.test, p, 2) > 0.78);
}

TEST_CASE("a linear regression learns boston housing", "[estimator][linear]") {
  auto d = load_split("boston_housing.csv", "cmedv", true);
  auto ctx = context_of(d);
  auto e = make("linear", {{"alpha", 1e-4}, {"l1_ratio", 0.0}}, ctx);
  fit(*e, d.train, 100);
  auto p = scores(*e, d.test);
  REQUIRE(p.size() == d.test.rows);
  // a constant predicts with the labels' spread; a linear model does far
  // better on boston (about 5 against 9)
  CHECK(metric("rmse", d.test, p, 0) < 0.65 * label_sd(d.test));
}

TEST_CASE("a softmax model learns shuttle's classes", "[estimator][linear]") {
  auto d = load_split("shuttle.csv", "Class", true, 0.1);
  auto ctx = context_of(d);
  REQUIRE(ctx.classes > 2);
  auto e = make("linear", {{"alpha", 1e-5}, {"l1_ratio", 0.1}}, ctx);
  fit(*e, d.train, 100);
  auto p = scores(*e, d.test);
  REQUIRE(p.size() == d.test.rows * ctx.classes);
  for (size_t i = 0; i < d.test.rows; ++i) {
    double sum = 0;
    for (size_t c = 0; c < ctx.classes; ++c) {
      auto x = p[i * ctx.classes + c];
      REQUIRE((x >= 0 && x <= 1));
      sum += x;
    }
    REQUIRE(sum == Approx(1).epsilon(1e-5));
  }
  CHECK(metric("accuracy", d.test, p, ctx.classes) > 0.9);
  CHECK(std::isfinite(metric("logloss", d.test, p, ctx.classes)));
}

TEST_CASE("a strong L1 penalty zeroes coefficients", "[estimator][linear]") {
  auto d = load_split("boston_housing.csv", "cmedv", true);
  auto ctx = context_of(d);
  auto zeros = [&](double alpha) {
    auto e = make("linear", {{"alpha", alpha}, {"l1_ratio", 1.0}}, ctx);
    fit(*e, d.train, 100);
    auto bytes = e->save();
    REQUIRE(bytes);
    auto w = linear_coefficients(*bytes);
    REQUIRE(w);
    REQUIRE(w->size() == d.train.cols);
    return std::count(w->begin(), w->end(), 0.0);
  };
  auto cols = static_cast<long>(d.train.cols);
  CHECK(zeros(1e-6) == 0);
  auto some = zeros(0.1);
  CHECK(some > 0);
  CHECK(some < cols);
  CHECK(zeros(10) == cols);
  // with every coefficient zero, every row gets the same score
  auto e = make("linear", {{"alpha", 10.0}, {"l1_ratio", 1.0}}, ctx);
  fit(*e, d.train, 20);
  auto p = scores(*e, d.test);
  CHECK(std::all_of(p.begin(), p.end(), [&](float x) { return x == p[0]; }));
}

TEST_CASE("linear steps accumulate and improve the training fit",
          "[estimator][linear]") {
  auto d = load_split("pima_diabetes.csv", "diabetes", true);
  auto ctx = context_of(d);
  auto e = make("linear", {}, ctx);
  CHECK(e->steps() == 0);
  fit(*e, d.train, 1);
  CHECK(e->steps() == 1);
  auto early = metric("logloss", d.train, scores(*e, d.train), 2);
  fit(*e, d.train, 29);
  CHECK(e->steps() == 30);
  auto later = metric("logloss", d.train, scores(*e, d.train), 2);
  CHECK(later < early);
}

TEST_CASE("a saved linear model predicts and trains on as the original",
          "[estimator][linear]") {
  struct source {
    const char* file;
    const char* target;
    double keep;
  };
  for (auto src : {source{"pima_diabetes.csv", "diabetes", 1.0},
                   source{"boston_housing.csv", "cmedv", 1.0},
                   source{"shuttle.csv", "Class", 0.05}}) {
    SECTION(src.file) {
      auto d = load_split(src.file, src.target, true, src.keep);
      auto ctx = context_of(d);
      tabular::config cfg{{"alpha", 1e-3}, {"l1_ratio", 0.3}};
      auto straight = make("linear", cfg, ctx);
      fit(*straight, d.train, 12);
      auto half = make("linear", cfg, ctx);
      fit(*half, d.train, 5);
      auto back = reloaded("linear", *half, ctx);
      CHECK(back->steps() == 5);
      CHECK(same_bits(scores(*back, d.test), scores(*half, d.test)));
      // a different thread count changes nothing either
      auto one_thread = ctx;
      one_thread.threads = 1;
      auto back1 = reloaded("linear", *half, one_thread);
      fit(*back, d.train, 7);
      fit(*back1, d.train, 7);
      CHECK(back->steps() == 12);
      CHECK(same_bits(scores(*back, d.test), scores(*straight, d.test)));
      CHECK(same_bits(scores(*back1, d.test), scores(*straight, d.test)));
      CHECK(*back->save() == *straight->save());
    }
  }
}

TEST_CASE("a linear model copes with unscaled columns and missing cells",
          "[estimator][linear]") {
  // boston as read: columns in their own units (tax in hundreds, nox
  // below 1), no imputation needed
  auto d = load_split("boston_housing.csv", "cmedv", false);
  auto ctx = context_of(d);
  auto e = make("linear", {{"alpha", 1e-4}, {"l1_ratio", 0.5}}, ctx);
  fit(*e, d.train, 100);
  auto p = scores(*e, d.test);
  CHECK(metric("rmse", d.test, p, 0) < 0.65 * label_sd(d.test));
  auto holes = d.test;
  for (size_t i = 0; i < holes.rows; i += 3)
    holes.values[i * holes.cols + i % holes.cols] = NAN;
  auto q = scores(*e, holes);
  CHECK(std::all_of(q.begin(), q.end(),
                    [](float x) { return std::isfinite(x); }));
}

TEST_CASE("the linear family names bad parameters and inputs",
          "[estimator][linear]") {
  auto d = load_split("pima_diabetes.csv", "diabetes", true);
  auto ctx = context_of(d);
  CHECK_THAT(make_error_text("linear", {{"alpha", -1.0}}, ctx),
             Contains("'alpha'") && Contains("-1"));
  CHECK_THAT(make_error_text("linear", {{"l1_ratio", 1.5}}, ctx),
             Contains("'l1_ratio'") && Contains("1.5"));
  CHECK_THAT(make_error_text("linear", {{"alpha", std::string{"big"}}}, ctx),
             Contains("'alpha'") && Contains("not a number"));
  CHECK_THAT(make_error_text("linear", {{"alpah", 0.1}}, ctx),
             Contains("unknown parameter 'alpah'") && Contains("alpha"));
  auto e = make("linear", {}, ctx);
  CHECK(!e->predict(d.test)); // not trained yet
  fit(*e, d.train, 2);
  auto narrow = tabular::take_rows(d.test, {0, 1});
  narrow.cols -= 1;
  narrow.values.resize(narrow.rows * narrow.cols);
  auto p = e->predict(narrow);
  REQUIRE(!p);
  CHECK_THAT(describe(p.error()), Contains("columns"));
  auto f = find_estimator_family("linear");
  REQUIRE(f);
  std::vector<uint8_t> junk{1, 2, 3};
  CHECK(!(*f)->load(junk, ctx));
  auto bytes = e->save();
  REQUIRE(bytes);
  auto other = ctx;
  other.task = tabular::task_kind::regression;
  other.classes = 0;
  auto wrong = (*f)->load(*bytes, other);
  REQUIRE(!wrong);
  CHECK_THAT(describe(wrong.error()), Contains("binary"));
  CHECK(is(wrong.error(), models::errc::bad_model));
  // bytes of a format version this troupe does not read: named
  {
    auto words =
        kj::heapArray<capnp::word>(bytes->size() / sizeof(capnp::word));
    std::memcpy(words.begin(), bytes->data(), bytes->size());
    capnp::FlatArrayMessageReader reader{words};
    capnp::MallocMessageBuilder builder;
    builder.setRoot(reader.getRoot<schema::LinearEstimator>());
    builder.getRoot<schema::LinearEstimator>().setVersion(2);
    auto later = checkpoint_bytes(builder);
    auto refused = (*f)->load(later, ctx);
    REQUIRE(!refused);
    CHECK_THAT(describe(refused.error()),
               Contains("version 2") && Contains("reads version 1"));
  }
  // a loaded model checks the matrix it trains on
  auto back = reloaded("linear", *e, ctx);
  auto bad_label = d.train;
  bad_label.labels[3] = 5;
  auto err = back->fit_step(bad_label);
  REQUIRE(err);
  CHECK_THAT(describe(err), Contains("training row 3"));
  auto fewer = tabular::take_rows(d.train, {0, 1, 2});
  fewer.cols -= 1;
  fewer.values.resize(fewer.rows * fewer.cols);
  err = back->fit_step(fewer);
  REQUIRE(err);
  CHECK_THAT(describe(err), Contains("columns"));
  CHECK(back->steps() == 2);
}
