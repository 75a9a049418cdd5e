// Stacking (models/stacking.hpp): a linear meta-model learns combinations
// of the members' scores that a weighted average cannot express, its score
// is cross-fitted (noise does not score above chance), and a stacked model
// directory predicts the same in process, from its directory and served.

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "actors/models/ensemble.hpp"
#include "actors/models/families.hpp"
#include "actors/models/member.hpp"
#include "actors/models/saved_model.hpp"
#include "actors/models/servable.hpp"
#include "actors/models/stacking.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::models;
using Catch::Matchers::Contains;
using tabular::config;
using tabular::task_kind;

namespace {

float sigmoid(double z) {
  return static_cast<float>(1 / (1 + std::exp(-z)));
}

} // namespace

TEST_CASE("a stacker learns a combination that no weighted average of the "
          "members can",
          "[stacking]") {
  std::mt19937_64 gen{7};
  std::normal_distribution<double> normal;
  constexpr size_t n = 600;
  SECTION("regression: the target is one member's value minus the other's") {
    std::vector<float> a(n), b(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      a[i] = static_cast<float>(2 * normal(gen));
      b[i] = static_cast<float>(normal(gen));
      y[i] = static_cast<float>(a[i] - b[i] + 0.1 * normal(gen));
    }
    std::vector<ensemble_candidate> c{{a}, {b}};
    auto avg = select_ensemble(c, y, "rmse", 0);
    REQUIRE(avg);
    auto st = select_stacker(c, y, "rmse", task_kind::regression, 0, 1);
    REQUIRE(st);
    CHECK(st->rows == n);
    CHECK(st->score < 0.2);  // about the noise
    CHECK(avg->score > 0.8); // an average cannot subtract
    auto again = st->model->combine({a, b});
    REQUIRE(again);
    auto rmse = tabular::evaluate("rmse", y, *again, 0);
    REQUIRE(rmse);
    CHECK(*rmse < 0.2);
  }
  SECTION("binary: two under-confident members are sharpened") {
    std::vector<float> a(n), b(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      auto z = 3 * normal(gen);
      y[i] = std::bernoulli_distribution(sigmoid(z))(gen) ? 1.0f : 0.0f;
      a[i] = sigmoid(z / 4 + 0.3 * normal(gen));
      b[i] = sigmoid(z / 5 + 0.3 * normal(gen));
    }
    std::vector<ensemble_candidate> c{{a}, {b}};
    auto avg = select_ensemble(c, y, "logloss", 2);
    REQUIRE(avg);
    auto st = select_stacker(c, y, "logloss", task_kind::binary, 2, 1);
    REQUIRE(st);
    CHECK(st->score < avg->score - 0.05);
    auto p = st->model->combine({a, b});
    REQUIRE(p);
    REQUIRE(p->size() == n);
    for (auto v : *p)
      REQUIRE((v >= 0 && v <= 1));
  }
  SECTION("multiclass: class probabilities that sum to one") {
    constexpr size_t k = 3;
    std::vector<float> a(n * k), b(n * k), y(n);
    for (size_t i = 0; i < n; ++i) {
      auto cls = i % k;
      y[i] = static_cast<float>(cls);
      for (auto* m : {&a, &b}) {
        double logit[k], sum = 0;
        for (size_t c = 0; c < k; ++c)
          sum +=
              (logit[c] = std::exp((c == cls ? 1.0 : 0.0) + 0.5 * normal(gen)));
        for (size_t c = 0; c < k; ++c)
          (*m)[i * k + c] = static_cast<float>(logit[c] / sum);
      }
    }
    std::vector<ensemble_candidate> c{{a}, {b}};
    auto avg = select_ensemble(c, y, "logloss", k);
    REQUIRE(avg);
    auto st = select_stacker(c, y, "logloss", task_kind::multiclass, k, 1);
    REQUIRE(st);
    CHECK(st->score < avg->score);
    auto p = st->model->combine({a, b});
    REQUIRE(p);
    REQUIRE(p->size() == n * k);
    for (size_t i = 0; i < n; ++i)
      REQUIRE((*p)[i * k] + (*p)[i * k + 1] + (*p)[i * k + 2] ==
              Approx(1.0).epsilon(1e-4));
  }
}

TEST_CASE("a stacker's score is cross-fitted: members of pure noise stay "
          "at chance",
          "[stacking]") {
  std::mt19937_64 gen{11};
  std::uniform_real_distribution<float> u{0.01f, 0.99f};
  constexpr size_t n = 300, members = 40;
  std::vector<float> y(n);
  for (auto& v : y)
    v = u(gen) < 0.5f ? 1.0f : 0.0f;
  std::vector<ensemble_candidate> c(members);
  std::vector<std::vector<float>> each(members);
  for (size_t m = 0; m < members; ++m) {
    c[m].oof.resize(n);
    for (auto& v : c[m].oof)
      v = u(gen);
    each[m] = c[m].oof;
  }
  auto st = select_stacker(c, y, "auc", task_kind::binary, 2, 3);
  REQUIRE(st);
  CHECK(std::fabs(st->score - 0.5) < 0.1);
  // the same stacker scored on the rows it was fitted on looks better: the
  // contrast the cross-fitting removes
  auto in_sample = st->model->combine(each);
  REQUIRE(in_sample);
  auto auc = tabular::evaluate("auc", y, *in_sample, 2);
  REQUIRE(auc);
  CHECK(*auc > st->score + 0.1);
}

