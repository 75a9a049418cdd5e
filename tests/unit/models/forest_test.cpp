#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/models/forest.hpp"
#include "actors/models/xgb.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using models::forest;

namespace {

constexpr size_t cols = 6;

/// `rows` x cols rows: normal values, 10% of them NaN.
std::vector<float> make_rows(size_t rows, uint64_t seed) {
  std::mt19937_64 gen{seed};
  std::normal_distribution<float> n01;
  std::uniform_real_distribution<float> u;
  std::vector<float> x(rows * cols);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = u(gen) < 0.1f ? NAN : n01(gen);
  return x;
}

/// A label for each row, by `objective`: a class (binary, multiclass), a
/// count (poisson), a positive value (gamma, tweedie) or a real.
std::vector<float> labels_for(const std::string& objective,
                              const std::vector<float>& x, size_t rows) {
  std::vector<float> y(rows);
  for (size_t r = 0; r < rows; ++r) {
    auto v = [&](size_t k) {
      float f = x[r * cols + k];
      return std::isnan(f) ? 0.0f : f;
    };
    float s = v(0) + 0.5f * v(1) - v(2) * v(3);
    if (objective.rfind("binary:", 0) == 0 || objective == "reg:logistic")
      y[r] = s > 0 ? 1.0f : 0.0f;
    else if (objective.rfind("multi:", 0) == 0)
      y[r] = s < -0.5f ? 0.0f : s < 0.5f ? 1.0f : 2.0f;
    else if (objective == "count:poisson")
      y[r] = std::floor(std::exp(0.5f * s));
    else if (objective == "reg:gamma" || objective == "reg:tweedie")
      y[r] = std::exp(0.3f * s) + 0.1f;
    else
      y[r] = 3 * s + 1;
  }
  return y;
}

xgb::booster train(const std::string& objective,
                   std::vector<std::pair<std::string, std::string>> extra = {},
                   size_t rounds = 20) {
  size_t rows = 400;
  auto x = make_rows(rows, 11);
  auto y = labels_for(objective, x, rows);
  auto d = xgb::dmatrix::dense(x.data(), rows, cols, y);
  REQUIRE(d);
  auto b = xgb::booster::create(&*d);
  REQUIRE(b);
  std::vector<std::pair<std::string, std::string>> params{
      {"objective", objective},
      {"max_depth", "5"},
      {"eta", "0.3"},
      {"nthread", "1"},
      {"seed", "3"}};
  if (objective == "multi:softprob") params.emplace_back("num_class", "3");
  for (auto& p : extra)
    params.push_back(p);
  for (auto& [k, v] : params)
    REQUIRE(b->set_param(k, v));
  for (size_t i = 0; i < rounds; ++i)
    REQUIRE(b->update(*d));
  return std::move(*b);
}

std::string json_of(const xgb::booster& b) {
  auto bytes = b.save_bytes("json");
  REQUIRE(bytes);
  return {bytes->begin(), bytes->end()};
}

/// The compile error's message, or "" when it compiled.
std::string refusal(const std::string& model_json) {
  auto f = forest::compile(model_json);
  return f ? std::string{} : describe(f.error());
}

} // namespace

TEST_CASE("a compiled forest predicts exactly what XGBoost predicts, for "
          "every objective it compiles",
          "[serving][forest]") {
  auto objective =
      GENERATE(as<std::string>{}, "binary:logistic", "reg:logistic",
               "binary:logitraw", "reg:squarederror", "reg:pseudohubererror",
               "count:poisson", "reg:gamma", "reg:tweedie", "multi:softprob");
  CAPTURE(objective);
  auto b = train(objective);
  auto f = forest::compile(json_of(b));
  if (!f) FAIL(describe(f.error()));
  CHECK(f->objective() == objective);
  CHECK(f->features() == cols);
  CHECK(f->trees() == (objective == "multi:softprob" ? 60u : 20u));
  // 130 rows span three blocks of the tree walk: 65 it never saw, and 65
  // training rows (whose values are where split thresholds come from).
  size_t rows = 130;
  auto x = make_rows(rows, 77);
  auto seen = make_rows(400, 11);
  std::copy(seen.begin(), seen.begin() + 65 * cols, x.begin() + 65 * cols);
  size_t groups = 0;
  auto want = b.predict_dense(x.data(), rows, cols, groups);
  REQUIRE(want);
  REQUIRE(f->groups() == groups);
  std::vector<float> got(rows * groups);
  f->predict(x.data(), rows, got.data());
  size_t differ = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(got[i] == (*want)[i])) {
      if (differ++ == 0)
        FAIL_CHECK("value " << i << ": forest " << got[i] << ", XGBoost "
                            << (*want)[i]);
    }
  CHECK(differ == 0);
  // One row at a time gives the same as the block.
  for (size_t r = 0; r < rows; r += 13) {
    std::vector<float> one(groups);
    f->predict(x.data() + r * cols, 1, one.data());
    for (size_t k = 0; k < groups; ++k)
      CHECK(one[k] == got[r * groups + k]);
  }
}

