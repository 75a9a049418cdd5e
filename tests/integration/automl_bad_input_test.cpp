// `troupe automl` refuses bad input before it trains anything, naming what
// is wrong: an unknown model family, a metric the task cannot have, a space
// file whose child names a missing parent. Nothing is left in --out's
// journal for a refused study.

#include <catch2/catch.hpp>

#include <filesystem>

#include "actors/automl/journal.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

test::run_result run_automl(const test::temp_dir& dir,
                            std::vector<std::string> extra) {
  std::vector<std::string> args{test::troupe_bin(),
                                "automl",
                                "--data",
                                std::string{TROUPE_SOURCE_DIR} +
                                    "/tests/data/pima_diabetes.csv",
                                "--target",
                                "diabetes",
                                "--trials",
                                "2",
                                "--out",
                                dir.path(),
                                "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::run(args, 60s);
}

} // namespace

TEST_CASE("troupe automl names an unknown family, a metric the task cannot "
          "have and a space child under a missing parent",
          "[integration][automl]") {
  test::temp_dir dir;
  auto family = run_automl(dir, {"--family", "gbm"});
  CHECK(family.code != 0);
  CHECK(family.err.find("'gbm'") != std::string::npos);
  CHECK(family.err.find("xgboost") != std::string::npos); // the known ones

  auto metric = run_automl(dir, {"--metric", "rmse"});
  CHECK(metric.code != 0);
  CHECK(metric.err.find("rmse") != std::string::npos);
  CHECK(metric.err.find("binary") != std::string::npos);

  test::write_file(dir / "space.json", R"({"params": {
    "max_leaves": {"type": "int", "low": 8, "high": 64,
                   "parent": "grow_policy", "when": ["lossguide"]}}})");
  auto space = run_automl(dir, {"--space", dir / "space.json"});
  CHECK(space.code != 0);
  CHECK(space.err.find("max_leaves") != std::string::npos);
  CHECK(space.err.find("unknown parent 'grow_policy'") != std::string::npos);

  // none of them left a study behind
  if (std::filesystem::exists(dir / "journal")) {
    auto j = automl::study_journal::open(dir / "journal", false);
    REQUIRE(j);
    auto ids = (*j)->studies();
    REQUIRE(ids);
    CHECK(ids->empty());
  }
}

TEST_CASE("troupe automl names an unknown objective, a repeated one and a "
          "first objective the task cannot have",
          "[integration][automl][pareto]") {
  test::temp_dir dir;
  auto unknown = run_automl(dir, {"--objectives", "auc,speed"});
  CHECK(unknown.code == 2);
  CHECK(unknown.err.find("unknown objective 'speed'") != std::string::npos);
  CHECK(unknown.err.find("latency or model-size") != std::string::npos);

  auto twice = run_automl(dir, {"--objectives", "auc,latency,latency"});
  CHECK(twice.code == 2);
  CHECK(twice.err.find("'latency' is named twice") != std::string::npos);

  auto clash = run_automl(
      dir, {"--metric", "logloss", "--objectives", "auc,model-size"});
  CHECK(clash.code == 2);
  CHECK(clash.err.find("name different metrics") != std::string::npos);

  // auc on a regression target: the objective and the task are named
  auto regression = test::run(
      {test::troupe_bin(), "automl", "--data",
       std::string{TROUPE_SOURCE_DIR} + "/tests/data/boston_housing.csv",
       "--target", "cmedv", "--trials", "2", "--objectives", "auc,latency",
       "--out", dir.path(), "--quiet"},
      60s);
  CHECK(regression.code == 2);
  CHECK(regression.err.find("--objectives") != std::string::npos);
  CHECK(regression.err.find("'auc'") != std::string::npos);
  CHECK(regression.err.find("regression") != std::string::npos);

  // a family without a model to measure
  auto family = run_automl(
      dir, {"--families", "quadratic", "--objectives", "auc,latency"});
  CHECK(family.code == 2);
  CHECK(family.err.find("quadratic family has no model to measure") !=
        std::string::npos);

  // a scheduler that judges one objective
  auto sched = run_automl(
      dir, {"--objectives", "auc,latency", "--scheduler", "hyperband"});
  CHECK(sched.code == 2);
  CHECK(sched.err.find("'hyperband'") != std::string::npos);

  // none of them left a study behind
  if (std::filesystem::exists(dir / "journal")) {
    auto j = automl::study_journal::open(dir / "journal", false);
    REQUIRE(j);
    auto ids = (*j)->studies();
    REQUIRE(ids);
    CHECK(ids->empty());
  }
}
