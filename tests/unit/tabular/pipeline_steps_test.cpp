// Each step of the feature pipeline on small hand-made matrices, with the
// exact values it must give.

#include <catch2/catch.hpp>

#include <cmath>

#include "actors/tabular/pipeline.hpp"
#include "actors/tabular/pipeline_steps.hpp"
#include "tests/unit/tabular/pipeline_data.hpp"

using namespace troupe;
using namespace troupe::tabular;
using namespace troupe::tabular::test;

namespace {

const float nan_f = NAN;

pipeline_options options(std::string impute = "none",
                         std::string encoding = "native",
                         std::string scaling = "none") {
  pipeline_options o;
  o.impute = std::move(impute);
  o.encoding = std::move(encoding);
  o.scaling = std::move(scaling);
  return o;
}

std::pair<feature_pipeline, matrix>
fit(const matrix& m, const preprocessor& prep, const pipeline_options& o,
    task_kind task = task_kind::binary, size_t classes = 2) {
  auto r = feature_pipeline::fit_transform(m, prep, task, classes, o, 7);
  REQUIRE(r);
  return std::move(*r);
}

/// The pipeline's output for new rows.
matrix replay(const feature_pipeline& p,
              const std::vector<std::vector<float>>& rows) {
  auto out = p.transform(make_matrix(rows));
  REQUIRE(out);
  return std::move(*out);
}

} // namespace

TEST_CASE("numeric imputation fills missing cells with the training mean, "
          "median or most frequent value",
          "[pipeline]") {
  auto prep = make_prep({numeric_column("a")}, task_kind::binary);
  auto m = make_matrix({{1}, {2}, {2}, {nan_f}, {10}}, {0, 1, 0, 1, 1});
  auto filled = [&](const std::string& how) {
    auto [p, out] = fit(m, prep, options(how));
    CHECK(p.feature_types() == std::vector<std::string>{"q"});
    auto fresh = replay(p, {{nan_f}, {5}});
    CHECK(fresh.at(1, 0) == 5.0f);
    CHECK(out.at(3, 0) == fresh.at(0, 0));
    return fresh.at(0, 0);
  };
  CHECK(filled("mean") == 3.75f);
  CHECK(filled("median") == 2.0f);
  CHECK(filled("most_frequent") == 2.0f);
  auto [p, out] = fit(m, prep, options("none"));
  CHECK(p.identity());
  CHECK(std::isnan(out.at(3, 0)));
  CHECK(same_bits(out.values, m.values));
}

TEST_CASE("native keeps categorical codes and ordinal gives missing cells "
          "the code after the last level",
          "[pipeline]") {
  auto prep =
      make_prep({categorical_column("c", {"x", "y", "z"})}, task_kind::binary);
  auto m = make_matrix({{0}, {2}, {nan_f}, {1}, {0}}, {0, 1, 0, 1, 1});
  auto [native, n_out] = fit(m, prep, options("mean", "native"));
  CHECK(native.feature_types() == std::vector<std::string>{"c"});
  CHECK(same_bits(n_out.values, m.values));
  auto [ord, o_out] = fit(m, prep, options("mean", "ordinal"));
  CHECK(ord.feature_types() == std::vector<std::string>{"q"});
  CHECK(o_out.values == std::vector<float>{0, 2, 3, 1, 0});
  CHECK(replay(ord, {{nan_f}, {1}}).values == std::vector<float>{3, 1});
}

TEST_CASE("one-hot gives a column per training level, missing included, "
          "and all zeros to a level unseen in training",
          "[pipeline]") {
  auto prep =
      make_prep({numeric_column("a"), categorical_column("c", {"x", "y", "z"})},
                task_kind::binary);
  auto m = make_matrix({{1, 0}, {2, 2}, {3, nan_f}, {4, 2}, {5, 0}},
                       {0, 1, 0, 1, 1});
  auto [p, out] = fit(m, prep, options("none", "onehot"));
  REQUIRE(out.cols == 4);
  CHECK(out.feature_names ==
        std::vector<std::string>{"a", "c=x", "c=z", "c=<missing>"});
  CHECK(p.feature_types() == std::vector<std::string>(4, "q"));
  CHECK(out.values == std::vector<float>{1, 1, 0, 0, //
                                         2, 0, 1, 0, //
                                         3, 0, 0, 1, //
                                         4, 0, 1, 0, //
                                         5, 1, 0, 0});
  // y (code 1) never appeared in training.
  CHECK(replay(p, {{6, 1}}).values == std::vector<float>{6, 0, 0, 0});
  SECTION("a column with more levels than max_onehot_levels is ordinal") {
    auto o = options("none", "onehot");
    o.max_onehot_levels = 2;
    auto [q, q_out] = fit(m, prep, o);
    CHECK(q_out.cols == 2);
    CHECK(column_of(q_out, 1) == std::vector<float>{0, 2, 3, 2, 0});
  }
}

