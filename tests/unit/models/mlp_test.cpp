// The mlp estimator family (actors/models/mlp_family.hpp) through the torch
// plugin. Built only where LibTorch is (tests/CMakeLists.txt).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "actors/automl/space.hpp"
#include "actors/models/errors.hpp"
#include "actors/models/estimator.hpp"
#include "actors/models/mlp_family.hpp"
#include "actors/models/servable.hpp"
#include "actors/tabular/dataset.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::models;
using namespace troupe::tabular;
using Catch::Matchers::Contains;

namespace {

const std::string datasets = TROUPE_SOURCE_DIR "/tests/data/";

const estimator_family& mlp() {
  auto f = find_estimator_family("mlp");
  REQUIRE(f);
  return **f;
}

/// A dataset split in two, its NaN cells replaced by the training rows'
/// column medians (the feature pipeline's job in a study).
struct split_data {
  dataset data;
  matrix train;
  matrix test;
};

split_data load_split(const std::string& file, const std::string& target) {
  auto t = read_csv(datasets + file);
  REQUIRE(t);
  auto d = make_dataset(*t, target);
  REQUIRE(d);
  auto s = train_test_split(d->X.labels, d->task, 0, 0.25);
  REQUIRE(s);
  split_data out{std::move(*d), {}, {}};
  out.train = take_rows(out.data.X, s->train);
  out.test = take_rows(out.data.X, s->test);
  for (size_t c = 0; c < out.train.cols; ++c) {
    std::vector<float> seen;
    for (size_t r = 0; r < out.train.rows; ++r)
      if (!std::isnan(out.train.at(r, c))) seen.push_back(out.train.at(r, c));
    REQUIRE(!seen.empty());
    std::nth_element(seen.begin(), seen.begin() + seen.size() / 2, seen.end());
    auto median = seen[seen.size() / 2];
    for (auto* m : {&out.train, &out.test})
      for (size_t r = 0; r < m->rows; ++r)
        if (std::isnan(m->values[r * m->cols + c]))
          m->values[r * m->cols + c] = median;
  }
  return out;
}

estimator_context context_of(const dataset& d, uint64_t seed = 1) {
  estimator_context ctx;
  ctx.task = d.task;
  ctx.classes = d.classes.size();
  ctx.threads = 1;
  ctx.seed = seed;
  return ctx;
}

std::unique_ptr<estimator> make(const config& cfg,
                                const estimator_context& ctx) {
  auto e = mlp().make(cfg, ctx);
  REQUIRE(e);
  return std::move(*e);
}

void fit(estimator& e, const matrix& m, int epochs) {
  for (int i = 0; i < epochs; ++i)
    REQUIRE(e.fit_step(m) == caf::none);
}

std::vector<float> predict(const estimator& e, const matrix& m) {
  auto p = e.predict(m);
  REQUIRE(p);
  return std::move(*p);
}

config pima_config() {
  return {{"layers", int64_t{2}},
          {"width", int64_t{32}},
          {"activation", "relu"},
          {"dropout", 0.1},
          {"lr", 3e-3},
          {"weight_decay", 1e-5},
          {"batch_size", int64_t{64}}};
}

/// Three Gaussian blobs in 4 columns of very different scales.
matrix blobs(size_t rows, uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::normal_distribution<float> noise{0, 1};
  const float scale[4] = {1000, 0.01f, 1, 50};
  const float offset[4] = {5000, -3, 0, 100};
  matrix m;
  m.rows = rows;
  m.cols = 4;
  m.feature_names = {"a", "b", "c", "d"};
  for (size_t r = 0; r < rows; ++r) {
    auto k = static_cast<int>(r % 3);
    for (int c = 0; c < 4; ++c) {
      float centre = (c == k || (k == 2 && c == 3)) ? 3.0f : 0.0f;
      m.values.push_back(offset[c] + scale[c] * (centre + noise(rng)));
    }
    m.labels.push_back(static_cast<float>(k));
  }
  return m;
}

} // namespace

TEST_CASE("the mlp family is registered with its fidelity and abilities",
          "[mlp]") {
  auto& f = mlp();
  CHECK(f.name == "mlp");
  CHECK(f.max_steps == mlp_max_steps);
  CHECK(f.max_steps == 64);
  CHECK_FALSE(f.takes_nan);
  CHECK_FALSE(f.native_categorical);
  auto names = estimator_families();
  CHECK(std::count(names.begin(), names.end(), "mlp") == 1);
}

TEST_CASE("an MLP learns pima diabetes to a held-out AUC above 0.78 in a few "
          "epochs",
          "[mlp]") {
  auto s = load_split("pima_diabetes.csv", "diabetes");
  auto e = make(pima_config(), context_of(s.data));
  CHECK(e->steps() == 0);
  fit(*e, s.train, 8);
  CHECK(e->steps() == 8);
  auto p = predict(*e, s.test);
  REQUIRE(p.size() == s.test.rows);
  for (auto x : p) {
    REQUIRE(x >= 0);
    REQUIRE(x <= 1);
  }
  auto auc = troupe::tabular::auc(s.test.labels, p);
  REQUIRE(auc);
  CHECK(*auc > 0.78);
}

