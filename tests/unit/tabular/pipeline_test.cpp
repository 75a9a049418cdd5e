// The feature pipeline as a whole: its options, exact replay (JSON round
// trip, one row at a time), errors that name the bad field, and target
// encoding that cannot leak a row's own label.

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "actors/tabular/metrics.hpp"
#include "actors/tabular/pipeline.hpp"
#include "actors/tabular/pipeline_steps.hpp"
#include "runtime/errors.hpp"
#include "tests/unit/tabular/pipeline_data.hpp"

using namespace troupe;
using namespace troupe::tabular;
using namespace troupe::tabular::test;

namespace {

/// 300 rows: two numeric columns (one skewed, 10 % missing), one
/// categorical column of 6 levels (5 % missing), a binary label that
/// depends on all three.
struct mixed_data {
  preprocessor prep =
      make_prep({numeric_column("a"), numeric_column("b"),
                 categorical_column("c", {"p", "q", "r", "s", "t", "u"})},
                task_kind::binary);
  matrix train;
  matrix test;

  mixed_data() {
    std::mt19937_64 rng{11};
    std::normal_distribution<float> normal;
    auto make = [&](size_t rows) {
      std::vector<std::vector<float>> cells;
      std::vector<float> y;
      for (size_t r = 0; r < rows; ++r) {
        float a = normal(rng);
        float b = std::exp(normal(rng)); // skewed
        float c = static_cast<float>(rng() % 6);
        float score = a + 0.3f * b + (c == 2 ? 1.0f : 0.0f) + normal(rng);
        y.push_back(score > 0.8f ? 1.0f : 0.0f);
        if (rng() % 10 == 0) a = NAN;
        if (rng() % 20 == 0) c = NAN;
        cells.push_back({a, b, c});
      }
      return make_matrix(cells, y);
    };
    train = make(300);
    test = make(100);
    // A category unseen in training: code 5 appears only in the test rows.
    for (size_t r = 0; r < train.rows; ++r)
      if (train.values[r * 3 + 2] == 5) train.values[r * 3 + 2] = 4;
  }
};

std::vector<pipeline_options> option_grid() {
  std::vector<pipeline_options> out;
  for (auto* impute : {"none", "mean", "median", "most_frequent"})
    for (auto* enc : {"native", "ordinal", "onehot", "target"})
      for (auto* scaling : {"none", "standard", "minmax", "quantile"}) {
        pipeline_options o;
        o.impute = impute;
        o.encoding = enc;
        o.scaling = scaling;
        o.transform = out.size() % 2 == 0 ? "log" : "none";
        o.crosses = static_cast<uint32_t>(out.size() % 3);
        o.select = out.size() % 4 == 0 ? 0.6 : 1.0;
        out.push_back(o);
      }
  return out;
}

std::string error_of(const caf::error& err) {
  return describe(err);
}

} // namespace

TEST_CASE("pipeline options come from the fe.* keys of a configuration",
          "[pipeline]") {
  auto o = pipeline_options::from_config({});
  REQUIRE(o);
  CHECK(o->impute == "none");
  CHECK(o->encoding == "native");
  CHECK(o->scaling == "none");
  CHECK(o->transform == "none");
  CHECK(o->crosses == 0);
  CHECK(o->select == 1.0);
  o = pipeline_options::from_config({{"fe.impute", std::string{"median"}},
                                     {"fe.encoding", std::string{"target"}},
                                     {"fe.scaling", std::string{"quantile"}},
                                     {"fe.transform", std::string{"log"}},
                                     {"fe.crosses", int64_t{3}},
                                     {"fe.select", 0.5},
                                     {"eta", 0.1}});
  REQUIRE(o);
  CHECK(o->impute == "median");
  CHECK(o->encoding == "target");
  CHECK(o->scaling == "quantile");
  CHECK(o->transform == "log");
  CHECK(o->crosses == 3);
  CHECK(o->select == 0.5);
}

