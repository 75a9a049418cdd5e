// CASH: the conditional space over families x pipeline x hyper-parameters,
// the --families text, and the gate that stops giving trials to a family
// that is clearly losing.

#include <catch2/catch.hpp>

#include <map>

#include "actors/automl/asha.hpp"
#include "actors/automl/cash_space.hpp"
#include "actors/automl/family_gate.hpp"
#include "actors/automl/study.hpp"
#include "actors/models/model_choice.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using namespace troupe::automl;
using Catch::Matchers::Contains;

namespace {

std::string family_of(const config& c) {
  return std::get<std::string>(c.at("family"));
}

} // namespace

TEST_CASE("the CASH space roots every family's parameters under its choice "
          "and the pipeline's under the families that take one",
          "[cash]") {
  auto space = family_space("xgboost,linear,knn,rf");
  REQUIRE(space);
  auto* root = space->find("family");
  REQUIRE(root);
  CHECK(root->choices ==
        std::vector<std::string>{"xgboost", "linear", "knn", "rf"});
  CHECK_FALSE(root->when);
  auto* eta = space->find("xgboost.eta");
  REQUIRE(eta);
  REQUIRE(eta->when);
  CHECK(eta->when->parent == "family");
  CHECK(eta->when->values == std::vector<std::string>{"xgboost"});
  // a child keeps its own parent, renamed
  auto* drop = space->find("xgboost.rate_drop");
  REQUIRE(drop);
  CHECK(drop->when->parent == "xgboost.booster");
  // the pipeline: for linear and knn, not for the tree ensembles that take
  // NaN and categories themselves
  auto* enc = space->find("fe.encoding");
  REQUIRE(enc);
  CHECK(enc->when->values == std::vector<std::string>{"linear", "knn"});
  CHECK_FALSE(space->find("eta"));
  // every sampled configuration is one family's, whole, and splits cleanly
  std::mt19937_64 rng{3};
  std::map<std::string, int> seen;
  for (int i = 0; i < 200; ++i) {
    auto c = space->sample(rng);
    REQUIRE_FALSE(space->check(c));
    auto f = family_of(c);
    ++seen[f];
    auto choice = models::split_choice(c, "xgboost,linear,knn,rf");
    REQUIRE(choice);
    CHECK(choice->family == f);
    CHECK(choice->fe.empty() == (f == "xgboost" || f == "rf"));
  }
  CHECK(seen.size() == 4);
  // one estimator family alone: its parameters unprefixed, the pipeline's
  // beside them
  auto lin = family_space("linear");
  REQUIRE(lin);
  CHECK(lin->find("alpha"));
  CHECK(lin->find("fe.impute"));
  CHECK_FALSE(lin->find("family"));
  // XGBoost alone keeps its own space only
  auto xgb = family_space("xgboost");
  REQUIRE(xgb);
  CHECK_FALSE(xgb->find("fe.impute"));
}

TEST_CASE("a families text resolves all and names an unknown family",
          "[cash]") {
  auto all = resolve_families("all");
  REQUIRE(all);
  auto names = models::family_list(*all);
  CHECK(names.front() == "xgboost");
  for (auto f : {"linear", "knn", "rf"})
    CHECK(std::find(names.begin(), names.end(), f) != names.end());
  auto some = resolve_families("linear, xgboost,linear");
  REQUIRE(some);
  CHECK(*some == "linear,xgboost");
  auto bad = resolve_families("xgboost,svm");
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()),
             Contains("unknown model family 'svm'") && Contains("xgboost"));
  CHECK_FALSE(resolve_families("quadratic,linear"));
  CHECK_FALSE(resolve_families(" , "));
}