TEST_CASE("an MLP separates three classes of unscaled columns", "[mlp]") {
  auto train = blobs(300, 1);
  auto test = blobs(150, 2);
  estimator_context ctx;
  ctx.task = task_kind::multiclass;
  ctx.classes = 3;
  ctx.seed = 3;
  auto e = make({{"layers", int64_t{1}},
                 {"width", int64_t{16}},
                 {"activation", "tanh"},
                 {"lr", 1e-2},
                 {"batch_size", int64_t{32}}},
                ctx);
  fit(*e, train, 10);
  auto p = predict(*e, test);
  REQUIRE(p.size() == test.rows * 3);
  size_t right = 0;
  for (size_t r = 0; r < test.rows; ++r) {
    auto* row = p.data() + r * 3;
    CHECK(std::fabs(row[0] + row[1] + row[2] - 1) < 1e-5);
    auto best = std::max_element(row, row + 3) - row;
    right += static_cast<float>(best) == test.labels[r];
  }
  CHECK(static_cast<double>(right) / test.rows > 0.9);
}

TEST_CASE("an MLP regresses boston house prices on the target's scale",
          "[mlp]") {
  auto s = load_split("boston_housing.csv", "cmedv");
  REQUIRE(s.data.task == task_kind::regression);
  auto e = make({{"layers", int64_t{2}},
                 {"width", int64_t{64}},
                 {"activation", "gelu"},
                 {"dropout", 0.0},
                 {"lr", 1e-2},
                 {"batch_size", int64_t{32}}},
                context_of(s.data));
  fit(*e, s.train, 30);
  auto p = predict(*e, s.test);
  auto rmse = troupe::tabular::rmse(s.test.labels, p);
  REQUIRE(rmse);
  // The test target's standard deviation is about 9; a constant predicts
  // no better.
  CHECK(*rmse < 4.5);
}

TEST_CASE("a saved MLP loads back and predicts the same scores", "[mlp]") {
  auto s = load_split("pima_diabetes.csv", "diabetes");
  auto ctx = context_of(s.data);
  auto e = make(pima_config(), ctx);
  fit(*e, s.train, 2);
  auto bytes = e->save();
  REQUIRE(bytes);
  auto back = mlp().load(*bytes, ctx);
  REQUIRE(back);
  CHECK((*back)->steps() == 2);
  CHECK(predict(**back, s.test) == predict(*e, s.test));
}

TEST_CASE("3 epochs, a save, a load and 2 more epochs equal 5 epochs",
          "[mlp]") {
  auto s = load_split("pima_diabetes.csv", "diabetes");
  auto ctx = context_of(s.data, 7);
  auto cfg = pima_config();
  cfg["dropout"] = 0.3; // the masks must continue too
  auto straight = make(cfg, ctx);
  fit(*straight, s.train, 5);
  auto paused = make(cfg, ctx);
  fit(*paused, s.train, 3);
  auto bytes = paused->save();
  REQUIRE(bytes);
  paused.reset();
  auto resumed = mlp().load(*bytes, ctx);
  REQUIRE(resumed);
  fit(**resumed, s.train, 2);
  CHECK((*resumed)->steps() == 5);
  auto a = predict(*straight, s.test);
  auto b = predict(**resumed, s.test);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i)
    REQUIRE(a[i] == Approx(b[i]).margin(1e-6));
}

TEST_CASE("a seed fixes an MLP's training and another seed changes it",
          "[mlp]") {
  auto s = load_split("pima_diabetes.csv", "diabetes");
  auto one = make(pima_config(), context_of(s.data, 11));
  auto two = make(pima_config(), context_of(s.data, 11));
  auto other = make(pima_config(), context_of(s.data, 12));
  for (auto* e : {one.get(), two.get(), other.get()})
    fit(*e, s.train, 2);
  CHECK(predict(*one, s.test) == predict(*two, s.test));
  CHECK(predict(*one, s.test) != predict(*other, s.test));
  auto ctx = context_of(s.data, 11);
  ctx.threads = 2;
  auto par1 = make(pima_config(), ctx);
  auto par2 = make(pima_config(), ctx);
  for (auto* e : {par1.get(), par2.get()})
    fit(*e, s.train, 2);
  CHECK(predict(*par1, s.test) == predict(*par2, s.test));
}

