#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <capnp/message.h>

#include "actors/features/group.hpp"
#include "runtime/errors.hpp"
#include "tests/unit/features/rows.hpp"

using namespace troupe;
using namespace troupe::features;
using namespace troupe::features::test_rows;

namespace {

constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();
constexpr double nan_d = std::numeric_limits<double>::quiet_NaN();

void fill(schema::FeatureRow::Builder b, const std::string& entity,
          const std::vector<float>& vec, const std::vector<val>& fields) {
  b.setEntity(entity);
  b.setEventTime(1);
  fill_values(b, vec, fields);
}

/// check_row on a row built from the arguments.
caf::error check(const group_spec& g, const std::string& entity,
                 const std::vector<float>& vec, const std::vector<val>& fields,
                 const std::string& where = "row 17", bool partial = false) {
  capnp::MallocMessageBuilder msg;
  auto row = msg.initRoot<schema::FeatureRow>();
  fill(row, entity, vec, fields);
  return check_row(g, row.asReader(), where, partial);
}

/// A group "clicks" with vector "emb" of width 3 and four fields.
group_spec clicks() {
  group_spec g;
  g.name = "clicks";
  g.vector_name = "emb";
  g.width = 3;
  g.fields = {{"count", field_type::int64, false},
              {"score", field_type::float64, true},
              {"label", field_type::text, true},
              {"seen", field_type::timestamp, true}};
  return g;
}

std::vector<val> good_fields() {
  return {i64(3), f64(0.5), text("x"), ts(1700000000000000)};
}

std::string message(const caf::error& err) {
  return describe(err);
}

constexpr int64_t sec = 1000000;
constexpr int64_t march1 = 1709251200; // 2024-03-01T00:00:00Z in seconds

} // namespace

// -- definitions --------------------------------------------------------------

TEST_CASE("a well-formed group definition is accepted", "[features][group]") {
  CHECK_FALSE(validate_group(clicks()));
  group_spec only_vector;
  only_vector.name = "v.1-x_y";
  only_vector.vector_name = "e";
  only_vector.width = 1000000;
  CHECK_FALSE(validate_group(only_vector));
  group_spec only_fields;
  only_fields.name = std::string(64, 'g');
  only_fields.fields = {{"a", field_type::text, true}};
  only_fields.ttl_ms = 0;
  CHECK_FALSE(validate_group(only_fields));
}

TEST_CASE("validate_group refuses bad names", "[features][group]") {
  for (std::string name :
       {std::string{}, std::string{"has space"}, std::string{"slash/"},
        std::string(65, 'g'), std::string{"nul\0x", 5}, std::string{"ü"}}) {
    auto g = clicks();
    g.name = name;
    INFO("name '" << name << "'");
    auto err = validate_group(g);
    REQUIRE(err);
    CHECK(err.code() == static_cast<uint8_t>(errc::invalid_argument));
  }
  auto g = clicks();
  g.fields[2].name = "bad name";
  auto err = validate_group(g);
  REQUIRE(err);
  CHECK_THAT(message(err),
             Catch::Contains("clicks") && Catch::Contains("bad name"));
  g = clicks();
  g.fields[2].name = "";
  CHECK(validate_group(g));
}

TEST_CASE("validate_group refuses duplicate names, including the vector's",
          "[features][group]") {
  auto g = clicks();
  g.fields[3].name = "score";
  auto err = validate_group(g);
  REQUIRE(err);
  CHECK_THAT(message(err),
             Catch::Contains("clicks") && Catch::Contains("'score'"));
  g = clicks();
  g.fields[0].name = "emb";
  err = validate_group(g);
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("'emb'"));
}

TEST_CASE("validate_group refuses a vector without a name, a named vector of "
          "width 0, no data, a width above 1,000,000 and a negative ttl",
          "[features][group]") {
  auto g = clicks();
  g.vector_name = "";
  auto err = validate_group(g);
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("clicks") && Catch::Contains("3"));

  g = clicks();
  g.width = 0;
  err = validate_group(g);
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("emb"));

  g = clicks();
  g.width = 0;
  g.vector_name = "";
  g.fields.clear();
  err = validate_group(g);
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("clicks"));

  g = clicks();
  g.width = 1000001;
  CHECK(validate_group(g));

  g = clicks();
  g.ttl_ms = -1;
  err = validate_group(g);
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("-1"));
}