TEST_CASE("binary target encoding is the smoothed mean label per level, "
          "out of fold on training rows",
          "[pipeline]") {
  auto prep =
      make_prep({categorical_column("c", {"x", "y", "z"})}, task_kind::binary);
  std::vector<float> y{1, 1, 0, 0, 1, 1};
  auto m = make_matrix({{0}, {0}, {0}, {1}, {1}, {nan_f}}, y);
  auto o = options("none", "target");
  o.target_folds = 6; // one row per fold: each row sees all the others
  auto [p, out] = fit(m, prep, o);
  CHECK(p.feature_types() == std::vector<std::string>{"q"});
  CHECK(out.feature_names == std::vector<std::string>{"c"});
  // The full-training fit, for new rows: prior 4/6, weight 10.
  double prior = 4.0 / 6.0;
  auto fresh = replay(p, {{0}, {1}, {nan_f}, {2}});
  CHECK(fresh.values ==
        std::vector<float>{static_cast<float>((2 + 10 * prior) / (3 + 10)),
                           static_cast<float>((1 + 10 * prior) / (2 + 10)),
                           static_cast<float>((1 + 10 * prior) / (1 + 10)),
                           static_cast<float>(prior)});
  // Out of fold: row r's level is counted on the other five rows alone,
  // smoothed toward the prior of all training rows (the same for every
  // row, so it tells nothing about one).
  auto loo = [&](size_t r) {
    double sum = 0;
    double n = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      if (i == r) continue;
      bool same = std::isnan(m.values[i]) ? std::isnan(m.values[r])
                                          : m.values[i] == m.values[r];
      if (same) {
        sum += y[i];
        n += 1;
      }
    }
    return static_cast<float>(n > 0 ? (sum + 10 * prior) / (n + 10) : prior);
  };
  for (size_t r = 0; r < y.size(); ++r)
    CHECK(out.at(r, 0) == loo(r));
}

TEST_CASE("multiclass target encoding gives one smoothed class probability "
          "column per class",
          "[pipeline]") {
  auto prep = make_prep({categorical_column("c", {"x", "y"})},
                        task_kind::multiclass, {"a", "b", "c"});
  std::vector<float> y{0, 0, 1, 2, 2, 2};
  auto m = make_matrix({{0}, {0}, {0}, {1}, {1}, {1}}, y);
  auto [p, out] =
      fit(m, prep, options("none", "target"), task_kind::multiclass, 3);
  CHECK(out.feature_names == std::vector<std::string>{"c[a]", "c[b]", "c[c]"});
  CHECK(p.feature_types() == std::vector<std::string>(3, "q"));
  auto fresh = replay(p, {{0}, {1}});
  auto p_of = [](double count, double n, double prior) {
    return static_cast<float>((count + 10 * prior) / (n + 10));
  };
  double pa = 2.0 / 6.0;
  double pb = 1.0 / 6.0;
  double pc = 3.0 / 6.0;
  CHECK(fresh.values == std::vector<float>{p_of(2, 3, pa), p_of(1, 3, pb),
                                           p_of(0, 3, pc), p_of(0, 3, pa),
                                           p_of(0, 3, pb), p_of(3, 3, pc)});
}

TEST_CASE("standard, minmax and quantile scaling use the training values",
          "[pipeline]") {
  auto prep = make_prep({numeric_column("a")}, task_kind::binary);
  auto m = make_matrix({{1}, {2}, {3}, {4}}, {0, 1, 0, 1});
  auto scaled = [&](const std::string& how, std::vector<float> x) {
    auto [p, out] = fit(m, prep, options("none", "native", how));
    std::vector<std::vector<float>> rows;
    for (auto v : x)
      rows.push_back({v});
    return replay(p, rows).values;
  };
  double sd = std::sqrt(1.25);
  CHECK(scaled("standard", {1, 4}) ==
        std::vector<float>{static_cast<float>((1 - 2.5) / sd),
                           static_cast<float>((4 - 2.5) / sd)});
  CHECK(scaled("minmax", {1, 2.5f, 7}) == std::vector<float>{0, 0.5f, 2});
  // Four values: the knots are the values themselves.
  CHECK(scaled("quantile", {0, 1, 2, 2.5f, 4, 9}) ==
        std::vector<float>{0, 0, static_cast<float>(1.0 / 3), 0.5f, 1, 1});
  SECTION("a repeated knot maps to the middle of its run") {
    auto ties = make_matrix({{1}, {1}, {1}, {2}}, {0, 1, 0, 1});
    auto [p, out] = fit(ties, prep, options("none", "native", "quantile"));
    CHECK(out.values == std::vector<float>{static_cast<float>(1.0 / 3),
                                           static_cast<float>(1.0 / 3),
                                           static_cast<float>(1.0 / 3), 1});
    CHECK(replay(p, {{1.5f}}).values ==
          std::vector<float>{static_cast<float>(2.5 / 3)});
  }
  SECTION("a constant column is shifted, not divided by zero") {
    auto flat = make_matrix({{3}, {3}}, {0, 1});
    auto [p, out] = fit(flat, prep, options("none", "native", "standard"));
    CHECK(out.values == std::vector<float>{0, 0});
  }
}

