#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "actors/tabular/schema.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/tabular/helpers.hpp"

using namespace troupe;
using namespace troupe::tabular;
using namespace troupe::tabular::test;

namespace {

/// The message of a failed read of `text` written to a schema file.
std::string read_error(const troupe::test::temp_dir& dir,
                       const std::string& text) {
  troupe::test::write_file(dir / "bad.json", text);
  auto s = read_schema(dir / "bad.json");
  REQUIRE_FALSE(s);
  return describe(s.error());
}

nlohmann::json good_schema() {
  return nlohmann::json::parse(R"({
    "format": "troupe.validation.schema", "version": 1, "source": "x.csv",
    "columns": [
      {"name": "a", "type": "float", "required": true,
       "max_missing_ratio": 0.1, "range": {"min": 0, "max": 5}},
      {"name": "b", "type": "string", "required": false,
       "max_missing_ratio": 0.05, "domain": ["y", "x"],
       "max_out_of_domain_ratio": 0.02}
    ]})");
}

} // namespace

TEST_CASE("a schema inferred from Pima follows the documented rules",
          "[validation][schema]") {
  auto stats = profile_rows(load("pima_diabetes.csv"));
  auto s = infer_schema(stats);
  REQUIRE(s.columns.size() == 9);
  for (auto& c : s.columns)
    CHECK(c.required);

  auto& glucose = *s.find("glucose");
  CHECK(glucose.type == value_type::floating);
  // 5 of 768 missing: p + 0.05 beats 1.5 p.
  CHECK(glucose.max_missing_ratio == Approx(5.0 / 768 + 0.05));
  // Observed [44, 199], widened by a tenth of the span.
  REQUIRE(glucose.range);
  CHECK(glucose.range->min == Approx(44 - 15.5));
  CHECK(glucose.range->max == Approx(199 + 15.5));
  CHECK_FALSE(glucose.domain);

  // 227 of 768 missing: 1.5 p beats p + 0.05.
  CHECK(s.find("triceps")->max_missing_ratio == Approx(1.5 * 227 / 768));
  // Never negative: the lower bound stays at 0, not 7 - 9.2.
  CHECK(s.find("triceps")->range->min == 0);

  auto& pregnant = *s.find("pregnant");
  CHECK(pregnant.type == value_type::integer);
  // [0, 17] + 1.7 each side, to whole numbers.
  CHECK(pregnant.range->min == 0);
  CHECK(pregnant.range->max == 19);

  auto& diabetes = *s.find("diabetes");
  CHECK(diabetes.type == value_type::string);
  REQUIRE(diabetes.domain);
  CHECK(*diabetes.domain == std::vector<std::string>{"neg", "pos"});
  // No singletons: the 1 % floor.
  CHECK(diabetes.max_out_of_domain_ratio == Approx(0.01));
  CHECK_FALSE(diabetes.range);
  CHECK(diabetes.in_domain("pos"));
  CHECK_FALSE(diabetes.in_domain("maybe"));

  // The baseline keeps quantiles and bins but not the sample.
  REQUIRE(glucose.baseline);
  CHECK(glucose.baseline->sample.empty());
  CHECK(glucose.baseline->quantiles.size() == 100);
  CHECK(glucose.baseline->bins.fractions.size() == 10);
}

TEST_CASE("a column of rare categories tolerates unseen values by its "
          "Good-Turing mass",
          "[validation][schema]") {
  auto stats = profile_rows(load("boston_housing.csv"));
  auto& town = *stats.find("town");
  auto s = infer_column(town);
  REQUIRE(s.domain);
  CHECK(s.domain->size() == 92);
  CHECK(town.singletons() > 0);
  CHECK(s.max_out_of_domain_ratio ==
        Approx(2.0 * town.singletons() / town.count));
  CHECK(s.max_out_of_domain_ratio > 0.01);
}

TEST_CASE("without ranges only the statistics record the extremes",
          "[validation][schema]") {
  infer_options opts;
  opts.ranges = false;
  auto s = infer_schema(profile_rows(load("pima_diabetes.csv")), opts);
  for (auto& c : s.columns)
    CHECK_FALSE(c.range);
  CHECK(s.find("glucose")->baseline->max == 199);
}