TEST_CASE("a wrong pipeline option names the key, the value and the allowed "
          "ones",
          "[pipeline]") {
  auto bad = [](const std::string& key, param_value v) {
    auto o = pipeline_options::from_config({{key, v}});
    REQUIRE_FALSE(o);
    CHECK(is(o.error(), errc::invalid_argument));
    return error_of(o.error());
  };
  auto msg = bad("fe.impute", std::string{"zero"});
  CHECK_THAT(msg, Catch::Contains("fe.impute") && Catch::Contains("'zero'") &&
                      Catch::Contains("none, mean, median, most_frequent"));
  msg = bad("fe.encoding", std::string{"hash"});
  CHECK_THAT(msg, Catch::Contains("fe.encoding") && Catch::Contains("'hash'") &&
                      Catch::Contains("native, ordinal, onehot, target"));
  msg = bad("fe.scaling", int64_t{1});
  CHECK_THAT(msg, Catch::Contains("fe.scaling") && Catch::Contains("'1'") &&
                      Catch::Contains("none, standard, minmax, quantile"));
  msg = bad("fe.transform", std::string{"sqrt"});
  CHECK_THAT(msg, Catch::Contains("fe.transform") &&
                      Catch::Contains("'sqrt'") &&
                      Catch::Contains("none, log"));
  msg = bad("fe.crosses", int64_t{9});
  CHECK_THAT(msg, Catch::Contains("fe.crosses") && Catch::Contains("'9'") &&
                      Catch::Contains("0..8"));
  msg = bad("fe.crosses", 2.5);
  CHECK_THAT(msg, Catch::Contains("fe.crosses") && Catch::Contains("'2.5'"));
  msg = bad("fe.select", 0.0);
  CHECK_THAT(msg, Catch::Contains("fe.select") && Catch::Contains("'0'") &&
                      Catch::Contains("(0, 1]"));
  msg = bad("fe.select", 1.5);
  CHECK_THAT(msg, Catch::Contains("fe.select") && Catch::Contains("'1.5'"));
  // Options made by hand are checked when fitting.
  mixed_data d;
  pipeline_options o;
  o.scaling = "robust";
  auto fitted = feature_pipeline::fit_transform(d.train, d.prep,
                                                task_kind::binary, 2, o, 1);
  REQUIRE_FALSE(fitted);
  CHECK_THAT(error_of(fitted.error()),
             Catch::Contains("fe.scaling") && Catch::Contains("'robust'"));
}

TEST_CASE("a saved pipeline replays bit for bit, one row at a time or in a "
          "batch",
          "[pipeline]") {
  mixed_data d;
  for (auto& o : option_grid()) {
    CAPTURE(o.impute, o.encoding, o.scaling, o.transform, o.crosses, o.select);
    auto fitted = feature_pipeline::fit_transform(d.train, d.prep,
                                                  task_kind::binary, 2, o, 3);
    REQUIRE(fitted);
    auto& [p, train_out] = *fitted;
    CHECK(p.feature_types().size() == train_out.cols);
    CHECK(train_out.labels == d.train.labels);
    auto batch = p.transform(d.test);
    REQUIRE(batch);
    CHECK(batch->cols == train_out.cols);
    CHECK(batch->feature_names == train_out.feature_names);
    CHECK(batch->labels == d.test.labels);
    // JSON text and back.
    auto text = p.to_json().dump();
    auto loaded = feature_pipeline::from_json(nlohmann::json::parse(text));
    REQUIRE(loaded);
    CHECK(loaded->to_json().dump() == text);
    CHECK(loaded->feature_types() == p.feature_types());
    CHECK(loaded->feature_names() == train_out.feature_names);
    CHECK(loaded->identity() == p.identity());
    auto replayed = loaded->transform(d.test);
    REQUIRE(replayed);
    CHECK(same_bits(replayed->values, batch->values));
    // One row at a time, as serving sends them.
    std::vector<float> single;
    for (size_t r = 0; r < d.test.rows; ++r) {
      matrix row = take_rows(d.test, {r});
      auto out = loaded->transform(row);
      REQUIRE(out);
      REQUIRE(out->rows == 1);
      single.insert(single.end(), out->values.begin(), out->values.end());
    }
    CHECK(same_bits(single, batch->values));
    // And without a matrix, as a servable calls it.
    REQUIRE(p.output_cols() == batch->cols);
    std::vector<float> row_out(p.output_cols());
    std::vector<float> direct;
    for (size_t r = 0; r < d.test.rows; ++r) {
      REQUIRE_FALSE(
          p.transform_into(d.test.row(r), 1, d.test.cols, row_out.data()));
      direct.insert(direct.end(), row_out.begin(), row_out.end());
    }
    CHECK(same_bits(direct, batch->values));
    // Training rows replay as fitted, except out-of-fold target encodings.
    auto again = p.transform(d.train);
    REQUIRE(again);
    if (o.encoding != "target")
      CHECK(same_bits(again->values, train_out.values));
    // No NaN is left once imputed, unless a categorical column stays native.
    if (o.impute != "none" && o.encoding != "native")
      for (auto v : batch->values)
        REQUIRE_FALSE(std::isnan(v));
  }
}

