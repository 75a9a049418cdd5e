#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/models/saved_model.hpp"
#include "actors/models/servable.hpp"
#include "actors/models/xgb.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::models;
using namespace troupe::tabular;
using tabular::task_kind;
namespace fs = std::filesystem;

namespace {

/// Generated rows: x0 uniform in [0, 1], x1 uniform in [0, 1] with 5%
/// missing, color one of red/green/blue, and the target: binary "yes" when
/// x0 + 0.4 (red) + noise > 0.7, else "no"; multiclass "a"/"b"/"c" by the
/// third of x0 + 0.3 (blue) the row falls in; regression 3 x0 - x1 + 1
/// (red). `extra` adds categories the model never saw.
std::string make_csv(task_kind task, size_t rows, uint64_t seed,
                     bool extra = false) {
  std::mt19937_64 gen{seed};
  std::uniform_real_distribution<double> u{0, 1};
  std::vector<std::string> colors{"red", "green", "blue"};
  if (extra) colors.push_back("purple");
  std::ostringstream out;
  out << "x0,x1,color,target\n";
  for (size_t r = 0; r < rows; ++r) {
    double x0 = u(gen), x1 = u(gen);
    bool x1_missing = u(gen) < 0.05;
    auto color = colors[gen() % colors.size()];
    std::string target;
    switch (task) {
    case task_kind::binary:
      target =
          x0 + (color == "red" ? 0.4 : 0) + 0.2 * u(gen) > 0.7 ? "yes" : "no";
      break;
    case task_kind::multiclass: {
      auto s = (x0 + (color == "blue" ? 0.3 : 0)) / 1.3;
      target = s < 0.33 ? "a" : s < 0.66 ? "b" : "c";
      break;
    }
    case task_kind::regression:
      target = std::to_string(3 * x0 - (x1_missing ? 0 : x1) +
                              (color == "red" ? 1 : 0));
      break;
    }
    out << x0 << ',' << (x1_missing ? "" : std::to_string(x1)) << ',' << color
        << ',' << target << '\n';
  }
  return out.str();
}

tabular::table make_table(task_kind task, size_t rows, uint64_t seed,
                          bool extra = false) {
  auto t = tabular::parse_csv(make_csv(task, rows, seed, extra), "gen.csv");
  REQUIRE(t);
  return std::move(*t);
}

/// A model trained on generated data, saved as a troupe model directory
/// (DIR/model), as a bare booster file (DIR/model.ubj) and its spec
/// (DIR/spec.json).
struct trained {
  tabular::dataset data;
  std::string model_dir;
  std::string ubj;
  std::string spec;
};

trained train(const test::temp_dir& tmp, task_kind task, uint64_t rounds = 20,
              uint64_t seed = 1) {
  auto t = make_table(task, 300, seed);
  auto d = tabular::make_dataset(t, "target", task);
  REQUIRE(d);
  tabular::config cfg{{"eta", 0.3}, {"max_depth", int64_t{3}}};
  auto b = models::refit_xgboost(*d, cfg, rounds, 1, 7);
  REQUIRE(b);
  trained out{std::move(*d), tmp / "model", tmp / "model.ubj",
              tmp / "spec.json"};
  tabular::model_info info;
  info.metric = "auc";
  info.cv_score = 0.9;
  info.params = cfg;
  REQUIRE_FALSE(models::save_model(out.model_dir, *b, out.data.prep, info));
  REQUIRE(b->save(out.ubj));
  REQUIRE_FALSE(out.data.prep.save(out.spec));
  return out;
}

std::unique_ptr<servable> must_load(model_format f, const std::string& path,
                                    const std::string& spec = {},
                                    const load_options& opts = {}) {
  auto s = servable::load(f, path, spec, opts);
  if (!s) FAIL(describe(s.error()));
  return std::move(*s);
}

std::string load_error(model_format f, const std::string& path,
                       const std::string& spec = {}) {
  auto s = servable::load(f, path, spec);
  REQUIRE_FALSE(s);
  return describe(s.error());
}

/// The feature cells of `t` (all its columns), as a request carries them.
std::vector<std::vector<cell>> cells_of(const tabular::table& t) {
  std::vector<std::vector<cell>> rows(t.rows());
  for (size_t r = 0; r < t.rows(); ++r)
    for (auto& c : t.columns)
      rows[r].push_back(c.is_missing(r) ? cell::none()
                        : c.kind == tabular::column_kind::numeric
                            ? cell::of(c.numbers[r])
                            : cell::of(c.text[r]));
  return rows;
}

std::vector<std::string> names_of(const tabular::table& t) {
  std::vector<std::string> out;
  for (auto& c : t.columns)
    out.push_back(c.name);
  return out;
}

/// Equal element by element, NaN equal to NaN.
bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](float x, float y) {
                      return x == y || (std::isnan(x) && std::isnan(y));
                    });
}

