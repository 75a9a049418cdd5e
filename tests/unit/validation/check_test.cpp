#include <catch2/catch.hpp>

#include <limits>
#include <set>

#include "actors/tabular/check.hpp"
#include "actors/tabular/schema.hpp"
#include "actors/validation/csv_data.hpp"
#include "actors/validation/drift.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/tabular/helpers.hpp"

using namespace troupe;
using namespace troupe::tabular;
using namespace troupe::validation;
using namespace troupe::tabular::test;

namespace {

/// Checks rows (fed as if written to a file) against a schema.
check_result check_rows(const schema& s, const rows& r,
                        const check_options& options = {}) {
  checker c{s, r.header, options};
  feed_rows(r, c);
  return c.finish();
}

std::set<std::string> blocking_ids(const check_result& r) {
  std::set<std::string> out;
  for (auto& a : r.anomalies)
    if (a.blocking()) out.insert(a.id());
  return out;
}

std::string listing(const check_result& r) {
  std::string out;
  for (auto& a : r.anomalies)
    out += std::string{to_string(a.level)} + " " + a.id() + ": " +
           a.description + "\n";
  return out;
}

std::vector<uint64_t> lines_of(const std::vector<size_t>& idx, size_t n = 3) {
  std::vector<uint64_t> out;
  for (size_t i = 0; i < idx.size() && i < n; ++i)
    out.push_back(rows::line_of(idx[i]));
  return out;
}

std::vector<uint64_t> lines_of(const std::vector<example>& xs) {
  std::vector<uint64_t> out;
  for (auto& x : xs)
    out.push_back(x.line);
  return out;
}

/// Removes a column from rows.
void drop(rows& r, const std::string& name) {
  auto c = r.col(name);
  r.header.erase(r.header.begin() + c);
  for (auto& row : r.cells)
    row.erase(row.begin() + c);
}

} // namespace

TEST_CASE("a schema inferred on a random half finds no blocking anomaly in "
          "the other half",
          "[validation][check]") {
  auto file = GENERATE(as<std::string>{}, "pima_diabetes.csv",
                       "boston_housing.csv", "ticdata.csv");
  auto all = load(file);
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    auto [train, held_out] = halves(all, seed);
    auto s = infer_schema(profile_rows(train));
    auto r = check_rows(s, held_out);
    INFO(file << " seed " << seed << "\n" << listing(r));
    CHECK(r.blocking() == 0);
    CHECK(r.stats.rows == held_out.cells.size());
  }
}

TEST_CASE("every anomaly planted in held-out Pima is found with its kind, "
          "column, count and lines",
          "[validation][check]") {
  auto [train, data] = halves(load("pima_diabetes.csv"), 11);
  auto s = infer_schema(profile_rows(train));
  auto n = data.cells.size();
  // Text in an integer column.
  auto age = data.col("age");
  auto text_rows = pick(n, 5, 1);
  for (auto i : text_rows)
    data.cells[i][age] = "unknown";
  // An unseen category in 20 rows (5 %).
  auto diabetes = data.col("diabetes");
  auto new_cat = pick(n, 20, 2);
  for (auto i : new_cat)
    data.cells[i][diabetes] = "maybe";
  // Glucose ten times too large in 20 rows where it is present.
  auto glucose = data.col("glucose");
  auto far =
      pick(n, 20, 3, [&](size_t i) { return data.cells[i][glucose].empty(); });
  std::vector<std::string> far_text;
  for (auto i : far) {
    auto& cell = data.cells[i][glucose];
    cell = std::to_string(std::stod(cell) * 10);
    far_text.push_back(cell);
  }
  // Blank out 40 % of mass.
  auto mass = data.col("mass");
  auto blanked = pick(n, n * 4 / 10, 4,
                      [&](size_t i) { return data.cells[i][mass].empty(); });
  for (auto i : blanked)
    data.cells[i][mass] = "";
  std::vector<size_t> mass_missing;
  for (size_t i = 0; i < n; ++i)
    if (data.cells[i][mass].empty()) mass_missing.push_back(i);
  // Drop a column, add one.
  drop(data, "pressure");
  data.header.push_back("batch");
  for (size_t i = 0; i < n; ++i)
    data.cells[i].push_back("b" + std::to_string(i));

  auto r = check_rows(s, data);
  INFO(listing(r));
  CHECK(blocking_ids(r) ==
        std::set<std::string>{"age:type_mismatch", "diabetes:out_of_domain",
                              "glucose:out_of_range", "mass:missing_ratio_jump",
                              "pressure:missing_column"});

  auto* a = r.find("age:type_mismatch");
  REQUIRE(a);
  CHECK(a->column == "age");
  CHECK(a->kind == anomaly_kind::type_mismatch);
  CHECK(a->count == 5);
  CHECK(lines_of(a->examples) == lines_of(text_rows));
  CHECK(a->examples[0].value == "unknown");

  a = r.find("diabetes:out_of_domain");
  REQUIRE(a);
  CHECK(a->count == 20);
  CHECK(a->values == std::vector<std::string>{"maybe"});
  CHECK(lines_of(a->examples) == lines_of(new_cat));
  CHECK(a->ratio == Approx(20.0 / n));

  a = r.find("glucose:out_of_range");
  REQUIRE(a);
  CHECK(a->count == 20);
  CHECK(lines_of(a->examples) == lines_of(far));
  for (size_t k = 0; k < 3; ++k)
    CHECK(a->examples[k].value == far_text[k]);

  a = r.find("mass:missing_ratio_jump");
  REQUIRE(a);
  CHECK(a->count == mass_missing.size());
  CHECK(a->count > blanked.size());
  CHECK(a->ratio == Approx(double(mass_missing.size()) / n));
  CHECK(lines_of(a->examples) == lines_of(mass_missing));

  a = r.find("pressure:missing_column");
  REQUIRE(a);
  CHECK(a->count == n);

  a = r.find("batch:extra_column");
  REQUIRE(a);
  CHECK(a->level == severity::warning);
  CHECK(a->count == n);
  CHECK(a->examples[1].value == "b1");
  CHECK(a->examples[1].line == 3);
}