TEST_CASE("a definition survives the trip through the schema",
          "[features][group]") {
  auto g = clicks();
  g.description = "what users clicked";
  g.allow_nan = true;
  g.ttl_ms = 86400000;
  g.created_ms = 1709251200123;
  g.shards = 8;
  capnp::MallocMessageBuilder msg;
  to_schema(g, msg.initRoot<schema::FeatureGroup>());
  auto back = from_schema(msg.getRoot<schema::FeatureGroup>().asReader());
  CHECK(back.same_definition(g));
  CHECK(back.description == g.description);
  CHECK(back.created_ms == g.created_ms);
  CHECK(back.shards == 8);
  CHECK(back.field_index("label") == 2);
  CHECK(back.field_index("nope") == -1);
  auto other = g;
  other.fields[1].nullable = false;
  CHECK_FALSE(other.same_definition(g));
  other = g;
  other.ttl_ms = 1;
  CHECK_FALSE(other.same_definition(g));
  other = g;
  other.created_ms = 0;
  other.shards = 3;
  CHECK(other.same_definition(g));
}

TEST_CASE("field types parse from their names and aliases",
          "[features][group]") {
  CHECK(*parse_field_type("int") == field_type::int64);
  CHECK(*parse_field_type("double") == field_type::float64);
  CHECK(*parse_field_type("string") == field_type::text);
  CHECK(*parse_field_type("time") == field_type::timestamp);
  auto bad = parse_field_type("bool");
  REQUIRE_FALSE(bad);
  CHECK_THAT(message(bad.error()), Catch::Contains("bool"));
}

// -- rows ---------------------------------------------------------------------

TEST_CASE("check_row accepts a complete, well-typed row", "[features][group]") {
  CHECK_FALSE(check(clicks(), "u1", {1, 2, 3}, good_fields()));
  CHECK_FALSE(check(clicks(), "u1", {1, 2, 3},
                    {i64(3), missing(), missing(), missing()}));
  CHECK_FALSE(check(clicks(), std::string(255, 'e'), {1, 2, 3}, good_fields()));
}

TEST_CASE("check_row refuses a wrong width, naming group, row and entity",
          "[features][group]") {
  for (auto vec : {std::vector<float>{1, 2}, std::vector<float>{1, 2, 3, 4},
                   std::vector<float>{}}) {
    auto err = check(clicks(), "u1", vec, good_fields());
    REQUIRE(err);
    CHECK(err.code() == static_cast<uint8_t>(errc::invalid_argument));
    CHECK_THAT(message(err), Catch::Contains("clicks") &&
                                 Catch::Contains("row 17") &&
                                 Catch::Contains("u1") &&
                                 Catch::Contains(std::to_string(vec.size())));
  }
  // a partial row may leave the vector out, but not give a wrong one
  CHECK_FALSE(check(clicks(), "u1", {}, good_fields(), "row 1", true));
  CHECK(check(clicks(), "u1", {1, 2}, good_fields(), "row 1", true));
}

TEST_CASE("a wrong-width error names the vector", "[features][group]") {
  auto err = check(clicks(), "u1", {1, 2}, good_fields());
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("emb"));
}

TEST_CASE("check_row refuses NaN unless the group allows it",
          "[features][group]") {
  auto g = clicks();
  auto err = check(g, "u1", {1, nan_f, 3}, good_fields());
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("clicks") &&
                               Catch::Contains("row 17") &&
                               Catch::Contains("emb[1]"));
  err = check(g, "u1", {1, 2, 3}, {i64(3), f64(nan_d), text("x"), ts(0)});
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("clicks") &&
                               Catch::Contains("row 17") &&
                               Catch::Contains("'score'"));
  g.allow_nan = true;
  CHECK_FALSE(check(g, "u1", {1, nan_f, 3}, good_fields()));
  CHECK_FALSE(
      check(g, "u1", {1, 2, 3}, {i64(3), f64(nan_d), text("x"), ts(0)}));
}