TEST_CASE("the log transform applies to skewed numeric columns only",
          "[pipeline]") {
  auto prep = make_prep({numeric_column("skewed"), numeric_column("even")},
                        task_kind::binary);
  auto m =
      make_matrix({{0, 1}, {0, 2}, {0, 3}, {0, 4}, {100, 5}}, {0, 1, 0, 1, 1});
  auto o = options();
  o.transform = "log";
  auto [p, out] = fit(m, prep, o);
  CHECK_FALSE(p.identity());
  CHECK(out.at(4, 0) == static_cast<float>(std::log1p(100.0)));
  CHECK(out.at(4, 1) == 5.0f);
  CHECK(replay(p, {{-1, -1}}).values ==
        std::vector<float>{static_cast<float>(-std::log1p(1.0)), -1});
  SECTION("imputation comes after the log, in log space") {
    o.impute = "mean";
    auto with_nan = m;
    with_nan.values[2] = nan_f; // row 1 of skewed
    auto [q, q_out] = fit(with_nan, prep, o);
    CHECK(q_out.at(1, 0) == static_cast<float>(std::log1p(100.0) / 4));
  }
}

TEST_CASE("crosses multiply and divide the most informative numeric columns",
          "[pipeline]") {
  auto prep = make_prep(
      {numeric_column("noise"), numeric_column("x"), numeric_column("z")},
      task_kind::regression);
  // y = x + z / 2: x tells most, z less, noise nothing.
  std::vector<std::vector<float>> rows;
  std::vector<float> y;
  float noise[] = {1, -1, -1, 1, 1, -1, -1, 1};
  for (int i = 0; i < 8; ++i) {
    float x = static_cast<float>(i);
    float z = static_cast<float>(i % 2 == 0 ? 2 : -2);
    rows.push_back({noise[i], x, z});
    y.push_back(x + z / 2);
  }
  auto m = make_matrix(rows, y);
  auto o = options();
  o.crosses = 2;
  auto [p, out] = fit(m, prep, o, task_kind::regression, 0);
  REQUIRE(out.cols == 5);
  CHECK(out.feature_names ==
        std::vector<std::string>{"noise", "x", "z", "x*z", "x/z"});
  double eps = 1e-6 * 2; // 1e-6 times the mean |z|
  for (size_t r = 0; r < 8; ++r) {
    double x = rows[r][1];
    double z = rows[r][2];
    CHECK(out.at(r, 3) == static_cast<float>(x * z));
    CHECK(out.at(r, 4) == static_cast<float>(x / (std::fabs(z) + eps)));
  }
  SECTION("crossed columns are scaled like numeric ones") {
    o.scaling = "minmax";
    auto [q, q_out] = fit(m, prep, o, task_kind::regression, 0);
    auto prod = column_of(q_out, 3);
    CHECK(*std::min_element(prod.begin(), prod.end()) == 0.0f);
    CHECK(*std::max_element(prod.begin(), prod.end()) == 1.0f);
  }
  SECTION("missing cells stay missing in a cross when not imputed") {
    rows[3][1] = nan_f;
    auto [q, q_out] =
        fit(make_matrix(rows, y), prep, o, task_kind::regression, 0);
    REQUIRE(q_out.cols == 5);
    CHECK(std::isnan(q_out.at(3, 3)));
    CHECK(std::isnan(q_out.at(3, 4)));
  }
}