TEST_CASE("a compiled forest takes the default branch for NaN and goes "
          "right on a value equal to the threshold",
          "[serving][forest]") {
  // One hand-written tree: node 0 splits on feature 1 at 0.5, NaN goes
  // right; its left child splits on feature 0 at -1, NaN goes left.
  nlohmann::json tree = {
      {"tree_param", {{"num_nodes", "5"}, {"size_leaf_vector", "0"}}},
      {"left_children", {3, -1, -1, 1, -1}},
      {"right_children", {2, -1, -1, 4, -1}},
      {"split_indices", {1, 0, 0, 0, 0}},
      {"split_conditions", {0.5, 10.0, 30.0, -1.0, 20.0}},
      {"default_left", {0, 0, 0, 1, 0}},
      {"split_type", {0, 0, 0, 0, 0}}};
  nlohmann::json model = {
      {"learner",
       {{"gradient_booster",
         {{"name", "gbtree"},
          {"model", {{"trees", {tree}}, {"tree_info", {0}}}}}},
        {"learner_model_param",
         {{"base_score", "5E-1"}, {"num_class", "0"}, {"num_feature", "2"}}},
        {"objective", {{"name", "reg:squarederror"}}}}}};
  auto f = forest::compile(model.dump());
  if (!f) FAIL(describe(f.error()));
  std::vector<float> x{
      0.0f,  0.0f, // f1 < 0.5, f0 >= -1: node 4 (20)
      -2.0f, 0.0f, // f0 < -1: node 1 (10)
      0.0f,  0.5f, // f1 == 0.5 goes right: node 2 (30)
      NAN,   0.0f, // f0 missing goes left: node 1 (10)
      0.0f,  NAN,  // f1 missing goes right: node 2 (30)
  };
  std::vector<float> out(5);
  f->predict(x.data(), 5, out.data());
  CHECK(out == std::vector<float>{20.5f, 10.5f, 30.5f, 10.5f, 30.5f});

  SECTION("a malformed tree is refused, naming the tree and the node") {
    auto bad = model;
    auto& t = bad["learner"]["gradient_booster"]["model"]["trees"][0];
    t["left_children"][3] = 9;
    CHECK(refusal(bad.dump())
              .find("tree 0: node 3's child 9 is out of "
                    "range") != std::string::npos);
    t["left_children"][3] = 2; // node 2 reached twice
    CHECK(refusal(bad.dump()).find("reached twice") != std::string::npos);
    t["left_children"][3] = 1;
    t["split_indices"][0] = 2;
    CHECK(refusal(bad.dump()).find("tree 0: node 0 splits on feature 2 of 2") !=
          std::string::npos);
    t["split_indices"][0] = 1;
    t["default_left"] = {0, 0};
    CHECK(refusal(bad.dump()).find("node arrays differ") != std::string::npos);
  }
  SECTION("what it does not compile is refused with the reason") {
    auto bad = model;
    auto& t = bad["learner"]["gradient_booster"]["model"]["trees"][0];
    t["split_type"][0] = 2;
    CHECK(refusal(bad.dump()).find("tree 0: node 0 has split type 2") !=
          std::string::npos);
    bad = model;
    bad["learner"]["gradient_booster"]["model"]["trees"][0]
       ["categories_nodes"] = {7};
    bad["learner"]["gradient_booster"]["model"]["trees"][0]
       ["categories_segments"] = {0};
    bad["learner"]["gradient_booster"]["model"]["trees"][0]
       ["categories_sizes"] = {1};
    bad["learner"]["gradient_booster"]["model"]["trees"][0]["categories"] = {3};
    CHECK(refusal(bad.dump()).find("categorical node 7") != std::string::npos);
    bad = model;
    bad["learner"]["objective"]["name"] = "rank:pairwise";
    CHECK(refusal(bad.dump())
              .find("the objective rank:pairwise is not "
                    "compiled") != std::string::npos);
    bad = model;
    bad["learner"]["gradient_booster"]["model"]["tree_info"] = {1};
    CHECK(refusal(bad.dump()).find("tree 0: output 1 is out of range") !=
          std::string::npos);
    bad = model;
    bad["learner"]["learner_model_param"].erase("num_feature");
    CHECK(refusal(bad.dump()).find("lacks a field") != std::string::npos);
    CHECK(refusal("{\"learner\": ").find("not valid JSON") !=
          std::string::npos);
  }
}