/// A spec with `n` numeric features f0..f(n-1) for `task`.
std::string numeric_spec(const std::string& path, size_t n, task_kind task,
                         std::vector<std::string> classes = {}) {
  nlohmann::json features = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i)
    features.push_back(
        {{"name", "f" + std::to_string(i)}, {"kind", "numeric"}});
  nlohmann::json j{{"format", "troupe.preprocessor"},
                   {"version", 1},
                   {"target", "y"},
                   {"task", tabular::to_string(task)},
                   {"target_numeric", false},
                   {"classes", classes},
                   {"features", features}};
  troupe::test::write_file(path, j.dump());
  return path;
}

} // namespace

TEST_CASE("an XGBoost file with its spec predicts what the saved troupe "
          "model predicts, from raw cells and from encoded rows",
          "[serving]") {
  test::temp_dir tmp;
  auto m = train(tmp, task_kind::binary);
  auto saved = models::saved_model::load(m.model_dir);
  REQUIRE(saved);
  // New rows, with missing cells and a category never seen in training.
  auto t = make_table(task_kind::binary, 50, 99, true);
  auto expected = saved->predict(t);
  REQUIRE(expected);
  REQUIRE(expected->scores.size() == 50);

  auto dir = must_load(model_format::troupe, m.model_dir);
  auto file = must_load(model_format::xgboost, m.ubj, m.spec);
  for (auto* s : {dir.get(), file.get()}) {
    CHECK(s->task() == task_kind::binary);
    CHECK(s->outputs() == 1);
    CHECK(s->features() == 3);
    CHECK(s->classes() == std::vector<std::string>{"no", "yes"});
    size_t unseen = 0;
    auto x = s->encoder().encode(names_of(t), cells_of(t), &unseen);
    REQUIRE(x);
    CHECK(unseen > 0); // purple
    auto from_cells = s->predict(names_of(t), cells_of(t));
    REQUIRE(from_cells);
    auto encoded = saved->prep().transform(t);
    REQUIRE(encoded);
    CHECK(same_floats(*x, encoded->values));
    auto from_rows = s->predict(encoded->values.data(), encoded->rows);
    REQUIRE(from_rows);
    for (size_t r = 0; r < 50; ++r) {
      CHECK((*from_cells)[r] == Approx(expected->scores[r]).margin(1e-6));
      CHECK((*from_rows)[r] == Approx(expected->scores[r]).margin(1e-6));
    }
  }
}

TEST_CASE("a multiclass model gives one probability per class, and "
          "decisions pick the most probable",
          "[serving]") {
  test::temp_dir tmp;
  auto m = train(tmp, task_kind::multiclass);
  auto saved = models::saved_model::load(m.model_dir);
  REQUIRE(saved);
  auto t = make_table(task_kind::multiclass, 40, 5);
  auto expected = saved->predict(t);
  REQUIRE(expected);
  auto s = must_load(model_format::xgboost, m.ubj, m.spec);
  REQUIRE(s->outputs() == 3);
  auto p = s->predict(names_of(t), cells_of(t));
  REQUIRE(p);
  REQUIRE(p->size() == 40 * 3);
  auto ds = decide(s->task(), s->outputs(), p->data(), 40);
  for (size_t r = 0; r < 40; ++r) {
    float sum = 0;
    for (size_t c = 0; c < 3; ++c) {
      sum += (*p)[r * 3 + c];
      CHECK((*p)[r * 3 + c] == Approx(expected->scores[r * 3 + c]));
    }
    CHECK(sum == Approx(1.0f));
    CHECK(s->classes()[ds[r].label] == expected->prediction[r]);
    CHECK(ds[r].confidence ==
          *std::max_element(p->begin() + r * 3, p->begin() + r * 3 + 3));
  }
}

