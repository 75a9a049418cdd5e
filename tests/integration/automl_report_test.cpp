// `troupe report STUDY`: one self-contained HTML file, opened in real
// headless Chromium (Debian's `chromium`): it renders its charts with no
// console error, and its screenshot is kept as a test artifact
// (build/tests/artifacts/study_report.png).

#include <catch2/catch.hpp>

#include <filesystem>

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

} // namespace

TEST_CASE("troupe report writes one self-contained HTML file that headless "
          "Chromium renders with no console error",
          "[integration][automl][report]") {
  test::temp_dir dir;
  auto data = std::string{TROUPE_SOURCE_DIR} + "/tests/data/pima_diabetes.csv";
  auto r = test::run({test::troupe_bin(), "automl", "--data", data, "--target",
                      "diabetes", "--families", "xgboost", "--trials", "16",
                      // no pruning: every trial completes, so the 8 complete
                      // trials the importances need are there on every run
                      // (ASHA left 6 to 8 of 30)
                      "--scheduler", "none", "--max-rounds", "81", "--slots",
                      "2", "--study", "rep", "--out", dir.path(), "--quiet"},
                     170s);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  auto html_path = dir / "report.html";
  auto rep = test::run({test::troupe_bin(), "report", "rep", "--runs",
                        dir.path(), "--out", html_path},
                       60s);
  INFO(rep.out << rep.err);
  REQUIRE(rep.code == 0);
  auto html = test::read_file(html_path);
  for (auto section :
       {"Optimisation history", "Parameter importances", "Parallel coordinates",
        "Intermediate values", "Leaderboard", "Ensemble", "Pareto front"})
    CHECK(html.find(std::string{"<h2>"} + section + "</h2>") !=
          std::string::npos);
  CHECK(count(html, "<svg") >= 4);
  // a point per complete trial in the history
  auto summary =
      nlohmann::json::parse(test::read_file(dir / "rep/summary.json"));
  auto complete = summary["trials"]["complete"].get<size_t>();
  CHECK(complete == 16);
  CHECK(count(html, "<circle") == complete);
  CHECK(html.find("Permutation importance") != std::string::npos);
  // self-contained: nothing fetched, nothing run
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("href=") == std::string::npos);

  // an unknown study is named, with the known ones
  auto bad = test::run({test::troupe_bin(), "report", "nope", "--runs",
                        dir.path(), "--out", dir / "x.html"},
                       60s);
  CHECK(bad.code == 1);
  CHECK(bad.err.find("no study 'nope'") != std::string::npos);
  CHECK(bad.err.find("rep") != std::string::npos);

  // real headless Chromium: the DOM it builds, its console, a screenshot
  auto chromium = std::string{"/usr/bin/chromium"};
  REQUIRE(std::filesystem::exists(chromium)); // deploy/install-deps.sh
  std::vector<std::string> common{chromium,
                                  "--headless",
                                  "--no-sandbox",
                                  "--disable-gpu",
                                  "--disable-dev-shm-usage",
                                  "--no-first-run",
                                  "--user-data-dir=" + (dir / "chrome"),
                                  "--enable-logging=stderr",
                                  "--v=0"};
  auto dom_args = common;
  dom_args.push_back("--dump-dom");
  dom_args.push_back("file://" + html_path);
  auto dom = test::run(dom_args, 120s);
  INFO(dom.err);
  REQUIRE(dom.code == 0);
  CHECK(count(dom.out, "<svg") == count(html, "<svg"));
  CHECK(count(dom.out, "<circle") == count(html, "<circle"));
  CHECK(dom.err.find("CONSOLE") == std::string::npos);
  CHECK(dom.err.find("Uncaught") == std::string::npos);
  std::filesystem::create_directories("artifacts");
  auto shot = std::filesystem::absolute("artifacts/study_report.png").string();
  std::filesystem::remove(shot);
  auto shot_args = common;
  shot_args.push_back("--window-size=1200,2600");
  shot_args.push_back("--screenshot=" + shot);
  shot_args.push_back("file://" + html_path);
  auto png = test::run(shot_args, 120s);
  INFO(png.err);
  REQUIRE(png.code == 0);
  CHECK(png.err.find("CONSOLE") == std::string::npos);
  REQUIRE(std::filesystem::exists(shot));
  // a blank page of that size compresses to a few kB; charts do not
  CHECK(std::filesystem::file_size(shot) > 40000);
}