TEST_CASE("stacking names its bad inputs", "[stacking]") {
  std::vector<float> y{0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
  std::vector<float> p(y.size(), 0.5f);
  auto one = select_stacker({{p}}, y, "auc", task_kind::binary, 2, 0);
  REQUIRE_FALSE(one);
  CHECK_THAT(describe(one.error()), Contains("fewer than two candidates"));
  auto short_one = select_stacker({{p}, {std::vector<float>(3, 0.5f)}}, y,
                                  "auc", task_kind::binary, 2, 0);
  REQUIRE_FALSE(short_one);
  CHECK_THAT(describe(short_one.error()),
             Contains("candidate 1") && Contains("3 predictions"));
  auto metric = select_stacker({{p}, {p}}, y, "nope", task_kind::binary, 2, 0);
  REQUIRE_FALSE(metric);
  CHECK_THAT(describe(metric.error()), Contains("nope"));
  auto st = stacker::fit({p, p}, y, task_kind::binary, 2, 1e-3, 0);
  REQUIRE(st);
  auto wrong = st->combine({p});
  REQUIRE_FALSE(wrong);
  CHECK_THAT(describe(wrong.error()), Contains("combines 2 members, not 1"));
}

TEST_CASE("a stacked model predicts identically in process, from its "
          "directory and served",
          "[stacking]") {
  auto d = shared_dataset(TROUPE_SOURCE_DIR "/tests/data/boston_housing.csv",
                          "cmedv", "");
  REQUIRE(d);
  auto& data = **d;
  std::string cash = "xgboost,linear,knn";
  std::vector<config> cfgs{{{"family", std::string{"linear"}},
                            {"linear.alpha", 1e-3},
                            {"fe.encoding", std::string{"onehot"}},
                            {"fe.scaling", std::string{"standard"}}},
                           {{"family", std::string{"knn"}},
                            {"knn.n_neighbors", int64_t{5}},
                            {"fe.encoding", std::string{"onehot"}},
                            {"fe.scaling", std::string{"standard"}}},
                           {{"family", std::string{"xgboost"}},
                            {"xgboost.eta", 0.1},
                            {"xgboost.max_depth", int64_t{3}}}};
  std::vector<fitted_member> members;
  std::vector<ensemble_candidate> scores;
  for (auto& c : cfgs) {
    auto m = refit_member(data, cash, c, 81, 729, 1, 3);
    REQUIRE(m);
    auto s = m->scores(data.X, data.prep);
    REQUIRE(s);
    scores.push_back(ensemble_candidate{*s});
    members.push_back(std::move(*m));
  }
  // fitted on in-sample scores: this checks the layout, not the quality
  auto st = select_stacker(scores, data.X.labels, "rmse", task_kind::regression,
                           0, 5);
  REQUIRE(st);
  std::vector<member_to_save> saved;
  for (size_t i = 0; i < members.size(); ++i) {
    tabular::ensemble_member info;
    info.weight = i == 0 ? 0.5 : 0.25; // ignored: the stacker keeps order
    info.params = cfgs[i];
    saved.push_back({&members[i], info});
  }
  test::temp_dir tmp;
  std::string dir = tmp / "best";
  tabular::model_info info;
  info.metric = "rmse";
  info.study = "s";
  // a stacker over another number of members is refused
  std::vector<member_to_save> two(saved.begin(), saved.begin() + 2);
  auto refused = save_members(dir, two, data.prep, info, &*st);
  REQUIRE(refused);
  CHECK_THAT(describe(refused), Contains("stacker over 3 members for 2"));
  REQUIRE_FALSE(save_members(dir, saved, data.prep, info, &*st));

  std::vector<std::vector<float>> each;
  for (auto& s : scores)
    each.push_back(s.oof);
  auto mine = st->model->combine(each);
  REQUIRE(mine);
  auto loaded = saved_model::load(dir);
  REQUIRE(loaded);
  REQUIRE(loaded->stack());
  CHECK(loaded->info().stacker["file"] == "stacker.bin");
  REQUIRE(loaded->members().size() == 3);
  CHECK(loaded->members()[0].family() == "linear"); // order kept
  CHECK(loaded->members()[1].family() == "knn");
  auto from_dir = loaded->scores(data.X);
  REQUIRE(from_dir);
  auto served = servable::load(model_format::troupe, dir);
  REQUIRE(served);
  CHECK_THAT((*served)->predictor(), Contains("stacked ensemble of 3"));
  auto& X = data.X;
  auto from_serving = (*served)->predict(X.values.data(), X.rows);
  REQUIRE(from_serving);
  REQUIRE(from_dir->size() == X.rows);
  for (size_t r = 0; r < X.rows; ++r) {
    REQUIRE((*mine)[r] == (*from_dir)[r]);
    REQUIRE((*from_dir)[r] == (*from_serving)[r]);
  }
  for (size_t r = 0; r < 10; ++r) {
    auto one = (*served)->predict(X.row(r), 1);
    REQUIRE(one);
    REQUIRE((*one)[0] == (*from_serving)[r]);
  }
  auto rmse = tabular::evaluate("rmse", X.labels, *from_dir, 0);
  REQUIRE(rmse);
  CHECK(*rmse < 3.5);

  namespace fs = std::filesystem;
  auto model_json = fs::path(dir) / "model.json";
  auto original = test::read_file(model_json);
  // a stacker of another family: named
  auto j = nlohmann::json::parse(original);
  j["stacker"]["family"] = "knn";
  std::ofstream(model_json) << j.dump();
  auto bad_family = saved_model::load(dir);
  REQUIRE_FALSE(bad_family);
  CHECK_THAT(describe(bad_family.error()),
             Contains("stacker family \"knn\" is not linear"));
  // stacker.bin gone: named
  std::ofstream(model_json) << original;
  fs::remove(fs::path(dir) / "stacker.bin");
  auto broken = saved_model::load(dir);
  REQUIRE_FALSE(broken);
  CHECK_THAT(describe(broken.error()), Contains("stacker.bin"));
}