TEST_CASE("an unseen category in a quoted ticdata column is found in the "
          "written file with its lines",
          "[validation][check]") {
  auto [train, data] = halves(load("ticdata.csv"), 5);
  auto s = infer_schema(profile_rows(train));
  auto stype = data.col("STYPE");
  std::vector<size_t> changed;
  for (size_t i = 0; i < data.cells.size(); ++i)
    if (data.cells[i][stype] == "Modern, complete families") {
      data.cells[i][stype] = "Modern, complete families (2024)";
      changed.push_back(i);
    }
  REQUIRE(changed.size() > 100);
  troupe::test::temp_dir dir;
  write_csv(dir / "new.csv", data);
  auto r = check_csv(s, dir / "new.csv");
  REQUIRE(r);
  INFO(listing(*r));
  CHECK(blocking_ids(*r) == std::set<std::string>{"STYPE:out_of_domain"});
  auto* a = r->find("STYPE:out_of_domain");
  REQUIRE(a);
  CHECK(a->count == changed.size());
  CHECK(a->values ==
        std::vector<std::string>{"Modern, complete families (2024)"});
  CHECK(lines_of(a->examples) == lines_of(changed));
}

TEST_CASE("a few values past the range warn, many block, and a strict schema "
          "blocks on each",
          "[validation][check]") {
  auto [train, data] = halves(load("pima_diabetes.csv"), 12);
  auto s = infer_schema(profile_rows(train));
  auto glucose = data.col("glucose");
  auto plant = [&](size_t k) {
    auto d = data;
    for (auto i : pick(d.cells.size(), k, 9,
                       [&](size_t i) { return d.cells[i][glucose].empty(); }))
      d.cells[i][glucose] = "1500";
    return d;
  };
  auto few = check_rows(s, plant(3));
  auto* a = few.find("glucose:out_of_range");
  REQUIRE(a);
  CHECK(a->count == 3);
  CHECK(a->level == severity::warning);
  // Over 1 % of the values, but no more than chance puts past the extremes
  // of a baseline as large as the batch (10 values at 0.1 %).
  auto chance = check_rows(s, plant(6));
  a = chance.find("glucose:out_of_range");
  REQUIRE(a);
  CHECK(a->ratio > a->allowed);
  CHECK(a->level == severity::warning);
  check_options no_floor;
  no_floor.significance = 0;
  a = check_rows(s, plant(6), no_floor).find("glucose:out_of_range");
  REQUIRE(a);
  CHECK(a->level == severity::blocking);
  auto many = check_rows(s, plant(30));
  a = many.find("glucose:out_of_range");
  REQUIRE(a);
  CHECK(a->count == 30);
  CHECK(a->level == severity::blocking);
  // Strict: no share allowed, no chance floor.
  auto strict = s;
  strict.find("glucose")->max_out_of_range_ratio = 0;
  a = check_rows(strict, plant(1), no_floor).find("glucose:out_of_range");
  REQUIRE(a);
  CHECK(a->count == 1);
  CHECK(a->level == severity::blocking);
}