TEST_CASE("check_row refuses a value of the wrong type, naming the field",
          "[features][group]") {
  struct bad_case {
    std::vector<val> fields;
    const char* field;
  };
  std::vector<bad_case> cases{
      {{f64(3), f64(0.5), text("x"), ts(0)}, "'count'"},
      {{ts(3), f64(0.5), text("x"), ts(0)}, "'count'"},
      {{i64(3), i64(1), text("x"), ts(0)}, "'score'"},
      {{i64(3), f64(0.5), i64(1), ts(0)}, "'label'"},
      {{i64(3), f64(0.5), text("x"), i64(0)}, "'seen'"},
      {{i64(3), f64(0.5), text("x"), text("2024-03-01")}, "'seen'"},
  };
  for (auto& c : cases) {
    auto err = check(clicks(), "u1", {1, 2, 3}, c.fields, "row 5");
    INFO(c.field);
    REQUIRE(err);
    CHECK_THAT(message(err), Catch::Contains("clicks") &&
                                 Catch::Contains("row 5") &&
                                 Catch::Contains(c.field));
  }
}

TEST_CASE("check_row refuses a missing non-nullable field unless partial",
          "[features][group]") {
  std::vector<val> fields{missing(), f64(0.5), text("x"), ts(0)};
  auto err = check(clicks(), "u1", {1, 2, 3}, fields, "row 9");
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("clicks") &&
                               Catch::Contains("row 9") &&
                               Catch::Contains("'count'"));
  CHECK_FALSE(check(clicks(), "u1", {1, 2, 3}, fields, "row 9", true));
  // no fields at all: a partial row, but not a complete one
  CHECK_FALSE(check(clicks(), "u1", {1, 2, 3}, {}, "row 9", true));
  err = check(clicks(), "u1", {1, 2, 3}, {}, "row 9");
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("row 9") && Catch::Contains("4"));
  // too many fields is wrong either way
  auto five = good_fields();
  five.push_back(i64(1));
  CHECK(check(clicks(), "u1", {1, 2, 3}, five, "row 9"));
  CHECK(check(clicks(), "u1", {1, 2, 3}, five, "row 9", true));
}

TEST_CASE("check_row refuses an empty or oversized entity",
          "[features][group]") {
  auto err = check(clicks(), "", {1, 2, 3}, good_fields(), "row 2");
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("clicks") &&
                               Catch::Contains("row 2") &&
                               Catch::Contains("empty"));
  err =
      check(clicks(), std::string(256, 'e'), {1, 2, 3}, good_fields(), "row 3");
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("clicks") &&
                               Catch::Contains("row 3") &&
                               Catch::Contains("256"));
  CHECK(check_entity(std::string(256, 'e'), "key 4"));
  CHECK_FALSE(check_entity(std::string{"\0", 1}, "key 4"));
}

// -- time ---------------------------------------------------------------------

TEST_CASE("parse_time reads ISO dates and date-times as UTC microseconds",
          "[features][group][time]") {
  struct iso_case {
    const char* text;
    int64_t micros;
  };
  const iso_case cases[] = {
      {"2024-03-01", march1 * sec},
      {"2024-03-01T00:00:00Z", march1 * sec},
      {"2024-03-01T12:00:00", (march1 + 43200) * sec},
      {"2024-03-01 12:00:00", (march1 + 43200) * sec},
      {"2024-03-01T12:00", (march1 + 43200) * sec},
      {"2024-03-01 12:00:00.250", (march1 + 43200) * sec + 250000},
      {"2024-03-01T12:00:00.000001Z", (march1 + 43200) * sec + 1},
      {"2024-03-01T12:00:00.123456789Z", (march1 + 43200) * sec + 123456},
      {"2024-03-01T12:00:00+02:00", (march1 + 36000) * sec},
      {"2024-03-01T01:00:00+02:00", (march1 - 3600) * sec},
      {"2024-03-01T12:00:00-05:30", (march1 + 63000) * sec},
      {"2024-03-01T12:00:00.5+00:00", (march1 + 43200) * sec + 500000},
      {"  2024-03-01\t", march1 * sec},
      {"1970-01-01", 0},
      {"1970-01-01T00:00:00.000001Z", 1},
      {"1969-12-31T23:59:59Z", -sec},
      {"2000-02-29", 951782400 * sec},
      {"2038-01-19T03:14:08Z", 2147483648LL * sec},
      {"1900-01-01", -2208988800LL * sec},
  };
  for (auto& c : cases) {
    INFO(c.text);
    auto t = parse_time(c.text);
    REQUIRE(t);
    CHECK(*t == c.micros);
  }
}

