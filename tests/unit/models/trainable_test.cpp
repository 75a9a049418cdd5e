#include <catch2/catch.hpp>

#include <cmath>

#include "actors/models/families.hpp"
#include "actors/models/trainable.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using namespace troupe::models;
using namespace troupe::tabular;

namespace {

const std::string datasets = TROUPE_SOURCE_DIR "/tests/data/";

dataset load(const std::string& file, const std::string& target) {
  auto t = read_csv(datasets + file);
  REQUIRE(t);
  auto d = make_dataset(*t, target);
  REQUIRE(d);
  return std::move(*d);
}

config small_config() {
  return {{"eta", 0.2}, {"max_depth", int64_t{3}}, {"subsample", 0.9}};
}

} // namespace

TEST_CASE("an XGBoost trial learns pima diabetes and reports each step",
          "[trainable]") {
  auto data = load("pima_diabetes.csv", "diabetes");
  train_context ctx{&data, "auc", {0, 0.25, 1}, 1};
  auto t = make_xgboost_trainable(ctx, small_config());
  REQUIRE(t);
  std::vector<std::pair<uint64_t, double>> reports;
  auto auc = (*t)->train_to(30, 5, [&](uint64_t s, double v) {
    reports.emplace_back(s, v);
    return true;
  });
  REQUIRE(auc);
  CHECK(*auc > 0.75);
  CHECK((*t)->steps() == 30);
  REQUIRE(reports.size() == 6);
  CHECK(reports.front().first == 5);
  CHECK(reports.back().first == 30);
  CHECK(reports.back().second == *auc);
}

TEST_CASE("stopping from the report callback ends training at that step",
          "[trainable]") {
  auto data = load("pima_diabetes.csv", "diabetes");
  train_context ctx{&data, "logloss", {0, 0.25, 1}, 1};
  auto t = make_xgboost_trainable(ctx, small_config());
  REQUIRE(t);
  auto r = (*t)->train_to(100, 1, [](uint64_t s, double) { return s < 7; });
  REQUIRE(r);
  CHECK((*t)->steps() == 7);
}

TEST_CASE("a checkpointed trial continues exactly where it stopped",
          "[trainable]") {
  auto data = load("boston_housing.csv", "cmedv");
  train_context ctx{&data, "rmse", {3, 0.25, 2}, 1};
  // Row/column subsampling draws from XGBoost's process-wide RNG, which a
  // checkpoint does not hold: exactness is checked without it.
  auto small_config = [] {
    return config{{"eta", 0.2}, {"max_depth", int64_t{3}}};
  };
  auto straight = make_xgboost_trainable(ctx, small_config());
  REQUIRE(straight);
  auto full = (*straight)->train_to(20, 20, {});
  REQUIRE(full);
  auto first = make_xgboost_trainable(ctx, small_config());
  REQUIRE(first);
  REQUIRE((*first)->train_to(8, 8, {}));
  auto cp = (*first)->checkpoint();
  REQUIRE(cp);
  auto second = make_xgboost_trainable(ctx, small_config());
  REQUIRE(second);
  REQUIRE((*second)->restore(*cp));
  CHECK((*second)->steps() == 8);
  auto resumed = (*second)->train_to(20, 20, {});
  REQUIRE(resumed);
  CHECK(*resumed == Approx(*full).epsilon(1e-9));
  CHECK(*full < 6.0); // RMSE in $1000s on a target ranging 5..50
  std::vector<uint8_t> junk(cp->begin(), cp->begin() + 20);
  auto bad = (*second)->restore(junk);
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()), Catch::Contains("truncated"));
}

TEST_CASE("multiclass shuttle trains with k-fold accuracy", "[trainable]") {
  auto data = load("shuttle.csv", "Class");
  REQUIRE(data.task == task_kind::multiclass);
  train_context ctx{&data, "accuracy", {2, 0.25, 3}, 1};
  auto t = make_xgboost_trainable(ctx, {{"max_depth", int64_t{4}}});
  REQUIRE(t);
  auto acc = (*t)->train_to(5, 5, {});
  REQUIRE(acc);
  CHECK(*acc > 0.99);
}

