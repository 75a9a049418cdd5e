// Models of every family behind their feature pipelines: configurations
// taken apart (model_choice.hpp), trials of estimator families
// (estimator_trainable.cpp), refits (member.hpp), and the members layout of
// a saved model, which saved_model and the servable read back and predict
// with bit for bit as the process that trained it.

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "actors/models/families.hpp"
#include "actors/models/member.hpp"
#include "actors/models/model_choice.hpp"
#include "actors/models/saved_model.hpp"
#include "actors/models/servable.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::models;
using Catch::Matchers::Contains;
using tabular::config;

namespace {

std::shared_ptr<const tabular::dataset> data_of(const std::string& file,
                                                const std::string& target) {
  auto d = shared_dataset(TROUPE_SOURCE_DIR "/tests/data/" + file, target, "");
  REQUIRE(d);
  return *d;
}

/// Scores of a servable for every row of `m` (raw floats), one batch.
std::vector<float> serve_scores(const servable& s, const tabular::matrix& m) {
  auto p = s.predict(m.values.data(), m.rows);
  REQUIRE(p);
  return *p;
}

} // namespace

TEST_CASE("a configuration is taken apart into family, parameters and "
          "pipeline",
          "[member]") {
  config single{{"alpha", 0.1}, {"fe.impute", std::string{"mean"}}};
  auto a = split_choice(single, "linear");
  REQUIRE(a);
  CHECK(a->family == "linear");
  CHECK(a->params == config{{"alpha", 0.1}});
  CHECK(a->fe == config{{"fe.impute", std::string{"mean"}}});
  config cash{{"family", std::string{"knn"}},
              {"knn.n_neighbors", int64_t{7}},
              {"fe.scaling", std::string{"standard"}}};
  auto b = split_choice(cash, "xgboost,knn");
  REQUIRE(b);
  CHECK(b->family == "knn");
  CHECK(b->params == config{{"n_neighbors", int64_t{7}}});
  CHECK(b->fe.size() == 1);
  // a family the study does not search, a missing family, a stray parameter
  auto c = split_choice({{"family", std::string{"mlp"}}}, "xgboost,knn");
  REQUIRE_FALSE(c);
  CHECK_THAT(describe(c.error()), Contains("'mlp'") && Contains("xgboost,knn"));
  auto d = split_choice({{"knn.n_neighbors", int64_t{3}}}, "xgboost,knn");
  REQUIRE_FALSE(d);
  CHECK_THAT(describe(d.error()), Contains("no 'family'"));
  auto e = split_choice({{"family", std::string{"knn"}}, {"xgboost.eta", 0.1}},
                        "xgboost,knn");
  REQUIRE_FALSE(e);
  CHECK_THAT(describe(e.error()),
             Contains("'xgboost.eta'") && Contains("family 'knn'"));
  CHECK(family_list(" xgboost, linear ,,knn") ==
        std::vector<std::string>{"xgboost", "linear", "knn"});
}

TEST_CASE("an estimator family trains as a trial: the study's steps map to "
          "the family's, out-of-fold predictions at its best step, and a "
          "checkpoint continues it",
          "[member]") {
  auto d = data_of("pima_diabetes.csv", "diabetes");
  train_context ctx;
  ctx.data = d.get();
  ctx.metric = "auc";
  ctx.valid.folds = 3;
  ctx.valid.seed = 5;
  ctx.max_resource = 729;
  config cfg{{"alpha", 1e-3},
             {"l1_ratio", 0.5},
             {"fe.impute", std::string{"median"}},
             {"fe.scaling", std::string{"standard"}}};
  auto t = make_trainable("linear", ctx, cfg, 0);
  REQUIRE(t);
  std::vector<std::pair<uint64_t, double>> reports;
  auto v = (*t)->train_to(81, 27, [&](uint64_t s, double x) {
    reports.emplace_back(s, x);
    return true;
  });
  REQUIRE(v);
  // steps are the study's: 27, 54, 81 (the family trains 100 * 81 / 729)
  REQUIRE(reports.size() == 3);
  CHECK(reports.back().first == 81);
  CHECK((*t)->steps() == 81);
  CHECK(*v > 0.8);
  auto oof = (*t)->out_of_fold(81);
  REQUIRE(oof);
  REQUIRE(oof->size() == d->X.rows);
  for (float p : *oof)
    REQUIRE((p >= 0 && p <= 1));
  // the out-of-fold AUC is close to the folds' mean AUC
  auto whole = tabular::evaluate("auc", d->X.labels, *oof, 2);
  REQUIRE(whole);
  CHECK(std::fabs(*whole - *v) < 0.03);
  CHECK_FALSE((*t)->out_of_fold(3));
  // a checkpoint taken at 81 continues to the same model as one run
  auto cp = (*t)->checkpoint();
  REQUIRE(cp);
  auto straight = make_trainable("linear", ctx, cfg, 0);
  REQUIRE(straight);
  auto x = (*straight)->train_to(162, 81, nullptr);
  REQUIRE(x);
  auto resumed = make_trainable("linear", ctx, cfg, 0);
  REQUIRE(resumed);
  REQUIRE((*resumed)->restore(*cp));
  CHECK((*resumed)->steps() == 81);
  auto y = (*resumed)->train_to(162, 81, nullptr);
  REQUIRE(y);
  CHECK(*x == *y);
  // a checkpoint of another family is refused, naming it
  auto knn = make_trainable("knn", ctx, {{"n_neighbors", int64_t{5}}}, 0);
  REQUIRE(knn);
  auto wrong = (*knn)->restore(*cp);
  REQUIRE_FALSE(wrong);
  CHECK_THAT(describe(wrong.error()), Contains("linear"));
  // a bad pipeline choice is named
  auto bad = make_trainable(
      "linear", ctx, {{"alpha", 0.1}, {"fe.scaling", std::string{"zscore"}}},
      0);
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()),
             Contains("fe.scaling") && Contains("zscore"));
}