TEST_CASE("parse_time reads integers in seconds, milliseconds or micros",
          "[features][group][time]") {
  CHECK(*parse_time("1709251200") == march1 * sec);
  CHECK(*parse_time("1709251200", "s") == march1 * sec);
  CHECK(*parse_time("1709251200250", "ms") == march1 * sec + 250000);
  CHECK(*parse_time("1709251200250001", "us") == march1 * sec + 250001);
  CHECK(*parse_time("-5") == -5 * sec);
  CHECK(*parse_time("+5", "ms") == 5000);
  CHECK(*parse_time("0", "us") == 0);
  auto unit = parse_time("5", "h");
  REQUIRE_FALSE(unit);
  CHECK_THAT(message(unit.error()), Catch::Contains("'h'"));
}

TEST_CASE("parse_time refuses garbage, naming the text",
          "[features][group][time]") {
  for (const char* text : {"",
                           "abc",
                           "12abc",
                           "1.5",
                           "-",
                           "+",
                           "2024-3-01",
                           "2024-13-01",
                           "2024-00-10",
                           "2024-03-32",
                           "2024-03-00",
                           "2024/03/01",
                           "2024-03-01T",
                           "2024-03-01T12",
                           "2024-03-01T25:00:00",
                           "2024-03-01T12:60:00",
                           "2024-03-01T12:00:61",
                           "2024-03-01T12:00:00.",
                           "2024-03-01T12:00:00X",
                           "2024-03-01T12:00:00ZZ",
                           "2024-03-01T12:00:00+0200",
                           "2024-03-01T12:00:00+02",
                           "2024-03-01Z",
                           "2024-03-01x12:00",
                           "1234567890123456789"}) {
    INFO("'" << text << "'");
    auto t = parse_time(text);
    REQUIRE_FALSE(t);
    CHECK(t.error().code() == static_cast<uint8_t>(errc::invalid_argument));
    CHECK_THAT(message(t.error()), Catch::Contains(std::string{"'"} + text));
  }
  CHECK_FALSE(parse_time(" \t "));
}

TEST_CASE("parse_time refuses days that the month does not have",
          "[features][group][time]") {
  for (const char* text : {"2023-02-29", "2024-02-30", "2024-04-31",
                           "2024-06-31T12:00:00Z", "1900-02-29"}) {
    INFO("'" << text << "'");
    CHECK_FALSE(parse_time(text));
  }
  CHECK(parse_time("2024-02-29"));
  CHECK(parse_time("2000-02-29"));
  CHECK(parse_time("2024-01-31"));
}

TEST_CASE("parse_time refuses integers whose microseconds overflow",
          "[features][group][time]") {
  for (auto [text, unit] :
       {std::pair{"9300000000000", "s"}, std::pair{"-9300000000000", "s"},
        std::pair{"9300000000000000", "ms"},
        std::pair{"-9300000000000000", "ms"},
        std::pair{"-999999999999999999", "ms"}}) {
    INFO(text << " " << unit);
    CHECK_FALSE(parse_time(text, unit));
  }
  CHECK(*parse_time("9000000000000", "s") == 9000000000000LL * sec);
  CHECK(*parse_time("-9000000000000000", "ms") == -9000000000000000LL * 1000);
}

TEST_CASE("format_time writes ISO UTC with a fraction only when needed",
          "[features][group][time]") {
  CHECK(format_time(march1 * sec) == "2024-03-01T00:00:00Z");
  CHECK(format_time(march1 * sec + 250000) == "2024-03-01T00:00:00.250000Z");
  CHECK(format_time((march1 + 43200) * sec + 1) ==
        "2024-03-01T12:00:00.000001Z");
  CHECK(format_time(0) == "1970-01-01T00:00:00Z");
  CHECK(format_time(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_time(-sec) == "1969-12-31T23:59:59Z");
}

TEST_CASE("format_time and parse_time round-trip", "[features][group][time]") {
  std::mt19937_64 rng{99};
  // 1900-01-01 .. 2200-01-01
  std::uniform_int_distribution<int64_t> micros{-2208988800LL * sec,
                                                7258118400LL * sec};
  for (int i = 0; i < 20000; ++i) {
    auto t = micros(rng);
    if (i % 3 == 0) t -= t % sec; // whole seconds too
    auto text = format_time(t);
    auto back = parse_time(text);
    INFO(t << " -> " << text);
    REQUIRE(back);
    REQUIRE(*back == t);
  }
}