TEST_CASE("bad parameters and metrics are refused by name", "[trainable]") {
  auto data = load("pima_diabetes.csv", "diabetes");
  train_context ctx{&data, "auc", {}, 1};
  auto unknown = make_xgboost_trainable(ctx, {{"learning_rat", 0.1}});
  REQUIRE_FALSE(unknown);
  CHECK_THAT(describe(unknown.error()), Catch::Contains("'learning_rat'"));
  train_context wrong_metric{&data, "r2", {}, 1};
  auto m = make_xgboost_trainable(wrong_metric, {});
  REQUIRE_FALSE(m);
  CHECK_THAT(describe(m.error()), Catch::Contains("'r2'"));
  // XGBoost validates lazily: either building or the first step fails, with
  // its own message naming the parameter.
  auto bad_value = make_xgboost_trainable(ctx, {{"max_depth", int64_t{-3}}});
  std::string msg;
  if (!bad_value) {
    msg = describe(bad_value.error());
  } else {
    auto r = (*bad_value)->train_to(1, 1, {});
    REQUIRE_FALSE(r);
    msg = describe(r.error());
  }
  CHECK_THAT(msg, Catch::Contains("XGBoost") && Catch::Contains("max_depth"));
}

TEST_CASE("checkpoints are Cap'n Proto messages, and the old byte layouts are "
          "refused with an error",
          "[trainable]") {
  train_context ctx;
  config cfg{{"x", 0.3}, {"y", 0.7}};
  auto first = make_trainable("quadratic", ctx, cfg, 0);
  REQUIRE(first);
  REQUIRE((*first)->train_to(5, 5, {}));
  auto cp = (*first)->checkpoint();
  REQUIRE(cp);
  CHECK(cp->size() % 8 == 0);
  auto second = make_trainable("quadratic", ctx, cfg, 0);
  REQUIRE(second);
  REQUIRE((*second)->restore(*cp));
  CHECK((*second)->steps() == 5);
  // the 8-byte little-endian layout of older versions
  std::vector<uint8_t> old{5, 0, 0, 0, 0, 0, 0, 0};
  auto bad = (*second)->restore(old);
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::malformed_message));
  CHECK_THAT(describe(bad.error()), Catch::Contains("quadratic checkpoint"));
  CHECK((*second)->steps() == 5);
  // an XGBoost trainable refuses another family's checkpoint
  auto data = load("pima_diabetes.csv", "diabetes");
  train_context xctx{&data, "auc", {2, 0.25, 1}, 1};
  auto x = make_xgboost_trainable(xctx, {{"max_depth", int64_t{2}}});
  REQUIRE(x);
  auto wrong = (*x)->restore(*cp);
  REQUIRE_FALSE(wrong);
  CHECK(is(wrong.error(), errc::malformed_message));
  CHECK_THAT(describe(wrong.error()), Catch::Contains("XGBoost checkpoint"));
  std::vector<uint8_t> old_xgb(16 + 8, 0);
  old_xgb[0] = 3; // [steps][folds]... as older versions wrote it
  old_xgb[8] = 2;
  CHECK_FALSE((*x)->restore(old_xgb));
}

