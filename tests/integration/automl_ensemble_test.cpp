// Ensembles of a study's best trials (--ensemble N): selected from their
// out-of-fold predictions, never scoring below their best member out of
// fold on any of the repository's datasets, refit and saved as one model
// directory that `troupe predict`, `troupe serve` and the study's own test
// score agree on. Real `troupe` processes on loopback.

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "actors/tabular/csv.hpp"
#include "actors/tabular/metrics.hpp"
#include "tests/integration/serving_support.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using test::serving::cmd;

namespace {

struct study_case {
  std::string file, target, metric;
  bool maximize;
};

/// Runs a study with --ensemble 8 on `c`; returns its summary.
nlohmann::json ensemble_study(const test::temp_dir& dir, const study_case& c,
                              const std::vector<std::string>& extra = {}) {
  auto data = std::string{TROUPE_SOURCE_DIR} + "/tests/data/" + c.file;
  std::vector<std::string> args{
      "automl",   "--data",       data,     "--target", c.target, "--families",
      "xgboost",  "--metric",     c.metric, "--trials", "10",     "--scheduler",
      "none",     "--max-rounds", "27",     "--every",  "9",      "--ensemble",
      "8",        "--slots",      "2",      "--study",  "e",      "--out",
      dir.path(), "--seed",       "2",      "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = test::run(cmd(args), 170s);
  INFO(c.file << "\n" << r.out << r.err);
  REQUIRE(r.code == 0);
  return nlohmann::json::parse(test::read_file(dir / "e/summary.json"));
}

/// The ensemble's out-of-fold score is at least its best member's.
void check_ensemble(const study_case& c) {
  CAPTURE(c.file);
  test::temp_dir dir;
  auto summary = ensemble_study(dir, c);
  auto& e = summary["ensemble"];
  INFO(summary.dump(2));
  REQUIRE(e.is_object());
  CHECK(e["candidates"].get<size_t>() >= 2);
  auto oof = e["oof_score"].get<double>();
  auto single = e["best_single_oof_score"].get<double>();
  if (c.maximize)
    CHECK(oof >= single);
  else
    CHECK(oof <= single);
  double weights = 0;
  for (auto& m : e["members"])
    weights += m["weight"].get<double>();
  CHECK(weights == Approx(1.0));
  // the model saved is the ensemble when it scored better than one trial
  auto model = nlohmann::json::parse(
      test::read_file(summary["model_dir"].get<std::string>() + "/model.json"));
  if (e["used"].get<bool>())
    CHECK(model["ensemble"].size() == e["members"].size());
  else
    CHECK_FALSE(model.contains("ensemble"));
}

} // namespace

TEST_CASE("an ensemble scores out of fold at least as well as its best "
          "member: pima, boston, spam",
          "[integration][automl][ensemble]") {
  check_ensemble({"pima_diabetes.csv", "diabetes", "auc", true});
  check_ensemble({"boston_housing.csv", "cmedv", "rmse", false});
  check_ensemble({"spam.csv", "type", "logloss", false});
}

TEST_CASE("an ensemble scores out of fold at least as well as its best "
          "member: ticdata, shuttle",
          "[integration][automl][ensemble]") {
  check_ensemble({"ticdata.csv", "CARAVAN", "auc", true});
  check_ensemble({"shuttle.csv", "Class", "logloss", false});
}

namespace {

/// Trains on pima's first rows with `families` (and --ensemble 8), then
/// checks that the saved model's predictions agree in `troupe predict`, in
/// `troupe serve` and with the study's own test score.
void check_agreement(const std::string& families,
                     const std::string& method = "caruana",
                     const std::string& space = "") {
  CAPTURE(families, method);
  test::temp_dir dir;
  std::vector<std::string> extra;
  if (!space.empty()) {
    test::write_file(dir / "space.json", space);
    extra = {"--space", dir / "space.json"};
  }
  // a test file: pima's last 200 rows, the study trains on the rest
  auto all = test::read_file(std::string{TROUPE_SOURCE_DIR} +
                             "/tests/data/pima_diabetes.csv");
  std::vector<std::string> lines;
  for (size_t s = 0, e; s < all.size(); s = e + 1) {
    e = all.find('\n', s);
    if (e == std::string::npos) e = all.size();
    if (e > s) lines.push_back(all.substr(s, e - s));
  }
  std::ofstream train{dir / "train.csv"}, test_file{dir / "test.csv"};
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == 0 || i < lines.size() - 200) train << lines[i] << '\n';
    if (i == 0 || i >= lines.size() - 200) test_file << lines[i] << '\n';
  }
  train.close();
  test_file.close();
  std::vector<std::string> args{"automl",
                                "--families",
                                families,
                                "--data",
                                dir / "train.csv",
                                "--test",
                                dir / "test.csv",
                                "--target",
                                "diabetes",
                                "--metric",
                                "logloss",
                                "--trials",
                                "10",
                                "--scheduler",
                                "none",
                                "--max-rounds",
                                "36",
                                "--every",
                                "9",
                                "--ensemble",
                                "8",
                                "--ensemble-method",
                                method,
                                "--slots",
                                "2",
                                "--study",
                                "e",
                                "--out",
                                dir.path(),
                                "--seed",
                                "3",
                                "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = test::run(cmd(args), 170s);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  auto summary = nlohmann::json::parse(test::read_file(dir / "e/summary.json"));
  INFO(summary.dump(2));
  auto model = summary["model_dir"].get<std::string>();
  // averaging ten configurations' probabilities beats the best one's
  // logloss out of fold: the model is the ensemble
  REQUIRE(summary["ensemble"]["used"].get<bool>());
  // stacking: 36 rounds at a slow learning rate leave the members'
  // probabilities timid, which a stacker sharpens and an average cannot;
  // its cross-fitted score beats Caruana's and the model is the stacked one
  CHECK(summary["ensemble"]["method"] == method);
  if (method == "stacking") {
    auto& st = summary["ensemble"]["stacking"];
    REQUIRE(st["used"].get<bool>());
    CHECK(st["oof_score"].get<double>() <
          summary["ensemble"]["caruana_oof_score"].get<double>());
    auto info = nlohmann::json::parse(test::read_file(model + "/model.json"));
    CHECK(info["stacker"]["file"] == "stacker.bin");
    CHECK(info["ensemble"].size() == st["members"].size());
  }
  // troupe predict, in a process of its own
  auto local = test::run(cmd({"predict", "--model", model, "--data",
                              dir / "test.csv", "--out", dir / "local.csv"}),
                         60s);
  INFO(local.err);
  REQUIRE(local.code == 0);
  // its probabilities score what the study reported as the test score
  auto preds = tabular::read_csv(dir / "local.csv");
  auto truth = tabular::read_csv(dir / "test.csv");
  REQUIRE(preds);
  REQUIRE(truth);
  std::vector<float> y, p;
  auto& pcol = preds->columns.at(1); // p_pos
  REQUIRE(pcol.name == "p_pos");
  for (auto& c : truth->columns)
    if (c.name == "diabetes")
      for (size_t i = 0; i < truth->rows(); ++i)
        y.push_back(c.text[i] == "pos" ? 1.0f : 0.0f);
  for (size_t i = 0; i < preds->rows(); ++i)
    p.push_back(static_cast<float>(pcol.numbers[i]));
  auto score = tabular::logloss(y, p, 2);
  REQUIRE(score);
  CHECK(*score == Approx(summary["test_score"].get<double>()).epsilon(1e-9));
  // troupe serve gives the same file
  auto port = test::free_port();
  auto serve = test::serving::serve(dir.path(), model, "ens", port, {});
  INFO(serve->log());
  auto remote = test::run(
      cmd({"predict", "--endpoint", "127.0.0.1:" + std::to_string(port),
           "--data", dir / "test.csv", "--out", dir / "remote.csv"}),
      60s);
  INFO(remote.err);
  REQUIRE(remote.code == 0);
  CHECK(test::read_file(dir / "remote.csv") ==
        test::read_file(dir / "local.csv"));
}

} // namespace

TEST_CASE("a saved ensemble predicts the same in troupe predict, in troupe "
          "serve and in the study that scored it",
          "[integration][automl][ensemble]") {
  check_agreement("xgboost");
}

TEST_CASE("a saved CASH ensemble of several families behind their feature "
          "pipelines predicts the same in troupe predict, in troupe serve "
          "and in the study that scored it",
          "[integration][automl][ensemble][cash]") {
  check_agreement("linear,knn,rf");
}

TEST_CASE("a saved stacked ensemble predicts the same in troupe predict, in "
          "troupe serve and in the study that scored it",
          "[integration][automl][ensemble][stacking]") {
  check_agreement("xgboost", "stacking", R"({
    "remove": ["booster", "rate_drop", "skip_drop"],
    "params": {"eta": {"type": "float", "low": 0.005, "high": 0.01}}
  })");
}