TEST_CASE("an exported MLP serves as TorchScript with the same scores",
          "[mlp]") {
  test::temp_dir dir;
  for (auto [file, target] : {std::pair{"pima_diabetes.csv", "diabetes"},
                              std::pair{"boston_housing.csv", "cmedv"}}) {
    auto s = load_split(file, target);
    auto e = make(pima_config(), context_of(s.data));
    fit(*e, s.train, 2);
    auto pt = dir / (std::string{target} + ".pt");
    auto spec = dir / (std::string{target} + ".json");
    REQUIRE(export_mlp_torchscript(*e, pt) == caf::none);
    REQUIRE(s.data.prep.save(spec) == caf::none);
    auto served = servable::load(model_format::torchscript, pt, spec);
    REQUIRE(served);
    auto got = (*served)->predict(s.test.values.data(), s.test.rows);
    REQUIRE(got);
    auto want = predict(*e, s.test);
    REQUIRE(got->size() == want.size());
    for (size_t i = 0; i < want.size(); ++i)
      REQUIRE((*got)[i] == Approx(want[i]).epsilon(1e-4).margin(1e-4));
    // and from the saved bytes
    auto bytes = e->save();
    REQUIRE(bytes);
    REQUIRE(export_mlp_torchscript(*bytes, pt) == caf::none);
    auto again = servable::load(model_format::torchscript, pt, spec);
    REQUIRE(again);
    auto got_again = (*again)->predict(s.test.values.data(), s.test.rows);
    REQUIRE(got_again);
    CHECK(*got_again == *got);
  }
  auto blob = blobs(30, 3);
  estimator_context ctx;
  ctx.task = task_kind::multiclass;
  ctx.classes = 3;
  auto e = make({}, ctx);
  fit(*e, blob, 1);
  auto pt = dir / "blobs.pt";
  REQUIRE(export_mlp_torchscript(*e, pt) == caf::none);
}

TEST_CASE("bad MLP parameters, matrices and bytes are named", "[mlp]") {
  estimator_context ctx;
  ctx.task = task_kind::binary;
  ctx.classes = 2;
  auto refused = [&](const config& cfg, const std::string& what) {
    auto e = mlp().make(cfg, ctx);
    REQUIRE_FALSE(e);
    CHECK(is(e.error(), troupe::errc::invalid_argument));
    CHECK_THAT(describe(e.error()), Contains(what));
  };
  refused({{"layers", int64_t{0}}}, "'layers' is 0");
  refused({{"layers", 2.5}}, "'layers'");
  refused({{"width", int64_t{5000}}}, "'width'");
  refused({{"activation", "swish"}}, "relu, gelu, tanh");
  refused({{"dropout", 0.99}}, "'dropout'");
  refused({{"lr", "fast"}}, "'lr' is 'fast'");
  refused({{"lr", -1.0}}, "'lr'");
  refused({{"weight_decay", 2.0}}, "'weight_decay'");
  refused({{"batch_size", "big"}}, "'batch_size'");
  refused({{"momentum", 0.9}}, "unknown parameter 'momentum'");
  // a categorical batch size is read as its number
  CHECK(mlp().make({{"batch_size", "64"}}, ctx));

  auto e = make({}, ctx);
  matrix m;
  m.rows = 2;
  m.cols = 2;
  m.feature_names = {"x", "y"};
  m.values = {1, 2, 3, NAN};
  m.labels = {0, 1};
  CHECK_FALSE(e->predict(m)); // before any epoch
  auto nan = e->fit_step(m);
  CHECK_THAT(describe(nan),
             Contains("row 1, column 'y'") && Contains("missing"));
  m.values[3] = 4;
  m.labels[1] = 2;
  CHECK_THAT(describe(e->fit_step(m)), Contains("row 1: label 2"));
  m.labels[1] = 1;
  REQUIRE(e->fit_step(m) == caf::none);
  matrix wide;
  wide.rows = 1;
  wide.cols = 3;
  wide.values = {1, 2, 3};
  auto p = e->predict(wide);
  REQUIRE_FALSE(p);
  CHECK_THAT(describe(p.error()), Contains("3 columns"));

  auto garbage = mlp().load({1, 2, 3, 4}, ctx);
  REQUIRE_FALSE(garbage);
  CHECK(is(garbage.error(), models::errc::bad_model));
  auto bytes = e->save();
  REQUIRE(bytes);
  estimator_context regression;
  auto wrong = mlp().load(*bytes, regression);
  REQUIRE_FALSE(wrong);
  CHECK(is(wrong.error(), models::errc::bad_model));
}

TEST_CASE("the mlp search space makes MLPs that train", "[mlp]") {
  auto space = automl::space_registry::global().get("mlp");
  REQUIRE(space);
  CHECK(space->size() == 7);
  for (auto name : {"layers", "width", "activation", "dropout", "lr",
                    "weight_decay", "batch_size"})
    CHECK(space->find(name));
  auto blob = blobs(60, 4);
  estimator_context ctx;
  ctx.task = task_kind::multiclass;
  ctx.classes = 3;
  std::mt19937_64 rng{5};
  for (int i = 0; i < 8; ++i) {
    auto cfg = space->sample(rng);
    auto e = mlp().make(cfg, ctx);
    REQUIRE(e);
    REQUIRE((*e)->fit_step(blob) == caf::none);
  }
}