TEST_CASE("out-of-fold predictions: every row predicted by the fold that did "
          "not train on it, at any step trained so far",
          "[trainable][ensemble]") {
  auto data = load("pima_diabetes.csv", "diabetes");
  train_context ctx{&data, "logloss", {3, 0.25, 4}, 1};
  auto t = make_xgboost_trainable(ctx, small_config());
  REQUIRE(t);
  REQUIRE((*t)->train_to(40, 40, nullptr));
  auto at20 = (*t)->out_of_fold(20);
  auto at40 = (*t)->out_of_fold(40);
  REQUIRE(at20);
  REQUIRE(at40);
  REQUIRE(at20->size() == data.X.rows);
  for (auto v : *at20)
    REQUIRE((v > 0 && v < 1)); // k-fold: every row, a probability
  CHECK(*at20 != *at40);
  // a model trained only 20 steps gives the step-20 predictions
  auto fresh = make_xgboost_trainable(ctx, small_config());
  REQUIRE(fresh);
  REQUIRE((*fresh)->train_to(20, 20, nullptr));
  auto same = (*fresh)->out_of_fold(20);
  REQUIRE(same);
  CHECK(*same == *at20);
  // their logloss is the reported metric's neighbourhood (the folds'
  // average of logloss equals the pooled one when folds are equal-sized)
  auto pooled = tabular::evaluate("logloss", data.X.labels, *at40, 2);
  REQUIRE(pooled);
  auto reported = (*t)->train_to(40, 40, nullptr); // nothing left to train
  REQUIRE(reported);
  CHECK(*pooled == Approx(*reported).epsilon(0.02));
  // a step it never trained is refused
  CHECK_FALSE((*t)->out_of_fold(41));
  CHECK_FALSE((*t)->out_of_fold(0));

  // a holdout predicts its validation rows only
  train_context holdout{&data, "logloss", {0, 0.25, 4}, 1};
  auto h = make_xgboost_trainable(holdout, small_config());
  REQUIRE(h);
  REQUIRE((*h)->train_to(10, 10, nullptr));
  auto oof = (*h)->out_of_fold(10);
  REQUIRE(oof);
  size_t predicted = 0;
  for (auto v : *oof)
    predicted += std::isfinite(v) ? 1 : 0;
  CHECK(predicted == Approx(data.X.rows * 0.25).margin(3));

  // a multiclass model gives one probability per class and row
  auto shuttle = load("shuttle.csv", "Class");
  train_context mc{&shuttle, "logloss", {3, 0.25, 1}, 1};
  auto m =
      make_xgboost_trainable(mc, {{"eta", 0.3}, {"max_depth", int64_t{2}}});
  REQUIRE(m);
  REQUIRE((*m)->train_to(2, 2, nullptr));
  auto p = (*m)->out_of_fold(2);
  REQUIRE(p);
  CHECK(p->size() == shuttle.X.rows * shuttle.classes.size());
}

TEST_CASE("an XGBoost trial measures its model's size and prediction latency "
          "at a step, and other families name what they cannot measure",
          "[trainable][pareto]") {
  auto data = load("pima_diabetes.csv", "diabetes");
  train_context ctx{&data, "auc", {3, 0.25, 1}, 1};
  auto t = make_xgboost_trainable(ctx, small_config());
  REQUIRE(t);
  REQUIRE((*t)->train_to(20, 20, {}));
  auto small = (*t)->objective("model-size", 2);
  auto full = (*t)->objective("model-size", 20);
  REQUIRE(small);
  REQUIRE(full);
  CHECK(*small > 0);
  CHECK(*full > 2 * *small); // ten times the trees
  // a model trained to step 2 has the size the full one had at step 2
  auto early = make_xgboost_trainable(ctx, small_config());
  REQUIRE(early);
  REQUIRE((*early)->train_to(2, 2, {}));
  auto early_size = (*early)->objective("model-size", 2);
  REQUIRE(early_size);
  CHECK(*early_size == Approx(*small).epsilon(0.05));
  auto latency = (*t)->objective("latency", 20);
  REQUIRE(latency);
  CHECK(*latency > 0);
  CHECK(*latency < 1e5); // microseconds per row
  // past the steps trained, or a name it does not know: errors that say so
  auto ahead = (*t)->objective("latency", 21);
  REQUIRE_FALSE(ahead);
  CHECK(describe(ahead.error()).find("step 21") != std::string::npos);
  auto unknown = (*t)->objective("flops", 20);
  REQUIRE_FALSE(unknown);
  CHECK(describe(unknown.error()).find("'flops'") != std::string::npos);
  auto q = make_trainable("quadratic", ctx, config{{"x", 0.5}}, 0);
  REQUIRE(q);
  REQUIRE((*q)->train_to(3, 3, {}));
  auto none = (*q)->objective("latency", 3);
  REQUIRE_FALSE(none);
  CHECK(describe(none.error()).find("cannot measure the objective 'latency'") !=
        std::string::npos);
}