TEST_CASE("decisions: binary at 0.5 with max(p, 1-p), regression without "
          "confidence",
          "[serving]") {
  std::vector<float> p{0.2f, 0.5f, 0.9f};
  auto d = decide(task_kind::binary, 1, p.data(), 3);
  CHECK(d[0].label == 0);
  CHECK(d[0].confidence == Approx(0.8f));
  CHECK(d[1].label == 1);
  CHECK(d[2].label == 1);
  CHECK(d[2].confidence == Approx(0.9f));
  std::vector<float> y{3.5f};
  auto r = decide(task_kind::regression, 1, y.data(), 1);
  CHECK(r[0].label == -1);
  CHECK(r[0].value == 3.5f);
  CHECK(std::isnan(r[0].confidence));
}

TEST_CASE("raw rows are encoded like the preprocessor does, and bad cells "
          "are named by row and column",
          "[serving]") {
  test::temp_dir tmp;
  auto m = train(tmp, task_kind::binary, 3);
  auto& prep = m.data.prep;
  // Columns in another order, plus one the model does not use.
  std::vector<std::string> cols{"color", "extra", "x1", "x0"};
  std::vector<std::vector<cell>> rows{
      {cell::of("green"), cell::of(1.0), cell::of(" 2.5 "), cell::of(0.25)},
      {cell::of("purple"), cell::none(), cell::none(), cell::of("")},
      {cell::none(), cell::none(), cell::of(7.0), cell::of(1.0)}};
  size_t unseen = 0;
  auto x = encode_rows(prep, cols, rows, &unseen);
  REQUIRE(x);
  REQUIRE(x->size() == 9);
  // Feature order is the training order: x0, x1, color (blue, green, red).
  CHECK((*x)[0] == 0.25f);
  CHECK((*x)[1] == 2.5f);
  CHECK((*x)[2] == 1.0f); // green
  CHECK(std::isnan((*x)[3]));
  CHECK(std::isnan((*x)[4]));
  CHECK(std::isnan((*x)[5])); // purple: unseen
  CHECK(std::isnan((*x)[8]));
  CHECK(unseen == 1);

  auto missing = encode_rows(prep, {"x0", "color"}, {});
  REQUIRE_FALSE(missing);
  CHECK_THAT(describe(missing.error()),
             Catch::Contains("no column 'x1', which the model uses"));
  rows[2][2] = cell::of("abc");
  auto bad = encode_rows(prep, cols, rows);
  REQUIRE_FALSE(bad);
  CHECK(describe(bad.error()) ==
        "row 2: column 'x1' holds 'abc', but the model reads it as numeric");
  rows[1].pop_back();
  auto short_row = encode_rows(prep, cols, rows);
  REQUIRE_FALSE(short_row);
  CHECK(describe(short_row.error()) == "row 1 has 3 cells for 4 columns");
  auto twice = encode_rows(prep, {"x0", "x0"}, {});
  REQUIRE_FALSE(twice);
  CHECK_THAT(describe(twice.error()), Catch::Contains("'x0' is given twice"));
}

TEST_CASE("a model that allows no NaN refuses a missing value, naming the "
          "row and the feature",
          "[serving]") {
  test::temp_dir tmp;
  auto m = train(tmp, task_kind::binary, 3);
  load_options strict;
  strict.allow_nan = false;
  auto s = must_load(model_format::xgboost, m.ubj, m.spec, strict);
  std::vector<float> x{0.1f, 0.2f, 0.0f, 0.3f, NAN, 1.0f};
  auto p = s->predict(x.data(), 2);
  REQUIRE_FALSE(p);
  CHECK_THAT(describe(p.error()),
             Catch::EndsWith("row 1: feature 'x1' is NaN, which this model "
                             "does not allow"));
  x[4] = 0.5f;
  CHECK(s->predict(x.data(), 2));
  auto lenient = must_load(model_format::xgboost, m.ubj, m.spec);
  x[4] = NAN;
  CHECK(lenient->predict(x.data(), 2));
}

