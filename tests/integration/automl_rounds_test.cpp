// The rounds of a trial follow its learning: trials stop once their
// validation metric has not improved for --patience rounds, end with their
// best value, and the refit trains the best trial's best rounds. Real
// `troupe automl` processes on the repository's datasets; the journal is
// read trial by trial.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "actors/automl/journal.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using automl::event_kind;

namespace {

struct trial_reports {
  std::vector<std::pair<uint64_t, double>> reported; ///< (step, value)
  bool completed = false;
  double value = 0;
};

std::map<automl::trial_id, trial_reports> reports(const std::string& dir,
                                                  const std::string& study) {
  auto j = automl::study_journal::open(dir, false);
  REQUIRE(j);
  auto events = (*j)->events(study);
  REQUIRE(events);
  std::map<automl::trial_id, trial_reports> out;
  for (auto& ev : *events) {
    auto& t = out[ev.trial];
    if (ev.kind == event_kind::reported)
      t.reported.emplace_back(ev.step, ev.value);
    if (ev.kind == event_kind::completed) {
      t.completed = true;
      t.value = ev.value;
    }
  }
  return out;
}

} // namespace

TEST_CASE("a trial stops once its validation metric stops improving, ends "
          "with its best value, and the refit trains the best rounds",
          "[integration][automl]") {
  test::temp_dir dir;
  // fast learners that overfit pima long before 729 rounds
  test::write_file(dir / "space.json", R"({
    "remove": ["booster", "rate_drop", "skip_drop"],
    "params": {
      "eta": {"type": "float", "low": 0.25, "high": 0.3},
      "max_depth": {"type": "int", "low": 6, "high": 8},
      "min_child_weight": {"type": "float", "low": 0.01, "high": 0.1}}
  })");
  auto data = std::string{TROUPE_SOURCE_DIR} + "/tests/data/pima_diabetes.csv";
  auto r = test::run(
      {test::troupe_bin(), "automl", "--families",  "xgboost",
       "--data",           data,     "--target",    "diabetes",
       "--trials",         "3",      "--scheduler", "none",
       "--max-rounds",     "729",    "--every",     "9",
       "--patience",       "27",     "--space",     dir / "space.json",
       "--study",          "es",     "--out",       dir.path(),
       "--seed",           "5",      "--quiet"},
      300s);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  auto summary =
      nlohmann::json::parse(test::read_file(dir / "es/summary.json"));
  bool maximize = summary["direction"] == "maximize";
  auto trials = reports(dir / "journal", "es");
  REQUIRE(trials.size() == 3);
  std::map<automl::trial_id, uint64_t> best_steps;
  for (auto& [id, t] : trials) {
    CAPTURE(id);
    REQUIRE(t.completed);
    REQUIRE_FALSE(t.reported.empty());
    auto best = t.reported.front();
    for (auto& rep : t.reported)
      if (maximize ? rep.second > best.second : rep.second < best.second)
        best = rep;
    auto last = t.reported.back().first;
    // it stopped early, at the first report 27 or more rounds past its best
    CHECK(last < 729);
    CHECK(last >= best.first + 27);
    CHECK(last < best.first + 27 + 9);
    CHECK(t.value == best.second);
    best_steps[id] = best.first;
  }
  auto winner = summary["best"]["trial"].get<automl::trial_id>();
  CHECK(summary["best"]["rounds"].get<uint64_t>() == best_steps.at(winner));
  CHECK(summary["best"]["cv_score"].get<double>() == trials.at(winner).value);
}

TEST_CASE("without patience a trial trains to max_resource",
          "[integration][automl]") {
  test::temp_dir dir;
  auto data = std::string{TROUPE_SOURCE_DIR} + "/tests/data/pima_diabetes.csv";
  auto r = test::run({test::troupe_bin(),
                      "automl",
                      "--families",
                      "xgboost",
                      "--data",
                      data,
                      "--target",
                      "diabetes",
                      "--trials",
                      "2",
                      "--scheduler",
                      "none",
                      "--max-rounds",
                      "45",
                      "--every",
                      "9",
                      "--patience",
                      "0",
                      "--study",
                      "full",
                      "--out",
                      dir.path(),
                      "--quiet"},
                     300s);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  for (auto& [id, t] : reports(dir / "journal", "full")) {
    CAPTURE(id);
    REQUIRE(t.completed);
    REQUIRE_FALSE(t.reported.empty());
    CHECK(t.reported.back().first == 45);
  }
}

TEST_CASE("a PBT study on real data: children continue their parents' "
          "XGBoost models with perturbed parameters, and the study finishes",
          "[integration][automl][pbt]") {
  test::temp_dir dir;
  auto data = std::string{TROUPE_SOURCE_DIR} + "/tests/data/pima_diabetes.csv";
  auto r = test::run({test::troupe_bin(),
                      "automl",
                      "--families",
                      "xgboost",
                      "--data",
                      data,
                      "--target",
                      "diabetes",
                      "--scheduler",
                      "pbt",
                      "--trials",
                      "24",
                      "--min-rounds",
                      "9",
                      "--max-rounds",
                      "45",
                      "--every",
                      "9",
                      "--patience",
                      "0",
                      "--slots",
                      "2",
                      "--study",
                      "p",
                      "--out",
                      dir.path(),
                      "--quiet"},
                     170s);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  auto trials = reports(dir / "journal", "p");
  REQUIRE(trials.size() == 24);
  // children: trials whose first report comes after their first interval
  // (they started from a parent's checkpoint at step 9 or later)
  size_t children = 0, completed = 0;
  for (auto& [id, t] : trials) {
    CAPTURE(id);
    if (t.completed) ++completed;
    if (!t.reported.empty() && t.reported.front().first > 9) ++children;
    for (auto& [step, value] : t.reported)
      CHECK(std::isfinite(value));
  }
  CHECK(children > 0);
  CHECK(completed > 0);
  auto summary = nlohmann::json::parse(test::read_file(dir / "p/summary.json"));
  CHECK(summary["best"].is_object());
  CHECK(summary["model_dir"].is_string());
}