TEST_CASE("without inferred ranges no out_of_range check runs, and drift "
          "still sees a shifted column",
          "[validation][check]") {
  auto [train, data] = halves(load("pima_diabetes.csv"), 13);
  auto base = profile_rows(train);
  auto glucose = data.col("glucose");
  for (auto& row : data.cells)
    if (!row[glucose].empty())
      row[glucose] = std::to_string(std::stod(row[glucose]) * 1.5);
  infer_options no_ranges;
  no_ranges.ranges = false;
  auto loose = check_rows(infer_schema(base, no_ranges), data);
  INFO(listing(loose));
  CHECK(loose.anomalies.empty());
  auto d = drift(*base.find("glucose"), *loose.stats.find("glucose"));
  CHECK(d.drifted);
  auto ranged = check_rows(infer_schema(base), data);
  auto* a = ranged.find("glucose:out_of_range");
  REQUIRE(a);
  CHECK(a->blocking());
}

TEST_CASE("checking statistics alone finds the same anomalies without "
          "examples",
          "[validation][check]") {
  auto [train, data] = halves(load("pima_diabetes.csv"), 14);
  auto s = infer_schema(profile_rows(train));
  auto age = data.col("age"), diabetes = data.col("diabetes");
  for (auto i : pick(data.cells.size(), 7, 1)) {
    data.cells[i][age] = "n/a";
    data.cells[i][diabetes] = "borderline";
  }
  drop(data, "triceps");
  auto streamed = check_rows(s, data);
  auto from_stats = check(s, streamed.stats);
  REQUIRE(from_stats.anomalies.size() == streamed.anomalies.size());
  for (size_t i = 0; i < streamed.anomalies.size(); ++i) {
    auto& x = streamed.anomalies[i];
    auto& y = from_stats.anomalies[i];
    INFO(x.id());
    CHECK(x.id() == y.id());
    CHECK(x.level == y.level);
    CHECK(x.count == y.count);
    CHECK(y.examples.empty());
  }
  CHECK(from_stats.find("age:type_mismatch"));
  CHECK(from_stats.find("diabetes:out_of_domain"));
  CHECK(from_stats.find("triceps:missing_column"));
}

TEST_CASE("typed rows from a row source are checked with their own line "
          "numbers",
          "[validation][check]") {
  int i = 0;
  auto base = profile({"x", "k"}, [&](row_sink& sink) {
    if (i == 1000) return false;
    sink.begin_row(i);
    sink.add_number(0, i / 10.0);
    sink.add_integer(1, i % 7);
    sink.end_row();
    ++i;
    return true;
  });
  REQUIRE(base);
  auto s = infer_schema(*base);
  REQUIRE(s.find("k")->type == value_type::integer);
  uint64_t line = 2000;
  auto r = check(s, {"x", "k"}, [&](row_sink& sink) {
    if (line == 2050) return false;
    sink.begin_row(line);
    auto far = line == 2005 || line == 2010 || line == 2020;
    sink.add_number(0, far ? 123456.5 : 50.0);
    if (line == 2003)
      sink.add_number(1, 2.5);
    else
      sink.add_integer(1, 3);
    sink.end_row();
    ++line;
    return true;
  });
  REQUIRE(r);
  INFO(listing(*r));
  CHECK(blocking_ids(*r) ==
        std::set<std::string>{"x:out_of_range", "k:type_mismatch"});
  auto* a = r->find("x:out_of_range");
  REQUIRE(a);
  CHECK(a->count == 3);
  CHECK(lines_of(a->examples) == std::vector<uint64_t>{2005, 2010, 2020});
  CHECK(a->examples[0].value == "123456.5");
  a = r->find("k:type_mismatch");
  REQUIRE(a);
  CHECK(a->count == 1);
  CHECK(a->examples[0].line == 2003);
  CHECK(a->examples[0].value == "2.5");
}
