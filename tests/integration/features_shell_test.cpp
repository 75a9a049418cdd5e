// The shell's feature-store commands (`groups`, `group G`, `get G ENTITY
// [AS_OF]`) against an in-process cluster that runs the feature store with 3
// shards, written to through the FeatureStore RPC interface.

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include <capnp/message.h>

#include "actors/features/rpc.hpp"
#include "actors/features/service.hpp"
#include "actors/features/shell.hpp"
#include "runtime/client.hpp"
#include "runtime/node.hpp"
#include "runtime/shell.hpp"
#include "schemas/features.capnp.h"
#include "tests/support/cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/shell_run.hpp"

using namespace std::chrono_literals;
using troupe::schema::FeatureField;
using troupe::schema::FeatureStore;
using words = std::vector<std::string>;

namespace {

/// 2024-03-01T12:00:00Z and a day later, in microseconds.
constexpr int64_t t1 = int64_t{1'709'294'400} * 1'000'000;
constexpr int64_t t2 = t1 + int64_t{86'400} * 1'000'000;

struct field_def {
  std::string name;
  FeatureField::Type type;
  bool nullable;
};

/// One scalar value of a row: missing, int64, float64, text or timestamp.
struct value {
  enum kind { missing, int64, float64, text, timestamp } which = missing;
  int64_t i = 0;
  double f = 0;
  std::string s;
};

value int_value(int64_t x) {
  return {value::int64, x, 0, {}};
}
value float_value(double x) {
  return {value::float64, 0, x, {}};
}
value text_value(std::string x) {
  return {value::text, 0, 0, std::move(x)};
}
value time_value(int64_t x) {
  return {value::timestamp, x, 0, {}};
}

struct row_def {
  std::string entity;
  int64_t event_time;
  std::vector<float> vector;
  std::vector<value> fields;
};

/// A head with the feature store (3 shards) and a client of its gateway.
struct features_fixture {
  troupe::test::temp_dir dir;
  std::unique_ptr<troupe::local_cluster> cluster;
  std::unique_ptr<troupe::cluster_client> client;

  features_fixture() {
    auto kinds = [](caf::actor_system_config& cfg) {
      troupe::features::register_kinds(cfg);
    };
    troupe::test::service_cluster c{0,
                                    2,
                                    kinds,
                                    {troupe::features::service_kind,
                                     troupe::features::service_name,
                                     "shards=3"},
                                    dir.path(),
                                    {troupe::features::make_rpc_service()}};
    cluster = std::move(c.cluster);
    client = std::move(c.client);
  }

  FeatureStore::Client store() {
    auto cap = client->service("features");
    if (!cap) FAIL("service features: " << troupe::describe(cap.error()));
    return cap->castAs<FeatureStore>();
  }

  /// Creates a group; fails the test with the server's message.
  void create_group(const std::string& name, const std::string& vector_name,
                    uint32_t width, int64_t ttl_ms,
                    const std::vector<field_def>& fields) {
    auto req = store().createGroupRequest();
    auto g = req.initGroup();
    g.setName(name);
    g.setVectorName(vector_name);
    g.setWidth(width);
    g.setTtlMs(ttl_ms);
    auto fs = g.initFields(static_cast<unsigned>(fields.size()));
    for (unsigned i = 0; i < fields.size(); ++i) {
      fs[i].setName(fields[i].name);
      fs[i].setType(fields[i].type);
      fs[i].setNullable(fields[i].nullable);
    }
    try {
      client->wait(req.send());
    } catch (const kj::Exception& e) {
      FAIL("createGroup " << name << ": " << e.getDescription().cStr());
    }
  }

  /// Writes rows; returns how many the store says it wrote.
  uint64_t write(const std::string& group, const std::vector<row_def>& rows) {
    auto req = store().writeRequest();
    auto batch = req.initBatch();
    batch.setGroup(group);
    auto out = batch.initRows(static_cast<unsigned>(rows.size()));
    for (unsigned r = 0; r < rows.size(); ++r) {
      auto& x = rows[r];
      out[r].setEntity(x.entity);
      out[r].setEventTime(x.event_time);
      auto v = out[r].initVector(static_cast<unsigned>(x.vector.size()));
      for (unsigned i = 0; i < x.vector.size(); ++i)
        v.set(i, x.vector[i]);
      auto fs = out[r].initFields(static_cast<unsigned>(x.fields.size()));
      for (unsigned i = 0; i < x.fields.size(); ++i) {
        auto& f = x.fields[i];
        switch (f.which) {
        case value::missing:
          fs[i].setMissing();
          break;
        case value::int64:
          fs[i].setInt64(f.i);
          break;
        case value::float64:
          fs[i].setFloat64(f.f);
          break;
        case value::text:
          fs[i].setText(f.s);
          break;
        case value::timestamp:
          fs[i].setTimestamp(f.i);
          break;
        }
      }
    }
    try {
      return client->wait(req.send()).getResult().getWritten();
    } catch (const kj::Exception& e) {
      FAIL("write " << group << ": " << e.getDescription().cStr());
    }
    return 0;
  }

  /// Group "users" (a 12-wide vector and 4 fields, 5 entities, 6 versions:
  /// u1 at t1 and t2, u2..u5 at t1) and group "clicks" (one field, a 30-day
  /// ttl, no rows).
  void populate() {
    create_group("users", "emb", 12, 0,
                 {{"age", FeatureField::Type::INT64, false},
                  {"score", FeatureField::Type::FLOAT64, true},
                  {"city", FeatureField::Type::TEXT, true},
                  {"seen", FeatureField::Type::TIMESTAMP, true}});
    create_group("clicks", "", 0, int64_t{30} * 86'400'000,
                 {{"count", FeatureField::Type::INT64, false}});
    std::vector<float> halves;
    for (int i = 1; i <= 12; ++i)
      halves.push_back(0.5f * static_cast<float>(i));
    std::vector<float> quarters(12, 0.25f);
    std::vector<row_def> rows{
        {"u1", t1, quarters, {int_value(30), {}, text_value("Paris"), {}}},
        {"u1",
         t2,
         halves,
         {int_value(31), float_value(0.75), text_value("Berlin"),
          time_value(t1)}}};
    for (int i = 2; i <= 5; ++i)
      rows.push_back({"u" + std::to_string(i),
                      t1,
                      quarters,
                      {int_value(20 + i), {}, {}, {}}});
    REQUIRE(write("users", rows) == 6);
  }
};

using troupe::test::shell_run;

/// Sums the ENTITIES column of the shard rows ("0  head  features.shard.0
/// up  2 ...") and counts the rows.
std::pair<uint64_t, size_t> shard_entities(const std::string& text) {
  static const std::regex row{R"(\n\d+ +\S+ +features\.shard\.\d+ +up +(\d+))"};
  uint64_t sum = 0;
  size_t n = 0;
  for (std::sregex_iterator i{text.begin(), text.end(), row}, end; i != end;
       ++i, ++n)
    sum += std::stoull((*i)[1]);
  return {sum, n};
}

} // namespace

TEST_CASE("the shell lists feature groups and shows a group's shards",
          "[shell][features]") {
  features_fixture f;
  f.populate();
  shell_run s{std::move(f.client), {troupe::features::make_shell_extension()}};

  REQUIRE(s.run("groups"));
  INFO(s.out.str() << s.err.str());
  CHECK_THAT(s.out.str(),
             Catch::StartsWith("NAME ") && Catch::Contains("2 groups\n"));
  CHECK_THAT(s.out.str(),
             Catch::Matches(R"([\s\S]*\nusers +emb×12 +4 +- +3 +2\d\d\d-\d\d-)"
                            R"(\d\dT\d\d:\d\d:\d\dZ\n[\s\S]*)"));
  CHECK_THAT(s.out.str(),
             Catch::Matches(R"([\s\S]*\nclicks +- +1 +30d +3 +[\s\S]*)"));

  REQUIRE(s.run("group users"));
  auto text = s.out.str();
  INFO(text);
  CHECK_THAT(text, Catch::StartsWith("group      users\n") &&
                       Catch::Contains("\nvector     emb, 12 float32\n") &&
                       Catch::Contains("\nallow NaN  no\n") &&
                       Catch::Contains("\nttl        -\n"));
  CHECK_THAT(text, Catch::Contains("\nFIELD  TYPE       NULLABLE\n"
                                   "age    int64      no\n"
                                   "score  float64    yes\n"
                                   "city   text       yes\n"
                                   "seen   timestamp  yes\n"));
  auto [entities, shards] = shard_entities(text);
  CHECK(shards == 3);
  CHECK(entities == 5);
  CHECK_THAT(text, Catch::Matches(R"([\s\S]*\ntotal +3/3 up +5 +6 +[\d.]+ )"
                                  R"((B|KiB|MiB)\n)"));
  CHECK(s.err.str().empty());
}

TEST_CASE("the shell gets an entity's latest and as-of features",
          "[shell][features]") {
  features_fixture f;
  f.populate();
  shell_run s{std::move(f.client), {troupe::features::make_shell_extension()}};

  REQUIRE(s.run("get users u1"));
  CHECK(s.out.str() == "entity      u1\n"
                       "event time  2024-03-02T12:00:00Z\n"
                       "age = 31\n"
                       "score = 0.75\n"
                       "city = \"Berlin\"\n"
                       "seen = 2024-03-01T12:00:00Z\n"
                       "emb = [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, …, 5.5, 6]\n"
                       "  width 12, min 0.5, max 6, mean 3.25\n");

  const std::string older = "entity      u1\n"
                            "event time  2024-03-01T12:00:00Z\n"
                            "age = 30\n"
                            "score = (missing)\n"
                            "city = \"Paris\"\n"
                            "seen = (missing)\n"
                            "emb = [0.25, 0.25, 0.25, 0.25, 0.25, 0.25, "
                            "0.25, 0.25, …, 0.25, 0.25]\n"
                            "  width 12, min 0.25, max 0.25, mean 0.25\n";
  REQUIRE(s.run("get users u1 2024-03-02T11:59:59Z"));
  CHECK(s.out.str() == older);
  // Microseconds: t2 - 1 µs.
  REQUIRE(s.run("get users u1 1709380799999999"));
  CHECK(s.out.str() == older);
  // Exactly at an event time, that version is in force.
  REQUIRE(s.run("get users u1 2024-03-02T12:00:00Z"));
  CHECK_THAT(s.out.str(), Catch::Contains("\nage = 31\n"));

  // Before the first version, and an entity never written: not errors.
  REQUIRE(s.run("get users u1 2024-02-01"));
  CHECK(s.out.str() == "u1: not found in users\n");
  REQUIRE(s.run("get users nobody"));
  CHECK(s.out.str() == "nobody: not found in users\n");
  CHECK(s.sh->failures() == 0);
}

TEST_CASE("the shell shows the feature store's errors", "[shell][features]") {
  features_fixture f;
  f.populate();
  shell_run s{std::move(f.client), {troupe::features::make_shell_extension()}};

  CHECK_FALSE(s.run("get nope u1"));
  CHECK(s.out.str().empty());
  CHECK_THAT(s.err.str(), Catch::StartsWith("error: ") &&
                              Catch::Contains("no feature group 'nope'"));

  CHECK_FALSE(s.run("group nope"));
  CHECK_THAT(s.err.str(), Catch::StartsWith("error: ") &&
                              Catch::Contains("no feature group 'nope'"));

  CHECK_FALSE(s.run("get users u1 yesterday"));
  CHECK(s.err.str() == "error: AS_OF 'yesterday' is neither an ISO time in "
                       "UTC (2024-03-01T12:00:00Z) nor microseconds since "
                       "the epoch\n");

  CHECK_FALSE(s.run("get users"));
  CHECK(s.err.str() == "usage: get G ENTITY [AS_OF]\n");
  CHECK(s.sh->failures() == 4);
}

TEST_CASE("the shell completes feature group names", "[shell][features]") {
  features_fixture f;
  f.populate();
  shell_run s{std::move(f.client), {troupe::features::make_shell_extension()}};

  CHECK(s.sh->completions("group ", "") == words{"clicks", "users"});
  CHECK(s.sh->completions("nodes; get ", "u") == words{"users"});
  CHECK(s.sh->completions("get users ", "").empty());
  CHECK(s.sh->completions("groups ", "").empty());
  CHECK(s.sh->completions("", "gr") == words{"group", "groups"});
}

// -- pure parts (no cluster) --------------------------------------------------

TEST_CASE("AS_OF is an ISO time in UTC or microseconds", "[shell]") {
  using troupe::features::parse_as_of;
  CHECK(parse_as_of("2024-03-01T12:00:00Z").value() == t1);
  CHECK(parse_as_of("2024-03-01T12:00:00").value() == t1);
  CHECK(parse_as_of("2024-03-01T12:00").value() == t1);
  CHECK(parse_as_of("2024-03-01T13:30:00+01:30").value() == t1);
  CHECK(parse_as_of("2024-03-01T12:00:00.25Z").value() == t1 + 250'000);
  CHECK(parse_as_of("2024-03-02").value() == t2 - int64_t{43'200} * 1'000'000);
  CHECK(parse_as_of("1970-01-01T00:00:00Z").value() == 0);
  CHECK(parse_as_of("1969-12-31T23:59:59Z").value() == -1'000'000);
  CHECK(parse_as_of("1709294400000000").value() == t1);
  CHECK(parse_as_of("-5").value() == -5);
  CHECK_FALSE(parse_as_of("2023-02-29"));
  CHECK_FALSE(parse_as_of("2024-13-01"));
  CHECK_FALSE(parse_as_of("2024-03-01T24:00"));
  CHECK_FALSE(parse_as_of("2024-03-01T12:00:00Zx"));
  CHECK_FALSE(parse_as_of("99999999999999999999"));
  CHECK_FALSE(parse_as_of(""));
}

TEST_CASE("a feature row renders fractions, NaN and short vectors", "[shell]") {
  auto group = troupe::make_envelope<troupe::schema::FeatureGroup>([](auto g) {
    g.setName("g");
    g.setVectorName("v");
    g.setWidth(3);
    g.initFields(1)[0].setName("at");
  });
  auto row = troupe::make_envelope<troupe::schema::FeatureRow>([](auto r) {
    r.setEntity("e");
    r.setEventTime(-1);
    auto v = r.initVector(3);
    v.set(0, 1.0f);
    v.set(1, std::numeric_limits<float>::quiet_NaN());
    v.set(2, 3.0f);
    r.initFields(1)[0].setTimestamp(t1 + 250'000);
  });
  CHECK(troupe::features::format_feature_row(group, row).value() ==
        "entity      e\n"
        "event time  1969-12-31T23:59:59.999999Z\n"
        "at = 2024-03-01T12:00:00.250Z\n"
        "v = [1, nan, 3]\n"
        "  width 3, min 1, max 3, mean 2, 1 NaN\n");
  // A row of another type is an error, not a crash.
  CHECK_FALSE(troupe::features::format_feature_row(row, group));
}

TEST_CASE("the groups table shows ttl and vector compactly", "[shell]") {
  auto list =
      troupe::make_envelope<troupe::schema::FeatureGroupList>([](auto l) {
        auto gs = l.initGroups(2);
        gs[0].setName("a");
        gs[0].setTtlMs(int64_t{36} * 3'600'000);
        gs[0].setShards(4);
        gs[0].setCreatedMs(1'709'294'400'123);
        gs[1].setName("bb");
        gs[1].setVectorName("v");
        gs[1].setWidth(8);
        gs[1].setTtlMs(90'000);
        gs[1].initFields(2);
      });
  CHECK(troupe::features::format_feature_groups(list).value() ==
        "NAME  VECTOR  FIELDS  TTL    SHARDS  CREATED\n"
        "a     -       0       1d12h  4       2024-03-01T12:00:00Z\n"
        "bb    v×8     2       1m30s  0       -\n"
        "2 groups\n");
}