TEST_CASE("a saved model of several families behind their pipelines "
          "predicts identically in process, from its directory and served",
          "[member]") {
  auto d = data_of("boston_housing.csv", "cmedv");
  std::string cash = "xgboost,linear,knn,rf";
  std::vector<config> cfgs{{{"family", std::string{"linear"}},
                            {"linear.alpha", 1e-3},
                            {"linear.l1_ratio", 0.2},
                            {"fe.impute", std::string{"mean"}},
                            {"fe.encoding", std::string{"target"}},
                            {"fe.scaling", std::string{"quantile"}},
                            {"fe.transform", std::string{"log"}},
                            {"fe.crosses", int64_t{3}},
                            {"fe.select", 0.8}},
                           {{"family", std::string{"knn"}},
                            {"knn.n_neighbors", int64_t{6}},
                            {"knn.weights", std::string{"distance"}},
                            {"knn.metric", std::string{"euclidean"}},
                            {"fe.impute", std::string{"median"}},
                            {"fe.encoding", std::string{"onehot"}},
                            {"fe.scaling", std::string{"standard"}}},
                           {{"family", std::string{"rf"}},
                            {"rf.max_depth", int64_t{8}},
                            {"rf.min_child_weight", 1.0},
                            {"rf.subsample", 0.8},
                            {"rf.colsample_bynode", 0.5}},
                           {{"family", std::string{"xgboost"}},
                            {"xgboost.eta", 0.1},
                            {"xgboost.max_depth", int64_t{4}}}};
  std::vector<fitted_member> members;
  for (auto& c : cfgs) {
    auto m = refit_member(*d, cash, c, 243, 729, 1, 3);
    REQUIRE(m);
    members.push_back(std::move(*m));
  }
  CHECK(members[0].family() == "linear");
  CHECK_FALSE(members[0].pipeline().identity());
  CHECK(members[3].booster() != nullptr);
  CHECK(members[3].steps() == 243); // XGBoost: the study's steps are rounds
  CHECK(members[2].steps() == 11);  // rf: 32 forests * 243 / 729, rounded up
  std::vector<double> w{0.4, 0.3, 0.2, 0.1};
  std::vector<member_to_save> saved;
  for (size_t i = 0; i < members.size(); ++i) {
    tabular::ensemble_member info;
    info.weight = w[i];
    info.params = cfgs[i];
    saved.push_back({&members[i], info});
  }
  test::temp_dir tmp;
  std::string dir = tmp / "best";
  tabular::model_info info;
  info.metric = "rmse";
  info.study = "s";
  REQUIRE_FALSE(save_members(dir, saved, d->prep, info));
  // in process: the weighted average of the members' scores
  auto& X = d->X;
  std::vector<double> mine(X.rows, 0.0);
  for (size_t i = 0; i < members.size(); ++i) {
    auto s = members[i].scores(X, d->prep);
    REQUIRE(s);
    REQUIRE(s->size() == X.rows);
    for (size_t r = 0; r < X.rows; ++r)
      mine[r] += w[i] * (*s)[r];
  }
  auto loaded = saved_model::load(dir);
  REQUIRE(loaded);
  CHECK(loaded->info().family == "ensemble");
  REQUIRE(loaded->members().size() == 4);
  CHECK(loaded->members()[0].family() == "linear");
  auto from_dir = loaded->scores(X);
  REQUIRE(from_dir);
  auto served = servable::load(model_format::troupe, dir);
  REQUIRE(served);
  auto from_serving = serve_scores(**served, X);
  REQUIRE(from_dir->size() == X.rows);
  REQUIRE(from_serving.size() == X.rows);
  for (size_t r = 0; r < X.rows; ++r) {
    CHECK(static_cast<float>(mine[r]) == Approx((*from_dir)[r]).epsilon(1e-6));
    REQUIRE((*from_dir)[r] == from_serving[r]);
  }
  // one row at a time, as serving receives them, gives the same bits
  for (size_t r = 0; r < 20; ++r) {
    auto one = (*served)->predict(X.row(r), 1);
    REQUIRE(one);
    REQUIRE((*one)[0] == from_serving[r]);
  }
  // the ensemble beats nothing in particular, but predicts sensibly
  auto rmse = tabular::evaluate("rmse", X.labels, *from_dir, 0);
  REQUIRE(rmse);
  CHECK(*rmse < 3.5);
  // a member file gone: named
  std::filesystem::remove(std::filesystem::path(dir) /
                          loaded->info().ensemble[1].file);
  auto broken = saved_model::load(dir);
  REQUIRE_FALSE(broken);
  CHECK_THAT(describe(broken.error()),
             Contains(loaded->info().ensemble[1].file));
}
