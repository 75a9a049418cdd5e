// A real model on target-encoded columns: XGBoost, 3-fold cross-validated,
// with the feature pipeline fitted on each fold's training rows only.

#include <catch2/catch.hpp>

#include <random>

#include "actors/models/xgb.hpp"
#include "actors/tabular/metrics.hpp"
#include "actors/tabular/pipeline.hpp"
#include "tests/unit/tabular/pipeline_data.hpp"

using namespace troupe;
using namespace troupe::tabular;

namespace {

/// Out-of-fold XGBoost predictions for every row of `m`: per fold, the
/// pipeline (target encoding) and a booster fitted on the other folds.
std::vector<float> cross_validated(const matrix& m, const preprocessor& prep,
                                   uint64_t seed) {
  auto folds = k_fold(m.labels, task_kind::binary, 3, seed);
  REQUIRE(folds);
  std::vector<float> pred(m.rows, 0.0f);
  for (auto& fold : *folds) {
    pipeline_options o;
    o.encoding = "target";
    auto fitted = feature_pipeline::fit_transform(
        take_rows(m, fold.train), prep, task_kind::binary, 2, o, seed);
    REQUIRE(fitted);
    auto& [pipeline, train] = *fitted;
    auto test = pipeline.transform(take_rows(m, fold.test));
    REQUIRE(test);
    auto dtrain = xgb::dmatrix::dense(train.values.data(), train.rows,
                                      train.cols, train.labels);
    REQUIRE(dtrain);
    auto dtest =
        xgb::dmatrix::dense(test->values.data(), test->rows, test->cols);
    REQUIRE(dtest);
    auto b = xgb::booster::create(&*dtrain);
    REQUIRE(b);
    for (auto [k, v] : {std::pair{"objective", "binary:logistic"},
                        {"nthread", "1"},
                        {"tree_method", "hist"},
                        {"max_depth", "4"},
                        {"eta", "0.1"},
                        {"seed", "1"}})
      REQUIRE(b->set_param(k, v));
    for (int i = 0; i < 40; ++i)
      REQUIRE(b->update(*dtrain));
    auto p = b->predict(*dtest);
    REQUIRE(p);
    REQUIRE(p->size() == fold.test.size());
    for (size_t i = 0; i < fold.test.size(); ++i)
      pred[fold.test[i]] = (*p)[i];
  }
  return pred;
}

} // namespace

TEST_CASE("XGBoost on a target-encoded column of pure noise scores at "
          "chance in cross-validation",
          "[pipeline][leakage][xgb]") {
  test::noise_data d{1000, 3000, 5};
  auto pred = cross_validated(d.m, d.prep, 5);
  auto score = auc(d.m.labels, pred);
  REQUIRE(score);
  CHECK(std::fabs(*score - 0.5) < 0.06);
  SECTION("the same procedure finds a categorical column that has signal") {
    // 100 levels of 30 rows each: odd levels are positive 80 % of the time,
    // even ones 20 % (an AUC of 0.8 at best).
    test::noise_data s{100, 3000, 6};
    std::mt19937_64 rng{9};
    auto signal = s.m;
    for (size_t r = 0; r < signal.rows; ++r) {
      auto level = static_cast<size_t>(signal.values[r]);
      double p = level % 2 == 1 ? 0.8 : 0.2;
      signal.labels[r] = static_cast<double>(rng() % 1000) < p * 1000 ? 1 : 0;
    }
    auto found = auc(signal.labels, cross_validated(signal, s.prep, 5));
    REQUIRE(found);
    CHECK(*found > 0.7);
  }
}