TEST_CASE("a schema round-trips through its JSON file",
          "[validation][schema]") {
  troupe::test::temp_dir dir;
  auto s = infer_schema(profile_rows(load("ticdata.csv")));
  s.source = "ticdata.csv";
  s.find("MAANTHUI")->required = false;
  REQUIRE_FALSE(write_schema(dir / "s.json", s));
  auto back = read_schema(dir / "s.json");
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(s));
  REQUIRE(back->columns.size() == s.columns.size());
  auto& a = *s.find("STYPE");
  auto& b = *back->find("STYPE");
  CHECK(*b.domain == *a.domain);
  CHECK(b.max_out_of_domain_ratio == a.max_out_of_domain_ratio);
  CHECK(b.baseline->domain == a.baseline->domain);
  CHECK_FALSE(back->find("MAANTHUI")->required);
  CHECK(back->find("MAANTHUI")->range->max == s.find("MAANTHUI")->range->max);
  CHECK(back->find("MAANTHUI")->baseline->quantiles ==
        s.find("MAANTHUI")->baseline->quantiles);
  // The write was atomic: no temporary file is left beside it.
  auto files = std::distance(std::filesystem::directory_iterator{dir.path()},
                             std::filesystem::directory_iterator{});
  CHECK(files == 1);
}

TEST_CASE("a hand-written schema without statistics is read",
          "[validation][schema]") {
  auto s = schema_from_json(good_schema(), "x.json");
  REQUIRE(s);
  CHECK(s->find("a")->range->max == 5);
  CHECK(*s->find("b")->domain == std::vector<std::string>{"x", "y"});
  CHECK_FALSE(s->find("b")->required);
  CHECK(s->baseline().columns.empty());
}

TEST_CASE("bad schema files are refused with the file and the field named",
          "[validation][schema]") {
  troupe::test::temp_dir dir;
  auto path = dir / "bad.json";
  auto with = [&](auto edit) {
    auto j = good_schema();
    edit(j);
    return read_error(dir, j.dump());
  };
  CHECK(read_error(dir, "{\"format\": ") ==
        path + ": not valid JSON: parse error at line 1, column 12: syntax "
               "error while parsing value - unexpected end of input; "
               "expected '[', '{', or a literal");
  CHECK(read_error(dir, "[]") ==
        path + ": (top level): expected a JSON object");
  CHECK(with([](auto& j) { j["format"] = "tfdv"; }) ==
        path + ": format: expected \"troupe.validation.schema\" (is this a "
               "troupe schema?)");
  CHECK(with([](auto& j) { j["columns"][1]["type"] = "text"; }) ==
        path + ": columns[1].type: expected one of \"unknown\", \"integer\", "
               "\"float\", \"string\"");
  CHECK(with([](auto& j) { j["columns"][0].erase("required"); }) ==
        path + ": columns[0].required: is missing");
  CHECK(with([](auto& j) { j["columns"][0]["range"]["min"] = "zero"; }) ==
        path + ": columns[0].range.min: expected a number");
  CHECK(with([](auto& j) { j["columns"][0]["range"]["min"] = 9; }) ==
        path + ": columns[0].range: min is greater than max");
  CHECK(with([](auto& j) { j["columns"][0]["max_missing_ratio"] = 1.5; }) ==
        path + ": columns[0].max_missing_ratio: expected a ratio in [0, 1]");
  CHECK(with([](auto& j) { j["columns"][1]["domain"][1] = 3; }) ==
        path + ": columns[1].domain[1]: expected a string");
  CHECK(with([](auto& j) { j["columns"][1]["name"] = "a"; }) ==
        path + ": columns[1].name: duplicate column 'a'");
  CHECK(with([](auto& j) {
          j["columns"][0]["stats"] = {{"type", "float"}};
        }) == path + ": columns[0].stats.missing: is missing");
  auto missing = read_schema(dir / "nope.json");
  REQUIRE_FALSE(missing);
  CHECK(describe(missing.error()) ==
        "cannot read schema '" + dir.path() +
            "/nope.json': No such file or directory");
}