TEST_CASE("corrupt and incompatible XGBoost artifacts are refused at load "
          "with a message saying why",
          "[serving]") {
  test::temp_dir tmp;
  auto m = train(tmp, task_kind::binary, 10);
  auto bytes = troupe::test::read_file(m.ubj);

  SECTION("a truncated model file") {
    troupe::test::write_file(tmp / "cut.ubj",
                             bytes.substr(0, bytes.size() / 2));
    CHECK_THAT(load_error(model_format::xgboost, tmp / "cut.ubj", m.spec),
               Catch::Contains("cut.ubj': XGBoost XGBoosterLoadModel"));
  }
  SECTION("random bytes") {
    std::mt19937 gen{3};
    std::string junk(4096, '\0');
    for (auto& c : junk)
      c = static_cast<char>(gen());
    troupe::test::write_file(tmp / "junk.ubj", junk);
    CHECK_THAT(load_error(model_format::xgboost, tmp / "junk.ubj", m.spec),
               Catch::Contains("XGBoosterLoadModel"));
  }
  SECTION("a spec whose feature count disagrees with the model") {
    auto j = nlohmann::json::parse(troupe::test::read_file(m.spec));
    j["features"].erase(1);
    troupe::test::write_file(tmp / "narrow.json", j.dump());
    CHECK_THAT(
        load_error(model_format::xgboost, m.ubj, tmp / "narrow.json"),
        Catch::Contains("the booster takes 3 features, but the spec lists 2"));
  }
  SECTION("a multiclass spec on a binary model") {
    auto j = nlohmann::json::parse(troupe::test::read_file(m.spec));
    j["task"] = "multiclass";
    j["classes"] = {"a", "b", "c"};
    troupe::test::write_file(tmp / "multi.json", j.dump());
    CHECK_THAT(load_error(model_format::xgboost, m.ubj, tmp / "multi.json"),
               Catch::Contains("objective is binary:logistic, but the spec's "
                               "task is multiclass with 3 classes"));
  }
  SECTION("a regression spec on a binary model") {
    numeric_spec(tmp / "reg.json", 3, task_kind::regression);
    CHECK_THAT(load_error(model_format::xgboost, m.ubj, tmp / "reg.json"),
               Catch::Contains("a classifier, but the spec's task is "
                               "regression"));
  }
  SECTION("no spec, a spec that is not JSON, a missing file") {
    CHECK_THAT(load_error(model_format::xgboost, m.ubj),
               Catch::Contains("needs its feature spec"));
    troupe::test::write_file(tmp / "bad.json", "{ nope");
    CHECK_THAT(load_error(model_format::xgboost, m.ubj, tmp / "bad.json"),
               Catch::Contains("bad.json: not valid JSON"));
    CHECK_THAT(load_error(model_format::xgboost, tmp / "none.ubj", m.spec),
               Catch::Contains("none.ubj' does not exist"));
    CHECK_THAT(load_error(model_format::troupe, tmp / "none"),
               Catch::Contains("does not exist"));
  }
}

TEST_CASE("one XGBoost servable predicts from several threads at once",
          "[serving]") {
  test::temp_dir tmp;
  auto m = train(tmp, task_kind::multiclass, 30);
  auto s = must_load(model_format::xgboost, m.ubj, m.spec);
  auto& X = m.data.X;
  auto want = s->predict(X.values.data(), X.rows);
  REQUIRE(want);
  std::vector<std::thread> threads;
  std::vector<int> same(4, 0);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      bool ok = true;
      for (size_t r = 0; r + 8 <= X.rows; r += 8) {
        auto p = s->predict(X.row(r), 8);
        ok = ok && p && std::equal(p->begin(), p->end(), want->begin() + r * 3);
      }
      same[i] = ok;
    });
  for (auto& t : threads)
    t.join();
  CHECK(same == std::vector<int>{1, 1, 1, 1});
}

TEST_CASE("an XGBoost model is served by a compiled forest that predicts "
          "what XGBoost predicts",
          "[serving][forest]") {
  auto task =
      GENERATE(task_kind::binary, task_kind::multiclass, task_kind::regression);
  CAPTURE(tabular::to_string(task));
  test::temp_dir tmp;
  auto m = train(tmp, task, 25);
  load_options plain;
  plain.compile = false;
  for (auto f : {model_format::troupe, model_format::xgboost}) {
    auto path = f == model_format::troupe ? m.model_dir : m.ubj;
    auto compiled = must_load(f, path, m.spec);
    auto booster = must_load(f, path, m.spec, plain);
    CHECK(compiled->predictor() ==
          "compiled forest (" + std::to_string(25 * compiled->outputs()) +
              " trees)");
    CHECK(booster->predictor() == "XGBoost");
    // Rows it never saw, with missing values and an unseen category.
    auto t = make_table(task, 70, 42, true);
    auto a = compiled->predict(names_of(t), cells_of(t));
    auto b = booster->predict(names_of(t), cells_of(t));
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(a->size() == 70 * compiled->outputs());
    CHECK(same_floats(*a, *b));
  }
}

