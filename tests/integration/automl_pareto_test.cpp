// A multi-objective study end to end: `troupe automl --objectives
// auc,model-size` on pima ends with a Pareto front (printed, and in the
// summary) that is non-dominated and holds every complete trial no other
// dominates; the refit saves the front's best AUC; `troupe report` shows the
// front, and headless Chromium renders it with no console error.

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos;
       p = text.find(what, p + 1))
    ++n;
  return n;
}

/// (auc, model-size) as losses: both smaller-is-better.
std::pair<double, double> losses(const nlohmann::json& objectives) {
  return {-objectives.at("auc").get<double>(),
          objectives.at("model-size").get<double>()};
}

bool dominates(std::pair<double, double> a, std::pair<double, double> b) {
  return a.first <= b.first && a.second <= b.second &&
         (a.first < b.first || a.second < b.second);
}

} // namespace

TEST_CASE("troupe automl --objectives auc,model-size ends with a "
          "non-dominated front, and its report shows it",
          "[integration][automl][pareto]") {
  test::temp_dir dir;
  auto data = std::string{TROUPE_SOURCE_DIR} + "/tests/data/pima_diabetes.csv";
  auto r = test::run({test::troupe_bin(),
                      "automl",
                      "--data",
                      data,
                      "--target",
                      "diabetes",
                      "--objectives",
                      "auc,model-size",
                      "--families",
                      "xgboost,linear,rf",
                      "--trials",
                      "16",
                      "--max-rounds",
                      "27",
                      "--min-rounds",
                      "3",
                      "--every",
                      "3",
                      "--slots",
                      "2",
                      "--study",
                      "mo",
                      "--out",
                      dir.path(),
                      "--quiet"},
                     170s);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("pareto front (auc, model-size") != std::string::npos);
  auto summary =
      nlohmann::json::parse(test::read_file(dir / "mo/summary.json"));
  CHECK(summary["objectives"] == nlohmann::json::array({"auc", "model-size"}));
  auto& front = summary["pareto_front"];
  REQUIRE(front.is_array());
  REQUIRE(front.size() >= 1);
  // no front member dominates another
  for (auto& a : front)
    for (auto& b : front)
      CHECK_FALSE(dominates(losses(a["objectives"]), losses(b["objectives"])));
  // every complete trial of the leaderboard is on the front or dominated by
  // a member of it
  std::map<uint64_t, bool> on;
  for (auto& m : front)
    on[m["trial"].get<uint64_t>()] = true;
  REQUIRE(summary["trials"]["total"].get<size_t>() <= 20); // all listed
  size_t complete = 0;
  for (auto& row : summary["leaderboard"]) {
    if (row["state"] != "complete") continue;
    ++complete;
    auto l = losses(row["objectives"]);
    CHECK(l.second > 0); // a model has bytes
    bool dominated = false;
    for (auto& m : front)
      dominated = dominated || dominates(losses(m["objectives"]), l);
    INFO("trial " << row["trial"]);
    CHECK(on.count(row["trial"].get<uint64_t>()) == (dominated ? 0u : 1u));
  }
  CHECK(complete >= 2);
  // the saved model: the front's best AUC, no ensemble
  auto best = summary["best"]["trial"].get<uint64_t>();
  CHECK(best == front[0]["trial"].get<uint64_t>());
  CHECK(on.count(best) == 1);
  CHECK(summary["best"]["chosen_by"].get<std::string>().find("Pareto front") !=
        std::string::npos);
  CHECK(summary["ensemble"].is_null());
  CHECK(std::filesystem::exists(dir / "mo/best"));

  auto html_path = dir / "report.html";
  auto rep = test::run({test::troupe_bin(), "report", "mo", "--runs",
                        dir.path(), "--out", html_path},
                       60s);
  INFO(rep.out << rep.err);
  REQUIRE(rep.code == 0);
  auto html = test::read_file(html_path);
  CHECK(html.find("<h2>Pareto front</h2>") != std::string::npos);
  CHECK(html.find("has no front") == std::string::npos);
  CHECK(count(html, "<tr class=\"front\">") == front.size());
  // the history's point per complete trial, and the scatter's
  auto done = summary["trials"]["complete"].get<size_t>();
  CHECK(count(html, "<circle") == 2 * done);

  auto chromium = std::string{"/usr/bin/chromium"};
  REQUIRE(std::filesystem::exists(chromium)); // deploy/install-deps.sh
  auto dom = test::run({chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--no-first-run",
                        "--user-data-dir=" + (dir / "chrome"),
                        "--enable-logging=stderr", "--v=0", "--dump-dom",
                        "file://" + html_path},
                       120s);
  INFO(dom.err);
  REQUIRE(dom.code == 0);
  CHECK(count(dom.out, "<circle") == count(html, "<circle"));
  CHECK(count(dom.out, "<tr class=\"front\">") == front.size());
  CHECK(dom.err.find("CONSOLE") == std::string::npos);
  CHECK(dom.err.find("Uncaught") == std::string::npos);
}