TEST_CASE("selection keeps the most informative share of the columns in "
          "their order",
          "[pipeline]") {
  auto prep = make_prep({numeric_column("n1"), numeric_column("good"),
                         numeric_column("n2"), numeric_column("better")},
                        task_kind::binary);
  std::vector<float> y{0, 0, 0, 0, 1, 1, 1, 1};
  std::vector<std::vector<float>> rows;
  float n1[] = {1, 2, 1, 2, 1, 2, 1, 2};
  float n2[] = {5, 5, 6, 6, 6, 6, 5, 5};
  float good[] = {0, 1, 0, 0, 1, 1, 0, 1};
  for (size_t i = 0; i < 8; ++i)
    rows.push_back({n1[i], good[i], n2[i], y[i] * 3 + 1});
  auto m = make_matrix(rows, y);
  auto o = options();
  o.select = 0.5;
  auto [p, out] = fit(m, prep, o);
  CHECK(out.feature_names == std::vector<std::string>{"good", "better"});
  CHECK(column_of(out, 1) == column_of(m, 3));
  CHECK(replay(p, {{9, 8, 7, 6}}).values == std::vector<float>{8, 6});
  o.select = 0.01; // at least one column
  auto [q, q_out] = fit(m, prep, o);
  CHECK(q_out.feature_names == std::vector<std::string>{"better"});
}

TEST_CASE("selection scores a native categorical column by its out-of-fold "
          "target encoding",
          "[pipeline]") {
  auto prep =
      make_prep({numeric_column("noise"), categorical_column("c", {"a", "b"})},
                task_kind::binary);
  std::vector<std::vector<float>> rows;
  std::vector<float> y;
  for (int i = 0; i < 40; ++i) {
    rows.push_back({static_cast<float>(i % 3), static_cast<float>(i % 2)});
    y.push_back(static_cast<float>(i % 2));
  }
  auto o = options();
  o.select = 0.5;
  auto [p, out] = fit(make_matrix(rows, y), prep, o);
  CHECK(out.feature_names == std::vector<std::string>{"c"});
  CHECK(p.feature_types() == std::vector<std::string>{"c"});
}

TEST_CASE("regression target encoding is the smoothed mean label per level",
          "[pipeline]") {
  auto prep =
      make_prep({categorical_column("c", {"x", "y"})}, task_kind::regression);
  auto m = make_matrix({{0}, {0}, {1}, {1}, {1}}, {1.5f, 2.5f, 10, 20, 30});
  auto [p, out] =
      fit(m, prep, options("none", "target"), task_kind::regression, 0);
  double prior = 64.0 / 5.0;
  CHECK(replay(p, {{0}, {1}, {nan_f}}).values ==
        std::vector<float>{static_cast<float>((4 + 10 * prior) / (2 + 10)),
                           static_cast<float>((60 + 10 * prior) / (3 + 10)),
                           static_cast<float>(prior)});
}

TEST_CASE("information about the label is r^2 or the correlation ratio, "
          "over the rows a column has",
          "[pipeline]") {
  std::vector<double> x{1, 2, 3, 4, fe::nan_d};
  std::vector<float> y{0, 0, 1, 1, 1};
  // Class means 1.5 and 3.5 around 2.5: 4 of the 5 squared deviations.
  CHECK(fe::information(x, y, task_kind::binary, 2) == Approx(0.8));
  CHECK(fe::information(x, y, task_kind::regression, 0) == Approx(0.8));
  std::vector<float> three{0, 1, 2, 0, 0};
  // Classes {1, 4}, {2}, {3}: means 2.5, 2, 3; SSB = 0 + 0.25 + 0.25.
  CHECK(fe::information(x, three, task_kind::multiclass, 3) == Approx(0.1));
  CHECK(fe::information({5, 5, 5}, {0, 1, 0}, task_kind::binary, 2) == 0);
  CHECK(fe::information({fe::nan_d, 1}, {0, 1}, task_kind::binary, 2) == 0);
}

TEST_CASE("multiclass selection keeps the column whose class means differ",
          "[pipeline]") {
  auto prep = make_prep({numeric_column("flat"), numeric_column("signal")},
                        task_kind::multiclass, {"a", "b", "c"});
  std::vector<std::vector<float>> rows;
  std::vector<float> y;
  for (int i = 0; i < 30; ++i) {
    float cls = static_cast<float>(i % 3);
    rows.push_back({static_cast<float>(i / 3 % 2), cls * 2 + (i % 2)});
    y.push_back(cls);
  }
  auto o = options();
  o.select = 0.5;
  auto [p, out] = fit(make_matrix(rows, y), prep, o, task_kind::multiclass, 3);
  CHECK(out.feature_names == std::vector<std::string>{"signal"});
}