TEST_CASE("the identity pipeline passes matrices through and saves as such",
          "[pipeline]") {
  feature_pipeline p;
  CHECK(p.identity());
  mixed_data d;
  auto out = p.transform(d.test);
  REQUIRE(out);
  CHECK(same_bits(out->values, d.test.values));
  auto loaded = feature_pipeline::from_json(p.to_json());
  REQUIRE(loaded);
  CHECK(loaded->identity());
  CHECK(loaded->to_json() == p.to_json());
}

TEST_CASE("a pipeline refuses a matrix of another width and training rows "
          "without labels",
          "[pipeline]") {
  mixed_data d;
  pipeline_options o;
  o.impute = "mean";
  auto fitted = feature_pipeline::fit_transform(d.train, d.prep,
                                                task_kind::binary, 2, o, 1);
  REQUIRE(fitted);
  auto narrow = make_matrix({{1, 2}});
  auto out = fitted->first.transform(narrow);
  REQUIRE_FALSE(out);
  CHECK_THAT(error_of(out.error()),
             Catch::Contains("2 columns") && Catch::Contains("fitted on 3"));
  auto unlabeled = d.train;
  unlabeled.labels.clear();
  auto refit = feature_pipeline::fit_transform(unlabeled, d.prep,
                                               task_kind::binary, 2, o, 1);
  REQUIRE_FALSE(refit);
  CHECK_THAT(error_of(refit.error()), Catch::Contains("0 labels"));
}

TEST_CASE("pipeline JSON that does not check out names the bad field",
          "[pipeline]") {
  mixed_data d;
  pipeline_options o;
  o.impute = "median";
  o.encoding = "target";
  o.scaling = "quantile";
  o.crosses = 2;
  auto fitted = feature_pipeline::fit_transform(d.train, d.prep,
                                                task_kind::binary, 2, o, 1);
  REQUIRE(fitted);
  auto good = fitted->first.to_json();
  REQUIRE(good["crosses"].size() == 2);
  auto broken = [&](auto edit) {
    auto j = good;
    edit(j);
    auto p = feature_pipeline::from_json(j);
    REQUIRE_FALSE(p);
    return error_of(p.error());
  };
  CHECK_THAT(broken([](auto& j) { j["format"] = "troupe.model"; }),
             Catch::Contains("not a troupe.pipeline"));
  CHECK_THAT(broken([](auto& j) { j["version"] = 2; }),
             Catch::Contains("unsupported version 2"));
  CHECK_THAT(broken([](auto& j) { j.erase("kept"); }),
             Catch::Contains("kept: is missing"));
  CHECK_THAT(broken([](auto& j) {
               j["numeric"][1]["scaler"]["knots"] = {3, 1};
             }),
             Catch::Contains("numeric[1].scaler.knots: are not ascending"));
  CHECK_THAT(broken([](auto& j) { j["numeric"][0]["fill"] = "zero"; }),
             Catch::Contains("numeric[0].fill: is not a number"));
  CHECK_THAT(broken([](auto& j) { j["numeric"][0]["column"] = 2; }),
             Catch::Contains("numeric[0].column: is not a numeric input"));
  CHECK_THAT(broken([](auto& j) { j["categorical"][0]["table"].erase(0); }),
             Catch::Contains("categorical[0].table: holds"));
  CHECK_THAT(broken([](auto& j) { j["categorical"][0]["encoding"] = "hash"; }),
             Catch::Contains("categorical[0].encoding: 'hash'"));
  CHECK_THAT(broken([](auto& j) { j["crosses"][1]["op"] = "+"; }),
             Catch::Contains("crosses[1].op: '+'"));
  CHECK_THAT(broken([](auto& j) { j["crosses"][1]["eps"] = -1; }),
             Catch::Contains("crosses[1].eps: is not positive"));
  CHECK_THAT(broken([](auto& j) { j["kept"].push_back(99); }),
             Catch::Contains("kept[") && Catch::Contains("out of range"));
  CHECK_THAT(broken([](auto& j) { j["columns"] = 4; }),
             Catch::Contains("columns: 4 columns, but the steps make"));
  CHECK_THAT(broken([](auto& j) { j["options"]["encoding"] = "hash"; }),
             Catch::Contains("options") && Catch::Contains("fe.encoding"));
  CHECK_THAT(broken([](auto& j) { j["inputs"][2]["kind"] = "text"; }),
             Catch::Contains("inputs[2].kind: 'text'"));
  CHECK_THAT(broken([](auto& j) { j["names"].erase(0); }),
             Catch::Contains("names:"));
  CHECK_THAT(broken([](auto& j) { j["classes"] = 3; }),
             Catch::Contains("classes: 3 classes for a binary task"));
}

