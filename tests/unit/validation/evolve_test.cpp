#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "actors/validation/evolve.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/tabular/helpers.hpp"

using namespace troupe;
using namespace troupe::tabular;
using namespace troupe::validation;
using namespace troupe::tabular::test;

namespace {

check_result check_rows(const schema& s, const rows& r) {
  checker c{s, r.header};
  feed_rows(r, c);
  return c.finish();
}

/// Held-out Pima with one anomaly of each kind planted.
rows corrupted(const rows& clean) {
  auto d = clean;
  auto n = d.cells.size();
  for (auto i : pick(n, 4, 1))
    d.cells[i][d.col("age")] = "unknown";
  for (auto i : pick(n, 30, 2))
    d.cells[i][d.col("diabetes")] = "maybe";
  auto g = d.col("glucose");
  for (auto i : pick(n, 30, 3, [&](size_t i) { return d.cells[i][g].empty(); }))
    d.cells[i][g] = std::to_string(std::stod(d.cells[i][g]) * 10);
  for (auto i : pick(n, n / 2, 4))
    d.cells[i][d.col("mass")] = "";
  auto p = d.col("pressure");
  d.header.erase(d.header.begin() + p);
  for (auto& row : d.cells)
    row.erase(row.begin() + p);
  d.header.push_back("batch");
  for (size_t i = 0; i < n; ++i)
    d.cells[i].push_back(std::to_string(i % 3));
  return d;
}

} // namespace

TEST_CASE("accepting every anomaly evolves the schema so that the data "
          "passes",
          "[validation][evolve]") {
  auto [train, held_out] = halves(load("pima_diabetes.csv"), 31);
  auto s = infer_schema(profile_rows(train));
  auto data = corrupted(held_out);
  auto r = check_rows(s, data);
  REQUIRE(r.blocking() == 5);
  auto evolved = s;
  auto changes = accept(evolved, r, {"all"});
  REQUIRE(changes);
  CHECK(changes->size() == r.anomalies.size());

  CHECK(evolved.find("age")->type == value_type::string);
  CHECK_FALSE(evolved.find("age")->range);
  CHECK(evolved.find("diabetes")->in_domain("maybe"));
  CHECK(evolved.find("glucose")->range->max == r.stats.find("glucose")->max);
  CHECK(evolved.find("glucose")->range->max > 1000);
  CHECK(evolved.find("mass")->max_missing_ratio >=
        r.stats.find("mass")->missing_ratio());
  CHECK_FALSE(evolved.find("pressure")->required);
  auto* batch = evolved.find("batch");
  REQUIRE(batch);
  CHECK(batch->type == value_type::integer);

  auto again = check_rows(evolved, data);
  std::string left;
  for (auto& a : again.anomalies)
    left += a.id() + " ";
  INFO(left);
  CHECK(again.blocking() == 0);
  // The clean data passes the evolved schema, but for the accepted extra
  // column, which is now required.
  auto clean = check_rows(evolved, held_out);
  CHECK(clean.blocking() == 1);
  CHECK(clean.find("batch:missing_column"));

  // And the evolved schema survives its file.
  troupe::test::temp_dir dir;
  REQUIRE_FALSE(write_schema(dir / "s.json", evolved));
  auto back = read_schema(dir / "s.json");
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(evolved));
  CHECK(check_rows(*back, data).blocking() == 0);
}

TEST_CASE("accepting some anomalies leaves the others blocking",
          "[validation][evolve]") {
  auto [train, held_out] = halves(load("pima_diabetes.csv"), 32);
  auto s = infer_schema(profile_rows(train));
  auto r = check_rows(s, corrupted(held_out));
  auto changes =
      accept(s, r, {"glucose:out_of_range", "pressure:missing_column"});
  REQUIRE(changes);
  REQUIRE(changes->size() == 2);
  // In the check's order: missing columns first.
  CHECK(changes->at(0).id == "pressure:missing_column");
  CHECK(changes->at(0).description == "now optional");
  CHECK(changes->at(1).id == "glucose:out_of_range");
  CHECK(changes->at(1).description.find("range [") == 0);
  CHECK(changes->at(1).description.find("] -> [") != std::string::npos);
  CHECK(s.find("glucose")->range->max == r.stats.find("glucose")->max);
  auto again = check_rows(s, corrupted(held_out));
  CHECK_FALSE(again.find("glucose:out_of_range"));
  CHECK_FALSE(again.find("pressure:missing_column"));
  CHECK(again.find("age:type_mismatch"));
  CHECK(again.blocking() == 3);
}

TEST_CASE("a float in an integer column widens it to float, text to string",
          "[validation][evolve]") {
  auto [train, held_out] = halves(load("pima_diabetes.csv"), 33);
  auto s = infer_schema(profile_rows(train));
  auto floats = held_out;
  floats.cells[0][floats.col("age")] = "33.5";
  auto r = check_rows(s, floats);
  REQUIRE(r.find("age:type_mismatch"));
  auto widened = s;
  REQUIRE(accept(widened, r, {"age:type_mismatch"}));
  CHECK(widened.find("age")->type == value_type::floating);
  CHECK(widened.find("age")->range); // a float keeps the numeric range
  CHECK(check_rows(widened, floats).blocking() == 0);
}

TEST_CASE("an unknown anomaly id is refused and changes nothing",
          "[validation][evolve]") {
  auto [train, held_out] = halves(load("pima_diabetes.csv"), 34);
  auto s = infer_schema(profile_rows(train));
  auto r = check_rows(s, corrupted(held_out));
  auto before = to_json(s);
  auto res = accept(s, r, {"glucose:out_of_range", "glucose:out_of_domain"});
  REQUIRE_FALSE(res);
  auto msg = describe(res.error());
  CHECK(msg.find("no anomaly 'glucose:out_of_domain' to accept") == 0);
  CHECK(msg.find("age:type_mismatch") != std::string::npos);
  CHECK(to_json(s) == before);
}
