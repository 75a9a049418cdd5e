#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "actors/models/builtin_estimators.hpp"
#include "tests/unit/models/estimator_data.hpp"

using namespace troupe;
using namespace troupe::models;
using namespace troupe::models::test;
using Catch::Matchers::Contains;

namespace {

tabular::config knn_config(int64_t k, const std::string& weights,
                           const std::string& metric) {
  return {{"n_neighbors", k}, {"weights", weights}, {"metric", metric}};
}

/// `rows` x `cols` uniform values in [0, 4) rounded to quarters (so that
/// distances tie), labels in 0..2 from the first two columns, or a value.
tabular::matrix grid(size_t rows, size_t cols, uint32_t seed, bool values) {
  std::mt19937 gen{seed};
  tabular::matrix m;
  m.rows = rows;
  m.cols = cols;
  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < cols; ++j)
      m.values.push_back(static_cast<float>(gen() % 16) / 4.0f);
    auto s = m.values[i * cols] + m.values[i * cols + 1];
    m.labels.push_back(values ? s
                              : static_cast<float>(static_cast<int>(s) % 3));
  }
  return m;
}

/// What k-NN predicts for row `q` of `m`, straight from its definition.
std::vector<double> reference(const tabular::matrix& train,
                              const tabular::matrix& m, size_t q, size_t k,
                              bool by_distance, bool euclidean,
                              size_t classes) {
  std::vector<std::pair<double, size_t>> all;
  for (size_t i = 0; i < train.rows; ++i) {
    double d = 0;
    for (size_t j = 0; j < train.cols; ++j) {
      double x = m.at(q, j) - train.at(i, j);
      d += euclidean ? x * x : std::abs(x);
    }
    all.emplace_back(euclidean ? std::sqrt(d) : d, i);
  }
  std::sort(all.begin(), all.end());
  k = std::min(k, train.rows); // more neighbours than rows: all of them
  all.resize(k);
  std::vector<double> w(k, 1.0);
  if (by_distance) {
    bool exact = all[0].first == 0;
    for (size_t i = 0; i < k; ++i)
      w[i] = exact ? (all[i].first == 0 ? 1.0 : 0.0) : 1.0 / all[i].first;
  }
  double total = 0;
  for (auto x : w)
    total += x;
  if (classes == 0) {
    double s = 0;
    for (size_t i = 0; i < k; ++i)
      s += w[i] * train.labels[all[i].second];
    return {s / total};
  }
  std::vector<double> share(classes, 0.0);
  for (size_t i = 0; i < k; ++i)
    share[static_cast<size_t>(train.labels[all[i].second])] += w[i];
  for (auto& x : share)
    x = (x / total + 1e-3) / (1 + 1e-3 * static_cast<double>(classes));
  return share;
}

} // namespace

TEST_CASE("k-NN finds exactly the neighbours its definition names",
          "[estimator][knn]") {
  // 700 training rows: two whole blocks of 256 and a partial one
  for (bool values : {false, true}) {
    auto train = grid(700, 5, 1, values);
    auto test = grid(90, 5, 2, values);
    estimator_context ctx;
    ctx.task = values ? tabular::task_kind::regression
                      : tabular::task_kind::multiclass;
    ctx.classes = values ? 0 : 3;
    ctx.threads = 3;
    for (auto weights : {"uniform", "distance"})
      for (auto metric : {"manhattan", "euclidean"})
        for (int64_t k : {1, 4, 9, 1000}) {
          auto e = make("knn", knn_config(k, weights, metric), ctx);
          fit(*e, train, 1);
          auto p = scores(*e, test);
          auto width = score_width(ctx);
          REQUIRE(p.size() == test.rows * width);
          for (size_t q = 0; q < test.rows; ++q) {
            auto want =
                reference(train, test, q, static_cast<size_t>(k),
                          std::string{weights} == "distance",
                          std::string{metric} == "euclidean", ctx.classes);
            for (size_t c = 0; c < width; ++c)
              REQUIRE(p[q * width + c] ==
                      Approx(want[c]).epsilon(1e-5).margin(1e-6));
          }
        }
  }
}