TEST_CASE("a family that is clearly losing is dropped, the leader never",
          "[cash]") {
  family_gate gate{{"xgboost", "linear", "knn"}, direction::maximize, 4};
  std::vector<trial_record> h;
  auto add = [&](const std::string& f, double v) {
    trial_record r;
    r.id = h.size();
    r.params = {{"family", f}};
    r.state = trial_state::complete;
    r.value = v;
    h.push_back(r);
  };
  for (double v : {0.80, 0.82, 0.84, 0.86}) // the leader, median 0.82
    add("xgboost", v);
  for (double v : {0.70, 0.71, 0.72})
    add("knn", v);
  add("linear", 0.83);
  // knn has too few trials to judge
  CHECK(gate.dropped(h).empty());
  add("knn", 0.79);
  // knn's best (0.79) is below the leader's median: dropped; linear has
  // one trial and stays
  CHECK(gate.dropped(h) == std::set<std::string>{"knn"});
  // a pruned trial counts by its best intermediate value
  trial_record pr;
  pr.id = h.size();
  pr.params = {{"family", std::string{"knn"}}};
  pr.state = trial_state::pruned;
  pr.intermediate = {{9, 0.81}, {27, 0.845}};
  h.push_back(pr);
  CHECK(gate.dropped(h).empty());
  // a single-family study has nothing to drop
  family_gate none{{}, direction::maximize, 1};
  CHECK(none.dropped(h).empty());
}

TEST_CASE("a CASH study stops giving trials to a losing family", "[cash]") {
  study_spec s;
  s.id = "cash";
  s.family = "xgboost,linear,knn";
  s.data_path = "unused.csv"; // the core never reads it
  s.target = "y";
  s.metric = "auc";
  s.maximize = true;
  s.sampler = "random";
  s.scheduler = "none";
  s.max_trials = 120;
  s.seed = 11;
  auto core = study_core::make(s, nullptr, 0);
  REQUIRE(core);
  std::map<std::string, double> quality{
      {"xgboost", 0.9}, {"linear", 0.85}, {"knn", 0.6}};
  std::map<std::string, std::vector<trial_id>> by_family;
  int64_t now = 0;
  for (int i = 0; i < 120; ++i) {
    auto a = (*core)->place("n", 0, now);
    REQUIRE(a);
    auto f = family_of(a->params);
    by_family[f].push_back(a->id);
    // a little spread, so the leader's median sits below its best
    double v = quality[f] + 0.001 * static_cast<double>(i % 7);
    REQUIRE((*core)->on_end(a->id, a->attempt, trial_outcome::finished,
                            s.max_resource, v, {}, "", now));
    now += 10;
  }
  // knn got its first trials (a uniform third at first) and then none:
  // every knn trial came before the gate closed on it
  auto& knn = by_family["knn"];
  REQUIRE(knn.size() >= 8);
  CHECK(knn.size() < 20);
  CHECK(knn.back() < 60);
  // linear (behind, but its best is above the leader's median? no: 0.85 <
  // 0.9) is dropped too once it has its trials; xgboost takes the rest
  CHECK(by_family["xgboost"].size() > 80);
}

TEST_CASE("ASHA ranks a CASH trial only against its own family's at a rung",
          "[cash]") {
  asha::options o;
  o.dir = direction::minimize;
  o.min_resource = 9;
  o.max_resource = 729;
  o.eta = 3;
  asha a{o};
  auto knn = config{{"family", std::string{"knn"}}};
  auto xgb = config{{"family", std::string{"xgboost"}}};
  // k-NN is at its best at the first rung: low losses
  for (trial_id id = 0; id < 6; ++id) {
    a.on_trial_add(id, knn, -1);
    a.on_result(id, 9, 0.01 + 0.001 * static_cast<double>(id));
  }
  // a boosted model at 9 rounds is far from its best: ten times the loss,
  // yet the best XGBoost trial so far goes on, and only its group judges it
  a.on_trial_add(10, xgb, -1);
  CHECK(a.on_result(10, 9, 0.3).what == action::proceed);
  a.on_trial_add(11, xgb, -1);
  CHECK(a.on_result(11, 9, 0.2).what == action::proceed);
  a.on_trial_add(12, xgb, -1);
  CHECK(a.on_result(12, 9, 0.5).what == action::stop);
  // within k-NN, the rule is the usual one: the 7th is not in the top third
  a.on_trial_add(6, knn, -1);
  CHECK(a.on_result(6, 9, 0.02).what == action::stop);
  CHECK(a.recorded(0) == 10);
}