namespace {

/// The in-fold target encoding a careless pipeline would compute: the
/// smoothed mean label per level over all training rows, the row's own
/// label included.
std::vector<float> in_fold_encoding(const noise_data& d) {
  std::vector<double> sum(d.levels, 0.0);
  std::vector<double> n(d.levels, 0.0);
  double total = 0;
  for (size_t r = 0; r < d.m.rows; ++r) {
    auto level = static_cast<size_t>(d.m.values[r]);
    sum[level] += d.m.labels[r];
    n[level] += 1;
    total += d.m.labels[r];
  }
  double prior = total / static_cast<double>(d.m.rows);
  std::vector<float> out;
  for (size_t r = 0; r < d.m.rows; ++r) {
    auto level = static_cast<size_t>(d.m.values[r]);
    out.push_back(
        static_cast<float>((sum[level] + 10 * prior) / (n[level] + 10)));
  }
  return out;
}

} // namespace

TEST_CASE("target encoding out of fold does not make a column of pure noise "
          "look informative",
          "[pipeline][leakage]") {
  // 1,000 levels over 2,000 training rows (2 rows per level on average): a
  // level's mean label is mostly the row's own label when computed in fold.
  for (uint64_t seed : {1, 2, 3}) {
    CAPTURE(seed);
    noise_data train{1000, 2000, seed};
    noise_data held_out{1000, 1000, seed + 100};
    pipeline_options o;
    o.encoding = "target";
    auto fitted = feature_pipeline::fit_transform(
        train.m, train.prep, task_kind::binary, 2, o, seed);
    REQUIRE(fitted);
    auto& [p, encoded] = *fitted;
    REQUIRE(encoded.cols == 1);
    auto train_auc = auc(train.m.labels, encoded.values);
    REQUIRE(train_auc);
    CHECK(std::fabs(*train_auc - 0.5) < 0.06);
    auto test = p.transform(held_out.m);
    REQUIRE(test);
    auto test_auc = auc(held_out.m.labels, test->values);
    REQUIRE(test_auc);
    CHECK(std::fabs(*test_auc - 0.5) < 0.06);
    // The test can fail: the same statistics in fold leak the label.
    auto leaky = in_fold_encoding(train);
    auto leaky_auc = auc(train.m.labels, leaky);
    REQUIRE(leaky_auc);
    CHECK(*leaky_auc > 0.8);
    // And they are the statistics the pipeline fitted for new rows.
    auto replay = p.transform(train.m);
    REQUIRE(replay);
    CHECK(same_bits(replay->values, leaky));
  }
}

TEST_CASE("target encoding out of fold does not leak regression or "
          "multiclass labels either",
          "[pipeline][leakage]") {
  noise_data base{1000, 2000, 21};
  std::mt19937_64 rng{22};
  SECTION("regression: the encoding does not correlate with the label") {
    std::normal_distribution<float> normal;
    auto m = base.m;
    for (auto& y : m.labels)
      y = normal(rng);
    auto prep = make_prep(
        {categorical_column("noise", base.prep.features()[0].categories)},
        task_kind::regression);
    pipeline_options o;
    o.encoding = "target";
    auto fitted = feature_pipeline::fit_transform(
        m, prep, task_kind::regression, 0, o, 4);
    REQUIRE(fitted);
    auto r2 = [&](const std::vector<float>& x) {
      std::vector<double> xd(x.begin(), x.end());
      return fe::information(xd, m.labels, task_kind::regression, 0);
    };
    CHECK(r2(fitted->second.values) < 0.01);
    // In fold, the level means are mostly the row's own label.
    auto replay = fitted->first.transform(m);
    REQUIRE(replay);
    CHECK(r2(replay->values) > 0.25);
  }
  SECTION("multiclass: no class column tells the class") {
    auto m = base.m;
    for (auto& y : m.labels)
      y = static_cast<float>(rng() % 3);
    auto prep = make_prep(
        {categorical_column("noise", base.prep.features()[0].categories)},
        task_kind::multiclass, {"a", "b", "c"});
    pipeline_options o;
    o.encoding = "target";
    auto fitted = feature_pipeline::fit_transform(
        m, prep, task_kind::multiclass, 3, o, 4);
    REQUIRE(fitted);
    auto& out = fitted->second;
    REQUIRE(out.cols == 3);
    auto replay = fitted->first.transform(m);
    REQUIRE(replay);
    for (size_t k = 0; k < 3; ++k) {
      CAPTURE(k);
      auto eta2 = [&](const matrix& x) {
        std::vector<double> col;
        for (size_t r = 0; r < x.rows; ++r)
          col.push_back(x.at(r, k));
        return fe::information(col, m.labels, task_kind::multiclass, 3);
      };
      CHECK(eta2(out) < 0.02);
      CHECK(eta2(*replay) > 0.1); // in fold it would
    }
  }
}