TEST_CASE("k-NN learns pima, shuttle and boston", "[estimator][knn]") {
  SECTION("pima: probabilities of class 1 that rank well") {
    auto d = load_split("pima_diabetes.csv", "diabetes", true);
    auto e = make("knn", knn_config(15, "uniform", "euclidean"), context_of(d));
    fit(*e, d.train, 1);
    auto p = scores(*e, d.test);
    REQUIRE(p.size() == d.test.rows);
    for (auto x : p)
      REQUIRE((x > 0 && x < 1));
    CHECK(metric("auc", d.test, p, 2) > 0.76);
  }
  SECTION("shuttle: class probabilities that sum to 1") {
    auto d = load_split("shuttle.csv", "Class", true, 0.1);
    auto ctx = context_of(d);
    auto e = make("knn", knn_config(1, "uniform", "manhattan"), ctx);
    fit(*e, d.train, 1);
    auto p = scores(*e, d.test);
    REQUIRE(p.size() == d.test.rows * ctx.classes);
    for (size_t i = 0; i < d.test.rows; ++i) {
      double sum = 0;
      for (size_t c = 0; c < ctx.classes; ++c) {
        auto x = p[i * ctx.classes + c];
        REQUIRE((x > 0 && x < 1)); // smoothed: even k = 1 gives no 0
        sum += x;
      }
      REQUIRE(sum == Approx(1).epsilon(1e-5));
    }
    CHECK(metric("accuracy", d.test, p, ctx.classes) > 0.98);
    CHECK(metric("logloss", d.test, p, ctx.classes) < 0.2);
  }
  SECTION("boston: distance-weighted means") {
    auto d = load_split("boston_housing.csv", "cmedv", true);
    auto e = make("knn", knn_config(5, "distance", "manhattan"), context_of(d));
    fit(*e, d.train, 1);
    auto p = scores(*e, d.test);
    REQUIRE(p.size() == d.test.rows);
    CHECK(metric("rmse", d.test, p, 0) < 0.6 * label_sd(d.test));
  }
}

TEST_CASE("a k-NN row at distance 0 decides alone under distance weights",
          "[estimator][knn]") {
  auto d = load_split("boston_housing.csv", "cmedv", true);
  auto ctx = context_of(d);
  auto e = make("knn", knn_config(7, "distance", "euclidean"), ctx);
  fit(*e, d.train, 1);
  auto seen = tabular::take_rows(d.train, {0, 5, 9});
  auto p = scores(*e, seen);
  for (size_t i = 0; i < seen.rows; ++i)
    CHECK(p[i] == Approx(seen.labels[i]));
}

TEST_CASE("a saved k-NN model predicts as the original", "[estimator][knn]") {
  auto d = load_split("pima_diabetes.csv", "diabetes", true);
  auto ctx = context_of(d);
  auto e = make("knn", knn_config(9, "distance", "manhattan"), ctx);
  CHECK(e->steps() == 0);
  fit(*e, d.train, 1);
  CHECK(e->steps() == 1);
  auto back = reloaded("knn", *e, ctx);
  CHECK(back->steps() == 1);
  CHECK(same_bits(scores(*back, d.test), scores(*e, d.test)));
  CHECK(*back->save() == *e->save());
  // a second step keeps the same rows
  fit(*back, d.train, 1);
  CHECK(back->steps() == 2);
  CHECK(same_bits(scores(*back, d.test), scores(*e, d.test)));
  auto f = find_estimator_family("knn");
  REQUIRE(f);
  CHECK((*f)->max_steps == 1);
  CHECK(!(*f)->takes_nan);
}

TEST_CASE("the knn family names bad parameters and inputs",
          "[estimator][knn]") {
  auto d = load_split("pima_diabetes.csv", "diabetes", true);
  auto ctx = context_of(d);
  CHECK_THAT(make_error_text("knn", {{"n_neighbors", int64_t{0}}}, ctx),
             Contains("'n_neighbors'") && Contains("0"));
  CHECK_THAT(make_error_text("knn", {{"n_neighbors", 2.5}}, ctx),
             Contains("'n_neighbors'") && Contains("not an integer"));
  CHECK_THAT(
      make_error_text("knn", {{"weights", std::string{"gaussian"}}}, ctx),
      Contains("'weights'") && Contains("gaussian") &&
          Contains("uniform, distance"));
  CHECK_THAT(make_error_text("knn", {{"metric", std::string{"cosine"}}}, ctx),
             Contains("'metric'") && Contains("cosine"));
  CHECK_THAT(make_error_text("knn", {{"p", int64_t{2}}}, ctx),
             Contains("unknown parameter 'p'"));
  auto e = make("knn", {}, ctx);
  CHECK(!e->predict(d.test));
  auto unlabeled = d.train;
  unlabeled.labels.clear();
  auto err = e->fit_step(unlabeled);
  REQUIRE(err);
  CHECK_THAT(describe(err), Contains("labels"));
  fit(*e, d.train, 1);
  auto narrow = tabular::take_rows(d.test, {0});
  narrow.cols -= 1;
  narrow.values.resize(narrow.cols);
  CHECK(!e->predict(narrow));
}