TEST_CASE("a dart model is not compiled", "[serving][forest]") {
  auto b = train("binary:logistic", {{"booster", "dart"}}, 3);
  CHECK(refusal(json_of(b)).find("the dart booster is not compiled") !=
        std::string::npos);
}

TEST_CASE("a compiled forest predicts what XGBoost predicts for a model with "
          "categorical splits",
          "[serving][forest]") {
  // Two numeric columns and two categorical ones (12 and 40 categories,
  // codes as the preprocessor gives them, 10% missing); the label depends on
  // sets of categories, which partition-based splits learn.
  constexpr size_t k = 4;
  auto make = [](size_t rows, uint64_t seed, std::vector<float>* y) {
    std::mt19937_64 gen{seed};
    std::normal_distribution<float> n01;
    std::uniform_real_distribution<float> u;
    std::vector<float> x(rows * k);
    for (size_t r = 0; r < rows; ++r) {
      float* row = x.data() + r * k;
      row[0] = n01(gen);
      row[1] = u(gen) < 0.1f ? NAN : n01(gen);
      row[2] = u(gen) < 0.1f ? NAN : static_cast<float>(gen() % 12);
      row[3] = u(gen) < 0.1f ? NAN : static_cast<float>(gen() % 40);
      if (y) {
        auto c2 = std::isnan(row[2]) ? 0 : static_cast<int>(row[2]);
        auto c3 = std::isnan(row[3]) ? 0 : static_cast<int>(row[3]);
        float s = row[0] + ((c2 * 7) % 5 < 2 ? 1.5f : -1.0f) +
                  ((c3 * 11) % 13 < 6 ? 1.0f : -1.2f);
        y->push_back(s > 0 ? 1.0f : 0.0f);
      }
    }
    return x;
  };
  auto onehot = GENERATE(as<std::string>{}, "1", "4");
  CAPTURE(onehot);
  size_t rows = 600;
  std::vector<float> y;
  auto x = make(rows, 5, &y);
  auto d = xgb::dmatrix::dense(x.data(), rows, k, y);
  REQUIRE(d);
  REQUIRE(d->set_feature_types({"q", "q", "c", "c"}));
  CHECK_FALSE(d->set_feature_types({"q", "c"}));
  auto b = xgb::booster::create(&*d);
  REQUIRE(b);
  for (auto& [name, v] : std::vector<std::pair<std::string, std::string>>{
           {"objective", "binary:logistic"},
           {"tree_method", "hist"},
           {"max_cat_to_onehot", onehot},
           {"max_depth", "4"},
           {"nthread", "1"},
           {"seed", "1"}})
    REQUIRE(b->set_param(name, v));
  for (int i = 0; i < 15; ++i)
    REQUIRE(b->update(*d));
  auto text = json_of(*b);
  // the model did learn categorical splits
  auto doc = nlohmann::json::parse(models::valid_model_json(text));
  size_t cat_nodes = 0;
  for (auto& t : doc["learner"]["gradient_booster"]["model"]["trees"])
    cat_nodes += t["categories_nodes"].size();
  REQUIRE(cat_nodes > 0);
  auto f = forest::compile(text);
  if (!f) FAIL(describe(f.error()));
  CHECK(f->has_categorical());
  // rows it never saw, then probe rows (categories in and out of the sets,
  // negative ones, one past the largest, NaN)
  auto fresh = make(200, 9, nullptr);
  auto probes = f->probe_rows(300, 4);
  fresh.insert(fresh.end(), probes.begin(), probes.end());
  size_t n = fresh.size() / k;
  size_t groups = 0;
  auto want = b->predict_dense(fresh.data(), n, k, groups);
  REQUIRE(want);
  REQUIRE(groups == 1);
  std::vector<float> got(n);
  f->predict(fresh.data(), n, got.data());
  size_t differ = 0;
  for (size_t i = 0; i < n; ++i)
    if (!(got[i] == (*want)[i]) && differ++ == 0)
      FAIL_CHECK("row " << i << ": forest " << got[i] << ", XGBoost "
                        << (*want)[i]);
  CHECK(differ == 0);
  // the probes do reach both sides of the categorical splits
  std::vector<float> distinct(got.begin() + 200, got.end());
  std::sort(distinct.begin(), distinct.end());
  CHECK(std::unique(distinct.begin(), distinct.end()) - distinct.begin() > 20);
}