TEST_CASE("an ensemble model directory is served by its members, each a "
          "compiled forest, and predicts what the saved model predicts",
          "[serving][ensemble]") {
  auto task =
      GENERATE(task_kind::binary, task_kind::multiclass, task_kind::regression);
  CAPTURE(tabular::to_string(task));
  test::temp_dir tmp;
  auto t = make_table(task, 300, 3);
  auto d = tabular::make_dataset(t, "target", task);
  REQUIRE(d);
  auto a = models::refit_xgboost(*d, {{"eta", 0.3}, {"max_depth", int64_t{2}}},
                                 12, 1, 7);
  auto b = models::refit_xgboost(*d, {{"eta", 0.1}, {"max_depth", int64_t{4}}},
                                 30, 1, 7);
  REQUIRE(a);
  REQUIRE(b);
  std::vector<models::saved_member> members(2);
  members[0].model = &*a;
  members[0].info.weight = 0.25;
  members[1].model = &*b;
  members[1].info.weight = 0.75;
  tabular::model_info info;
  info.metric = task == task_kind::regression ? "rmse" : "logloss";
  REQUIRE_FALSE(models::save_ensemble(tmp / "ens", members, d->prep, info));
  auto s = must_load(model_format::troupe, tmp / "ens");
  CHECK(s->predictor().rfind("ensemble of 2: compiled forest (", 0) == 0);
  CHECK(s->predictor().find("XGBoost") == std::string::npos);
  auto saved = models::saved_model::load(tmp / "ens");
  REQUIRE(saved);
  // rows it never saw, with missing values and an unseen category
  auto rows = make_table(task, 70, 42, true);
  auto served = s->predict(names_of(rows), cells_of(rows));
  REQUIRE(served);
  auto local = saved->predict(rows);
  REQUIRE(local);
  REQUIRE(served->size() == local->scores.size());
  CHECK(same_floats(*served, local->scores));
  // unchecked by XGBoost, the same
  load_options plain;
  plain.compile = false;
  auto x = must_load(model_format::troupe, tmp / "ens", {}, plain);
  CHECK(x->predictor() == "ensemble of 2: XGBoost, XGBoost");
  auto by_xgboost = x->predict(names_of(rows), cells_of(rows));
  REQUIRE(by_xgboost);
  CHECK(same_floats(*by_xgboost, *served));
}

TEST_CASE("an XGBoost model the forest cannot compile keeps predicting with "
          "XGBoost and says why",
          "[serving][forest]") {
  test::temp_dir tmp;
  auto m = train(tmp, task_kind::binary);
  auto& X = m.data.X;
  auto d = xgb::dmatrix::dense(X.values.data(), X.rows, X.cols,
                               std::vector<float>(X.rows, 1.0f));
  REQUIRE(d);
  auto b = xgb::booster::create(&*d);
  REQUIRE(b);
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"booster", "dart"}, {"objective", "binary:logistic"}})
    REQUIRE(b->set_param(k, v));
  for (int i = 0; i < 3; ++i)
    REQUIRE(b->update(*d));
  auto file = (tmp / "dart.ubj");
  REQUIRE(b->save(file));
  auto s = must_load(model_format::xgboost, file, m.spec);
  CHECK(s->predictor() ==
        "XGBoost (compiled forest: the dart booster is not compiled (only "
        "gbtree is))");
  auto p = s->predict(X.values.data(), X.rows);
  REQUIRE(p);
  size_t groups = 0;
  auto want = b->predict_dense(X.values.data(), X.rows, X.cols, groups);
  REQUIRE(want);
  CHECK(same_floats(*p, *want));
}

TEST_CASE("model formats have names", "[serving]") {
  for (auto f :
       {model_format::troupe, model_format::xgboost, model_format::torchscript})
    CHECK(parse_model_format(to_string(f)) == f);
  auto bad = parse_model_format("onnx");
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()), Catch::Contains("unknown model format"));
}

#ifdef TROUPE_WITH_TORCH

