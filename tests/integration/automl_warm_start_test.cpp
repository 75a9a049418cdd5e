// Warm starts through `troupe automl`: a study of a subsample of a dataset,
// after a study of the full dataset in the same journal, starts with the
// full study's best configurations; --no-warm-start does not. Real
// processes; the journal and summaries are read back.

#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "actors/automl/journal.hpp"
#include "actors/tabular/params.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

/// The configurations of the first `n` trials a study created, as JSON text.
std::vector<std::string> first_configs(const std::string& journal,
                                       const std::string& study, size_t n) {
  auto j = automl::study_journal::open(journal, false);
  REQUIRE(j);
  auto events = (*j)->events(study);
  REQUIRE(events);
  std::vector<std::string> out;
  for (auto& ev : *events)
    if (ev.kind == automl::event_kind::created && out.size() < n)
      out.push_back(tabular::to_json(ev.params).dump());
  return out;
}

test::run_result study(const test::temp_dir& dir, const std::string& data,
                       const std::string& id,
                       std::vector<std::string> extra = {}) {
  std::vector<std::string> args{test::troupe_bin(),
                                "automl",
                                "--data",
                                data,
                                "--target",
                                "diabetes",
                                "--trials",
                                "8",
                                "--scheduler",
                                "none",
                                "--max-rounds",
                                "27",
                                "--every",
                                "9",
                                "--slots",
                                "2",
                                "--ensemble",
                                "0",
                                "--study",
                                id,
                                "--out",
                                dir.path(),
                                "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::run(args, 170s);
}

} // namespace

TEST_CASE("a study of a subsample starts with the best configurations of the "
          "study of its full dataset, and --no-warm-start does not",
          "[integration][automl][warm-start]") {
  test::temp_dir dir;
  auto full_data =
      std::string{TROUPE_SOURCE_DIR} + "/tests/data/pima_diabetes.csv";
  // a 50% subsample: every other row
  auto all = test::read_file(full_data);
  std::ofstream half{dir / "half.csv"};
  size_t line = 0;
  for (size_t s = 0, e; s < all.size(); s = e + 1, ++line) {
    e = all.find('\n', s);
    if (e == std::string::npos) e = all.size();
    if (line == 0 || line % 2 == 1) half << all.substr(s, e - s) << '\n';
  }
  half.close();

  auto full = study(dir, full_data, "full");
  INFO(full.out << full.err);
  REQUIRE(full.code == 0);
  auto summary =
      nlohmann::json::parse(test::read_file(dir / "full/summary.json"));
  auto best = summary["best"]["config"].dump();
  // its leaderboard's top 3 are what a later study may start with
  std::vector<std::string> top;
  for (auto& row : summary["leaderboard"])
    if (top.size() < 3) top.push_back(row["config"].dump());

  auto warm = study(dir, dir / "half.csv", "half");
  INFO(warm.out << warm.err);
  REQUIRE(warm.code == 0);
  auto first = first_configs(dir / "journal", "half", 3);
  REQUIRE(first.size() == 3);
  CHECK(first[0] == best);
  CHECK(first == top);
  auto warm_summary =
      nlohmann::json::parse(test::read_file(dir / "half/summary.json"));
  CHECK(warm_summary["warm_start"]["taken"].get<size_t>() >= 3);
  CHECK(warm_summary["warm_start"]["seeds"][0]["from"] == "full");

  // named as its parent, the full study seeds a study of another dataset's
  // shape just the same; without a warm start, none of it
  // (another seed than the full study's: with the same one, its random
  // start-up would draw the full study's first configurations again)
  auto cold =
      study(dir, dir / "half.csv", "cold", {"--no-warm-start", "--seed", "1"});
  INFO(cold.out << cold.err);
  REQUIRE(cold.code == 0);
  auto cold_first = first_configs(dir / "journal", "cold", 3);
  for (auto& c : cold_first)
    CHECK(std::find(top.begin(), top.end(), c) == top.end());
  auto derived =
      study(dir, dir / "half.csv", "derived", {"--derived-from", "full"});
  INFO(derived.out << derived.err);
  REQUIRE(derived.code == 0);
  CHECK(first_configs(dir / "journal", "derived", 1)[0] == best);
}