TEST_CASE("a TorchScript linear model predicts its formula", "[serving]") {
  test::temp_dir tmp;
  std::vector<float> x{1, 2, 3, -1, 0.5f, 0};
  SECTION("regression") {
    REQUIRE_FALSE(write_torch_linear(tmp / "lin.pt", {0.5f, -1, 2}, 1, {0.25f},
                                     "", true));
    auto s =
        must_load(model_format::torchscript, tmp / "lin.pt",
                  numeric_spec(tmp / "spec.json", 3, task_kind::regression));
    auto y = s->predict(x.data(), 2);
    REQUIRE(y);
    REQUIRE(y->size() == 2);
    CHECK((*y)[0] == Approx(0.5 - 2 + 6 + 0.25));
    CHECK((*y)[1] == Approx(-0.5 - 0.5 + 0 + 0.25));
  }
  SECTION("binary: a sigmoid's output is the probability of class 1") {
    REQUIRE_FALSE(write_torch_linear(tmp / "bin.pt", {0.5f, -1, 2}, 1, {0.25f},
                                     "sigmoid", false));
    auto s = must_load(
        model_format::torchscript, tmp / "bin.pt",
        numeric_spec(tmp / "spec.json", 3, task_kind::binary, {"no", "yes"}));
    auto y = s->predict(x.data(), 2);
    REQUIRE(y);
    REQUIRE(y->size() == 2);
    CHECK((*y)[0] == Approx(1 / (1 + std::exp(-4.75))));
    CHECK((*y)[1] == Approx(1 / (1 + std::exp(0.75))));
  }
  SECTION("multiclass: logits become probabilities") {
    std::vector<float> w{1, 0, 0, 0, 1, 0, 0, 0, 1};
    REQUIRE_FALSE(
        write_torch_linear(tmp / "mc.pt", w, 3, {0, 0, 0}, "", false));
    auto s = must_load(model_format::torchscript, tmp / "mc.pt",
                       numeric_spec(tmp / "spec.json", 3, task_kind::multiclass,
                                    {"a", "b", "c"}));
    REQUIRE(s->outputs() == 3);
    auto y = s->predict(x.data(), 2);
    REQUIRE(y);
    REQUIRE(y->size() == 6);
    double z = std::exp(1) + std::exp(2) + std::exp(3);
    CHECK((*y)[0] == Approx(std::exp(1) / z));
    CHECK((*y)[2] == Approx(std::exp(3) / z));
    auto d = decide(s->task(), 3, y->data(), 2);
    CHECK(d[0].label == 2);
    CHECK(d[1].label == 1);
    // From several threads at once.
    std::vector<int> same(4, 0);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
      threads.emplace_back([&, i] {
        bool ok = true;
        for (int k = 0; k < 50; ++k) {
          auto p = s->predict(x.data(), 2);
          ok = ok && p && *p == *y;
        }
        same[i] = ok;
      });
    for (auto& t : threads)
      t.join();
    CHECK(same == std::vector<int>{1, 1, 1, 1});
  }
}

TEST_CASE("corrupt and incompatible TorchScript models are refused",
          "[serving]") {
  test::temp_dir tmp;
  auto reg = numeric_spec(tmp / "reg.json", 3, task_kind::regression);
  REQUIRE_FALSE(
      write_torch_linear(tmp / "lin.pt", {1, 1, 1}, 1, {0}, "", true));
  SECTION("random bytes") {
    troupe::test::write_file(tmp / "junk.pt", std::string(1000, 'x'));
    CHECK_THAT(load_error(model_format::torchscript, tmp / "junk.pt", reg),
               Catch::Contains("junk.pt' does not load"));
  }
  SECTION("a truncated file") {
    auto bytes = troupe::test::read_file(tmp / "lin.pt");
    troupe::test::write_file(tmp / "cut.pt", bytes.substr(0, bytes.size() / 2));
    CHECK_THAT(load_error(model_format::torchscript, tmp / "cut.pt", reg),
               Catch::Contains("does not load"));
  }
  SECTION("a spec of another width") {
    auto wide = numeric_spec(tmp / "wide.json", 5, task_kind::regression);
    CHECK_THAT(load_error(model_format::torchscript, tmp / "lin.pt", wide),
               Catch::Contains("forward() on 2 rows of 5 features failed"));
  }
  SECTION("outputs that do not fit the task") {
    auto mc = numeric_spec(tmp / "mc.json", 3, task_kind::multiclass,
                           {"a", "b", "c"});
    CHECK_THAT(load_error(model_format::torchscript, tmp / "lin.pt", mc),
               Catch::Contains("gives 1 outputs per row, but the spec's task "
                               "is multiclass with 3 classes"));
  }
  SECTION("a binary model whose output is no probability") {
    auto bin =
        numeric_spec(tmp / "bin.json", 3, task_kind::binary, {"no", "yes"});
    auto s = must_load(model_format::torchscript, tmp / "lin.pt", bin);
    std::vector<float> x{1, 2, 3};
    auto y = s->predict(x.data(), 1);
    REQUIRE_FALSE(y);
    CHECK_THAT(describe(y.error()),
               Catch::Contains("row 0: the model's output 6 is not a "
                               "probability in [0, 1]"));
  }
}

#endif // TROUPE_WITH_TORCH
