#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <capnp/message.h>

#include "actors/features/group.hpp"
#include "actors/features/store.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/features/rows.hpp"

using namespace troupe;
using namespace troupe::features;
using namespace troupe::features::test_rows;

namespace {

constexpr int64_t sec = 1000000;

// -- rows as plain values -----------------------------------------------------

/// A row to write, or a row read back.
struct row_data {
  std::string entity;
  int64_t time = 0;
  std::vector<float> vec;
  std::vector<val> fields;
  bool found = true;
};

void fill(schema::FeatureRow::Builder b, const row_data& r) {
  b.setEntity(capnp::Text::Reader{r.entity.c_str(), r.entity.size()});
  b.setEventTime(r.time);
  fill_values(b, r.vec, r.fields);
}

row_data from_reader(schema::FeatureRow::Reader r) {
  row_data out;
  out.entity.assign(r.getEntity().cStr(), r.getEntity().size());
  out.time = r.getEventTime();
  out.found = r.getFound();
  for (auto x : r.getVector())
    out.vec.push_back(x);
  using V = schema::FeatureValue;
  for (auto f : r.getFields()) {
    switch (f.which()) {
    case V::MISSING:
      out.fields.push_back(missing());
      break;
    case V::INT64:
      out.fields.push_back(i64(f.getInt64()));
      break;
    case V::FLOAT64:
      out.fields.push_back(f64(f.getFloat64()));
      break;
    case V::TEXT:
      out.fields.push_back(text(f.getText()));
      break;
    case V::TIMESTAMP:
      out.fields.push_back(val{val::ts, f.getTimestamp(), 0, {}});
      break;
    }
  }
  return out;
}

/// Printable entity bytes.
std::string show(const std::string& e) {
  std::string out;
  for (unsigned char c : e) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// -- talking to the store -----------------------------------------------------

/// The group most tests use: a vector "emb" of width 3, a non-nullable
/// int64 "count", a nullable float64 "score" and a nullable text "label".
group_spec emb_group(const std::string& name = "emb") {
  group_spec g;
  g.name = name;
  g.vector_name = "emb";
  g.width = 3;
  g.fields = {{"count", field_type::int64, false},
              {"score", field_type::float64, true},
              {"label", field_type::text, true}};
  return g;
}

std::shared_ptr<shard_store> open_store(const std::string& dir,
                                        uint32_t index = 0) {
  auto s = shard_store::open(dir, index);
  REQUIRE(s);
  return *s;
}

caf::expected<uint64_t> write(shard_store& s, const std::string& group,
                              const std::vector<row_data>& rows,
                              bool upsert = false, int64_t now = 0,
                              const std::vector<uint32_t>& subset = {}) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::FeatureWrite>();
  b.setGroup(group);
  b.setUpsert(upsert);
  auto list = b.initRows(static_cast<unsigned>(rows.size()));
  for (unsigned i = 0; i < rows.size(); ++i)
    fill(list[i], rows[i]);
  return s.write(b.asReader(), subset, now);
}

row_data get(const shard_store& s, const std::string& group,
             const std::string& entity, int64_t as_of, int64_t now = 0) {
  capnp::MallocMessageBuilder msg;
  auto out = msg.initRoot<schema::FeatureRow>();
  auto err = s.read_one(group, entity, as_of, out, now);
  INFO(describe(err));
  REQUIRE_FALSE(err);
  return from_reader(out.asReader());
}

struct key {
  std::string entity;
  int64_t as_of;
};

/// Reads keys[i] for i in `indices`; the other slots stay default.
std::vector<row_data> read(const shard_store& s, const std::string& group,
                           const std::vector<key>& keys,
                           const std::vector<uint32_t>& indices,
                           int64_t now = 0) {
  capnp::MallocMessageBuilder in;
  auto ks = in.initRoot<schema::Lookup>().initKeys(
      static_cast<unsigned>(keys.size()));
  for (unsigned i = 0; i < keys.size(); ++i) {
    ks[i].setEntity(
        capnp::Text::Reader{keys[i].entity.c_str(), keys[i].entity.size()});
    ks[i].setAsOf(keys[i].as_of);
  }
  capnp::MallocMessageBuilder out;
  auto rows = out.initRoot<schema::GroupRows>().initRows(
      static_cast<unsigned>(keys.size()));
  auto err = s.read(group, ks.asReader(), indices, rows, now);
  INFO(describe(err));
  REQUIRE_FALSE(err);
  std::vector<row_data> res;
  for (auto r : rows.asReader())
    res.push_back(from_reader(r));
  return res;
}

shard_group_stats stats(const shard_store& s, const std::string& group) {
  auto st = s.stats(group);
  REQUIRE(st);
  return *st;
}

/// Every entity's latest live row, paging `limit` at a time; also counts
/// the pages.
std::vector<row_data> scan_all(const shard_store& s, const std::string& group,
                               size_t limit, int64_t now, size_t& pages) {
  std::vector<row_data> out;
  std::string after;
  pages = 0;
  do {
    size_t before = out.size();
    auto next = s.scan_latest(
        group, after, limit,
        [&](schema::FeatureRow::Reader r) { out.push_back(from_reader(r)); },
        now);
    REQUIRE(next);
    REQUIRE(out.size() - before <= limit);
    ++pages;
    REQUIRE(pages < 100000);
    after = *next;
  } while (!after.empty());
  return out;
}

// -- a brute-force reference --------------------------------------------------

/// Every entity's versions by time, as the store should hold them.
using reference = std::map<std::string, std::map<int64_t, row_data>>;

/// The version of `entity` in force at `as_of`: the latest at or before it.
const row_data* version_at(const reference& ref, const std::string& entity,
                           int64_t as_of) {
  auto e = ref.find(entity);
  if (e == ref.end()) return nullptr;
  auto i = e->second.upper_bound(as_of);
  if (i == e->second.begin()) return nullptr;
  return &std::prev(i)->second;
}

void check_same(const row_data& got, const row_data* want,
                const std::string& entity) {
  if (!want) {
    CHECK_FALSE(got.found);
    CHECK(got.entity == entity);
    return;
  }
  CHECK(got.found);
  CHECK(got.entity == want->entity);
  CHECK(got.time == want->time);
  CHECK(got.vec == want->vec);
  CHECK(got.fields == want->fields);
}

/// `n` distinct random binary entities of 1..12 bytes; every fifth one
/// extends or cuts an earlier one so that keys share prefixes.
std::vector<std::string> make_entities(std::mt19937_64& rng, size_t n) {
  std::uniform_int_distribution<int> len{1, 12};
  std::uniform_int_distribution<int> byte{0, 255};
  std::set<std::string> seen;
  std::vector<std::string> out;
  while (out.size() < n) {
    std::string e;
    if (!out.empty() && out.size() % 5 == 0) {
      e = out[rng() % out.size()];
      if (rng() % 2 == 0 && e.size() > 1)
        e.resize(e.size() - 1);
      else
        e.push_back(static_cast<char>(byte(rng)));
    } else {
      e.resize(static_cast<size_t>(len(rng)));
      for (auto& c : e)
        c = static_cast<char>(byte(rng));
    }
    if (seen.insert(e).second) out.push_back(e);
  }
  return out;
}

/// A random row of emb_group() for `entity` at `time`.
row_data random_row(std::mt19937_64& rng, const std::string& entity,
                    int64_t time) {
  std::uniform_real_distribution<float> f{-100, 100};
  row_data r;
  r.entity = entity;
  r.time = time;
  r.vec = {f(rng), f(rng), f(rng)};
  r.fields.push_back(i64(static_cast<int64_t>(rng() % 1000000)));
  r.fields.push_back(rng() % 3 == 0 ? missing() : f64(f(rng) * 1.5));
  r.fields.push_back(rng() % 3 == 0 ? missing()
                                    : text("t" + std::to_string(rng() % 999)));
  return r;
}

/// Writes random versions of `entities` (1..10 each, event times drawn from
/// 80 instants on both sides of the epoch, plus rewrites of the same entity
/// and time with new values), shuffled into batches of 1..64 rows. Returns
/// what the store should hold.
reference populate(shard_store& s, const std::string& group,
                   const std::vector<std::string>& entities,
                   std::mt19937_64& rng) {
  auto instant = [&] {
    auto k = static_cast<int64_t>(rng() % 80);
    return (k - 40) * sec + k % 3; // odd microseconds too
  };
  std::vector<row_data> rows;
  for (auto& e : entities) {
    auto n = 1 + rng() % 10;
    for (size_t v = 0; v < n; ++v)
      rows.push_back(random_row(rng, e, instant()));
  }
  auto originals = rows.size();
  for (size_t i = 0; i < originals / 5; ++i) {
    auto& old = rows[rng() % originals];
    rows.push_back(random_row(rng, old.entity, old.time));
  }
  std::shuffle(rows.begin(), rows.end(), rng);
  reference ref;
  size_t pos = 0;
  while (pos < rows.size()) {
    auto n = std::min<size_t>(1 + rng() % 64, rows.size() - pos);
    std::vector<row_data> batch(rows.begin() + static_cast<ptrdiff_t>(pos),
                                rows.begin() + static_cast<ptrdiff_t>(pos + n));
    auto written = write(s, group, batch);
    INFO((written ? std::string{} : describe(written.error())));
    REQUIRE(written);
    REQUIRE(*written == n);
    for (auto& r : batch)
      ref[r.entity][r.time] = r;
    pos += n;
  }
  return ref;
}

size_t count_versions(const reference& ref) {
  size_t n = 0;
  for (auto& [e, vs] : ref)
    n += vs.size();
  return n;
}

} // namespace

// -- point-in-time reads ------------------------------------------------------

TEST_CASE("as-of reads return the latest version at or before the time, "
          "matching a brute-force reference",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  REQUIRE_FALSE(s->add_group(emb_group()));
  std::mt19937_64 rng{20240301};
  auto entities = make_entities(rng, 330);
  std::vector<std::string> written(entities.begin(), entities.begin() + 300);
  std::vector<std::string> unknown(entities.begin() + 300, entities.end());
  auto ref = populate(*s, "emb", written, rng);
  REQUIRE(ref.size() == 300);

  auto st = stats(*s, "emb");
  CHECK(st.entities == ref.size());
  CHECK(st.versions == count_versions(ref));
  CHECK(st.bytes > 0);

  // as-of times of interest for an entity
  auto pick_time = [&](const std::string& e) -> int64_t {
    auto it = ref.find(e);
    std::vector<int64_t> ts;
    if (it != ref.end())
      for (auto& [t, r] : it->second)
        ts.push_back(t);
    auto any = [&] { return ts[rng() % ts.size()]; };
    switch (ts.empty() ? 9 : rng() % 10) {
    case 0:
    case 1:
      return any(); // exactly at a version
    case 2:
      return any() - 1; // just before one
    case 3:
      return any() + 1; // just after one
    case 4:
      return ts.front() - 1 - static_cast<int64_t>(rng() % (5 * sec));
    case 5:
      return ts.back() + static_cast<int64_t>(rng() % (5 * sec));
    case 6:
      return rng() % 2 ? INT64_MAX : INT64_MIN;
    default:
      return static_cast<int64_t>(rng() % (90 * sec)) - 45 * sec;
    }
  };

  // how often each kind of answer came up: all must be common
  size_t at_version = 0;
  size_t between = 0;
  size_t before_first = 0;
  size_t not_written = 0;
  for (int round = 0; round < 8; ++round) {
    std::vector<key> keys;
    for (int i = 0; i < 1000; ++i) {
      auto& e = rng() % 10 == 0 ? unknown[rng() % unknown.size()]
                                : written[rng() % written.size()];
      keys.push_back({e, pick_time(e)});
    }
    std::vector<uint32_t> indices;
    for (uint32_t i = 0; i < keys.size(); ++i)
      if (rng() % 3 != 0) indices.push_back(i);
    auto rows = read(*s, "emb", keys, indices);
    std::set<uint32_t> asked(indices.begin(), indices.end());
    for (uint32_t i = 0; i < keys.size(); ++i) {
      auto& k = keys[i];
      INFO("round " << round << ", key " << i << ": entity '" << show(k.entity)
                    << "' as of " << k.as_of);
      if (!asked.count(i)) {
        // slots of other shards are left alone
        CHECK(rows[i].entity.empty());
        CHECK(rows[i].time == 0);
        continue;
      }
      auto want = version_at(ref, k.entity, k.as_of);
      check_same(rows[i], want, k.entity);
      check_same(get(*s, "emb", k.entity, k.as_of), want, k.entity);
      if (!ref.count(k.entity))
        ++not_written;
      else if (!want)
        ++before_first;
      else if (want->time == k.as_of)
        ++at_version;
      else
        ++between;
    }
  }
  CHECK(at_version > 500);
  CHECK(between > 500);
  CHECK(before_first > 200);
  CHECK(not_written > 200);
}

TEST_CASE("reads of an unknown group fail, naming the group",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard", 5);
  capnp::MallocMessageBuilder msg;
  auto out = msg.initRoot<schema::FeatureRow>();
  auto err = s->read_one("nope", "a", INT64_MAX, out, 0);
  REQUIRE(err);
  CHECK(err.code() == static_cast<uint8_t>(errc::not_found));
  CHECK_THAT(describe(err), Catch::Contains("nope"));
  auto w =
      write(*s, "nope", {{"a", 1, {1, 2, 3}, {i64(1), missing(), missing()}}});
  REQUIRE_FALSE(w);
  CHECK_THAT(describe(w.error()), Catch::Contains("nope"));
  CHECK_FALSE(s->stats("nope"));
}

TEST_CASE("entities that share prefixes or hold binary bytes never see each "
          "other's versions",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  REQUIRE_FALSE(s->add_group(emb_group()));
  std::vector<std::string> entities{"a",
                                    "ab",
                                    "abc",
                                    std::string{"ab\0", 3},
                                    std::string{"\0", 1},
                                    std::string{"\0\0", 2},
                                    std::string{"\x01", 1},
                                    std::string{"\xff", 1},
                                    std::string{"\xff\xff", 2},
                                    "b",
                                    std::string(254, 'a'),
                                    std::string(255, 'a')};
  reference ref;
  std::vector<row_data> rows;
  for (size_t i = 0; i < entities.size(); ++i) {
    auto f = static_cast<float>(i);
    auto t = static_cast<int64_t>(i + 1) * 10;
    for (auto time : {t, t + 5}) {
      rows.push_back({entities[i],
                      time,
                      {f, f, f},
                      {i64(static_cast<int64_t>(i)), missing(), missing()}});
      ref[entities[i]][time] = rows.back();
    }
  }
  REQUIRE(write(*s, "emb", rows));
  auto st = stats(*s, "emb");
  CHECK(st.entities == entities.size());
  CHECK(st.versions == 2 * entities.size());

  auto probes = entities;
  for (auto extra :
       {std::string{"abcd"}, std::string{"a\0", 2}, std::string{"\0\0\0", 3},
        std::string{"\xfe", 1}, std::string{}, std::string(253, 'a'),
        std::string(256, 'a')})
    probes.push_back(extra);
  for (auto& e : probes) {
    std::vector<key> keys;
    for (int64_t t = 0; t <= 200; ++t)
      keys.push_back({e, t});
    keys.push_back({e, INT64_MAX});
    std::vector<uint32_t> all(keys.size());
    for (uint32_t i = 0; i < all.size(); ++i)
      all[i] = i;
    auto got = read(*s, "emb", keys, all);
    for (size_t i = 0; i < keys.size(); ++i) {
      INFO("entity '" << show(e) << "' (" << e.size() << " bytes) as of "
                      << keys[i].as_of);
      check_same(got[i], version_at(ref, e, keys[i].as_of), e);
    }
  }

  auto too_long = write(
      *s, "emb",
      {{std::string(256, 'a'), 1, {1, 2, 3}, {i64(1), missing(), missing()}}});
  REQUIRE_FALSE(too_long);
  CHECK_THAT(describe(too_long.error()), Catch::Contains("256"));
}

// -- writes -------------------------------------------------------------------

TEST_CASE("a batch write is all or nothing", "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  REQUIRE_FALSE(s->add_group(emb_group()));
  auto row = [](std::string e, float x, size_t width = 3) {
    return row_data{std::move(e), 10 * sec, std::vector<float>(width, x),
                    std::vector<val>{i64(1), f64(x), missing()}};
  };
  auto first = write(*s, "emb", {row("a", 1), row("b", 1), row("c", 1)});
  REQUIRE(first);
  CHECK(*first == 3);

  // the third row has a wrong width: nothing of this batch lands, not even
  // the rewrite of "a" before it
  auto bad =
      write(*s, "emb", {row("d", 2), row("a", 2), row("e", 2, 4), row("f", 2)});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == static_cast<uint8_t>(errc::invalid_argument));
  CHECK_THAT(describe(bad.error()), Catch::Contains("emb") &&
                                        Catch::Contains("row 3") &&
                                        Catch::Contains("'e'"));
  auto st = stats(*s, "emb");
  CHECK(st.entities == 3);
  CHECK(st.versions == 3);
  CHECK(get(*s, "emb", "a", INT64_MAX).vec == std::vector<float>{1, 1, 1});
  for (auto e : {"d", "e", "f"})
    CHECK_FALSE(get(*s, "emb", e, INT64_MAX).found);

  // NaN and a wrong type fail a batch the same way
  auto nan_row = row("g", 2);
  nan_row.vec[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(write(*s, "emb", {row("h", 2), nan_row}));
  auto typed = row("i", 2);
  typed.fields[2] = i64(5);
  CHECK_FALSE(write(*s, "emb", {row("j", 2), typed}));
  CHECK(stats(*s, "emb").versions == 3);
  CHECK_FALSE(get(*s, "emb", "h", INT64_MAX).found);
  CHECK_FALSE(get(*s, "emb", "j", INT64_MAX).found);
}

TEST_CASE("a write of selected rows stores only those, and a bad index "
          "stores none",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  REQUIRE_FALSE(s->add_group(emb_group()));
  std::vector<row_data> rows;
  for (auto e : {"x", "y", "z"})
    rows.push_back({e, 1, {1, 2, 3}, {i64(1), missing(), missing()}});
  rows[1].vec = {1}; // wrong width, but not selected
  auto out_of_range = write(*s, "emb", rows, false, 0, {0, 7});
  REQUIRE_FALSE(out_of_range);
  CHECK_THAT(describe(out_of_range.error()), Catch::Contains("7"));
  CHECK_FALSE(get(*s, "emb", "x", INT64_MAX).found);
  auto picked = write(*s, "emb", rows, false, 0, {0, 2});
  REQUIRE(picked);
  CHECK(*picked == 2);
  CHECK(get(*s, "emb", "x", INT64_MAX).found);
  CHECK_FALSE(get(*s, "emb", "y", INT64_MAX).found);
  CHECK(get(*s, "emb", "z", INT64_MAX).found);
}

TEST_CASE("writing the same entity and time again replaces that version",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  REQUIRE_FALSE(s->add_group(emb_group()));
  row_data v1{"a", 5 * sec, {1, 1, 1}, {i64(1), f64(1), text("one")}};
  row_data v2{"a", 5 * sec, {2, 2, 2}, {i64(2), missing(), text("two")}};
  row_data v3{"a", 5 * sec, {3, 3, 3}, {i64(3), f64(3), missing()}};
  REQUIRE(write(*s, "emb", {v1}));
  REQUIRE(write(*s, "emb", {v2, v3})); // within one batch: the later wins
  check_same(get(*s, "emb", "a", 5 * sec), &v3, "a");
  REQUIRE(write(*s, "emb", {v2}));
  check_same(get(*s, "emb", "a", INT64_MAX), &v2, "a");
  CHECK(stats(*s, "emb").versions == 1);
}

TEST_CASE("an upsert fills missing fields and an empty vector from the "
          "version in force at the row's time",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  REQUIRE_FALSE(s->add_group(emb_group()));
  row_data v10{"u", 10, {1, 2, 3}, {i64(5), f64(0.5), text("x")}};
  row_data v20{"u", 20, {4, 5, 6}, {i64(6), missing(), text("y")}};
  REQUIRE(write(*s, "emb", {v10, v20}));

  // a new count at 30: everything else from the version at 20
  REQUIRE(
      write(*s, "emb", {{"u", 30, {}, {i64(7), missing(), missing()}}}, true));
  row_data want30{"u", 30, {4, 5, 6}, {i64(7), missing(), text("y")}};
  check_same(get(*s, "emb", "u", 30), &want30, "u");

  // a label at 15: filled from the version at 10, not the later ones
  REQUIRE(write(*s, "emb", {{"u", 15, {}, {missing(), missing(), text("z")}}},
                true));
  row_data want15{"u", 15, {1, 2, 3}, {i64(5), f64(0.5), text("z")}};
  check_same(get(*s, "emb", "u", 15), &want15, "u");
  check_same(get(*s, "emb", "u", 20), &v20, "u");

  // no fields at all, a new vector, at an existing time: merges into it
  REQUIRE(write(*s, "emb", {{"u", 10, {9, 9, 9}, {}}}, true));
  row_data want10{"u", 10, {9, 9, 9}, {i64(5), f64(0.5), text("x")}};
  check_same(get(*s, "emb", "u", 10), &want10, "u");

  // an earlier row of the same batch is the version in force for a later one
  REQUIRE(write(*s, "emb",
                {{"w", 1, {1, 1, 1}, {i64(1), f64(1), text("w")}},
                 {"w", 2, {}, {missing(), f64(2), missing()}}},
                true));
  row_data want_w{"w", 2, {1, 1, 1}, {i64(1), f64(2), text("w")}};
  check_same(get(*s, "emb", "w", 2), &want_w, "w");
}

TEST_CASE("an upsert with nothing to fill from must be complete",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  REQUIRE_FALSE(s->add_group(emb_group()));
  REQUIRE(
      write(*s, "emb", {{"u", 10, {1, 2, 3}, {i64(5), f64(0.5), text("x")}}}));
  // before the first version of u: no vector, no count to take
  auto no_vec =
      write(*s, "emb", {{"u", 5, {}, {i64(1), missing(), missing()}}}, true);
  REQUIRE_FALSE(no_vec);
  CHECK_THAT(describe(no_vec.error()), Catch::Contains("emb"));
  auto no_count = write(
      *s, "emb", {{"v", 5, {1, 1, 1}, {missing(), f64(1), missing()}}}, true);
  REQUIRE_FALSE(no_count);
  CHECK_THAT(describe(no_count.error()), Catch::Contains("'count'"));
  // a complete upsert of a new entity is a put
  REQUIRE(write(*s, "emb",
                {{"v", 5, {1, 1, 1}, {i64(1), missing(), missing()}}}, true));
  CHECK(stats(*s, "emb").versions == 2);
}

TEST_CASE("a put with a missing non-nullable field fails, missing nullable "
          "fields read back missing",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  REQUIRE_FALSE(s->add_group(emb_group()));
  REQUIRE(
      write(*s, "emb", {{"u", 10, {1, 2, 3}, {i64(5), f64(1), text("x")}}}));
  // a put does not fill from the previous version
  auto err =
      write(*s, "emb", {{"u", 20, {1, 2, 3}, {missing(), f64(1), text("x")}}});
  REQUIRE_FALSE(err);
  CHECK_THAT(describe(err.error()), Catch::Contains("emb") &&
                                        Catch::Contains("row 1") &&
                                        Catch::Contains("'count'"));
  CHECK(get(*s, "emb", "u", INT64_MAX).time == 10);
  row_data sparse{"u", 20, {1, 2, 3}, {i64(6), missing(), missing()}};
  REQUIRE(write(*s, "emb", {sparse}));
  check_same(get(*s, "emb", "u", INT64_MAX), &sparse, "u");
  // a put with an empty vector is not an upsert either
  CHECK_FALSE(
      write(*s, "emb", {{"u", 30, {}, {i64(6), missing(), missing()}}}));
}

TEST_CASE("an upsert with a vector of the wrong width is refused",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  REQUIRE_FALSE(s->add_group(emb_group()));
  REQUIRE(
      write(*s, "emb", {{"u", 10, {1, 2, 3}, {i64(5), f64(1), text("x")}}}));
  auto err = write(*s, "emb",
                   {{"u", 20, {7, 7}, {i64(6), missing(), missing()}}}, true);
  CHECK_FALSE(err);
  CHECK(get(*s, "emb", "u", INT64_MAX).time == 10);
}

TEST_CASE("an upsert with more values than the group has fields is refused",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  REQUIRE_FALSE(s->add_group(emb_group()));
  REQUIRE(
      write(*s, "emb", {{"u", 10, {1, 2, 3}, {i64(5), f64(1), text("x")}}}));
  auto more = write(
      *s, "emb", {{"u", 30, {1, 2, 3}, {i64(6), missing(), missing(), i64(9)}}},
      true);
  CHECK_FALSE(more);
  CHECK(get(*s, "emb", "u", INT64_MAX).time == 10);
}

// -- retention ----------------------------------------------------------------

TEST_CASE("versions older than now - ttl are not read, and sweep deletes "
          "exactly those",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  group_spec g;
  g.name = "recent";
  g.fields = {{"x", field_type::int64, false}};
  g.ttl_ms = 10000; // 10 s
  REQUIRE_FALSE(s->add_group(g));
  REQUIRE_FALSE(s->add_group(emb_group())); // kept forever
  const int64_t now = 1000 * sec;
  const int64_t cutoff = now - 10 * sec;
  auto x = [](std::string e, int64_t t) {
    return row_data{std::move(e), t, {}, {i64(t)}};
  };
  REQUIRE(write(*s, "recent",
                {x("a", 980 * sec), x("a", cutoff - 1), x("a", cutoff),
                 x("a", 995 * sec), x("a", 1005 * sec), x("b", 900 * sec),
                 x("b", 950 * sec)},
                false, now));
  REQUIRE(write(*s, "emb",
                {{"old", 1, {1, 2, 3}, {i64(1), missing(), missing()}}}));

  CHECK(get(*s, "recent", "a", INT64_MAX, now).time == 1005 * sec);
  CHECK(get(*s, "recent", "a", 996 * sec, now).time == 995 * sec);
  CHECK(get(*s, "recent", "a", cutoff, now).time == cutoff); // the boundary
  CHECK_FALSE(get(*s, "recent", "a", cutoff - 1, now).found);
  CHECK_FALSE(get(*s, "recent", "a", 985 * sec, now).found);
  CHECK_FALSE(get(*s, "recent", "b", INT64_MAX, now).found);
  // earlier, they were alive
  CHECK(get(*s, "recent", "a", 985 * sec, 985 * sec).time == 980 * sec);
  CHECK(get(*s, "recent", "b", INT64_MAX, 955 * sec).time == 950 * sec);
  auto batch =
      read(*s, "recent", {{"a", cutoff - 1}, {"b", INT64_MAX}}, {0, 1}, now);
  CHECK_FALSE(batch[0].found);
  CHECK_FALSE(batch[1].found);
  CHECK(get(*s, "emb", "old", INT64_MAX, now).found);

  size_t pages = 0;
  auto live = scan_all(*s, "recent", 10, now, pages);
  REQUIRE(live.size() == 1);
  CHECK(live[0].entity == "a");
  CHECK(live[0].time == 1005 * sec);

  auto before = stats(*s, "recent");
  CHECK(before.entities == 2);
  CHECK(before.versions == 7);
  auto swept = s->sweep(now);
  REQUIRE(swept);
  CHECK(*swept == 4);
  auto after = stats(*s, "recent");
  CHECK(after.entities == 1);
  CHECK(after.versions == 3);
  CHECK(stats(*s, "emb").versions == 1);
  // gone for good, even for a reader from the past
  CHECK_FALSE(get(*s, "recent", "a", 985 * sec, 0).found);
  CHECK_FALSE(get(*s, "recent", "b", INT64_MAX, 0).found);
  CHECK(get(*s, "recent", "a", cutoff, 0).time == cutoff);
  auto again = s->sweep(now);
  REQUIRE(again);
  CHECK(*again == 0);
}

TEST_CASE("a sweep over many pages deletes every expired version and nothing "
          "else",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  group_spec g;
  g.name = "wide";
  g.vector_name = "v";
  g.width = 32; // rows of ~150 bytes: many pages
  g.fields = {{"n", field_type::int64, true}};
  g.ttl_ms = 3600 * 1000;
  REQUIRE_FALSE(s->add_group(g));
  const int64_t now = 1709251200 * sec;
  const int64_t cutoff = now - 3600 * sec;
  std::mt19937_64 rng{77};
  std::map<std::string, std::set<int64_t>> times;
  std::vector<row_data> rows;
  for (int e = 0; e < 3000; ++e) {
    auto entity = "entity-" + std::to_string(e);
    auto n = 1 + rng() % 6;
    for (size_t v = 0; v < n; ++v) {
      auto t = now - static_cast<int64_t>(rng() % (7200 * sec));
      if (v == 0 && e % 7 == 0) t = cutoff; // the boundary stays
      times[entity].insert(t);
      rows.push_back({entity, t, std::vector<float>(32, 0.5f), {i64(e)}});
    }
  }
  for (size_t pos = 0; pos < rows.size(); pos += 500) {
    std::vector<row_data> batch(rows.begin() + static_cast<ptrdiff_t>(pos),
                                rows.begin() + static_cast<ptrdiff_t>(std::min(
                                                   pos + 500, rows.size())));
    REQUIRE(write(*s, "wide", batch, false, now));
  }
  uint64_t total = 0;
  uint64_t expired = 0;
  uint64_t live_entities = 0;
  for (auto& [e, ts] : times) {
    total += ts.size();
    bool any = false;
    for (auto t : ts) {
      expired += t < cutoff;
      any |= t >= cutoff;
    }
    live_entities += any;
  }
  REQUIRE(stats(*s, "wide").versions == total);
  REQUIRE(expired > 1000);
  auto swept = s->sweep(now);
  REQUIRE(swept);
  CHECK(*swept == expired);
  auto st = stats(*s, "wide");
  CHECK(st.versions == total - expired);
  CHECK(st.entities == live_entities);
  for (auto& [e, ts] : times)
    for (auto t : ts) {
      INFO(e << " at " << t);
      auto got = get(*s, "wide", e, t, 0); // no TTL filter: what is stored
      if (t < cutoff) {
        CHECK_FALSE(got.found);
      } else {
        CHECK(got.found);
        CHECK(got.time == t);
      }
    }
}

TEST_CASE("an upsert does not fill from an expired version",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  group_spec g;
  g.name = "recent";
  g.fields = {{"x", field_type::int64, false},
              {"note", field_type::text, true}};
  g.ttl_ms = 10000;
  REQUIRE_FALSE(s->add_group(g));
  const int64_t now = 1000 * sec;
  REQUIRE(write(*s, "recent",
                {{"a", 980 * sec, {}, {i64(1), text("old")}},
                 {"a", 995 * sec, {}, {i64(2), text("new")}}},
                false, now));
  // in force at 996 s: the live version at 995 s
  REQUIRE(write(*s, "recent", {{"a", 996 * sec, {}, {missing(), text("n")}}},
                true, now));
  row_data want{"a", 996 * sec, {}, {i64(2), text("n")}};
  check_same(get(*s, "recent", "a", 996 * sec, now), &want, "a");
  // in force at 985 s: the version at 980 s, which has expired
  auto err = write(*s, "recent", {{"a", 985 * sec, {}, {missing(), text("m")}}},
                   true, now);
  REQUIRE_FALSE(err);
  CHECK_THAT(describe(err.error()), Catch::Contains("'x'"));
}

TEST_CASE("a ttl above 1,000 years is refused, and the longest one keeps "
          "versions",
          "[features][store]") {
  for (int64_t ttl : {INT64_MAX, INT64_MAX / 1000 + 1, max_ttl_ms + 1}) {
    group_spec g;
    g.name = "long";
    g.fields = {{"x", field_type::int64, false}};
    g.ttl_ms = ttl;
    auto err = validate_group(g);
    REQUIRE(err);
    CHECK_THAT(describe(err), Catch::Contains("1,000 years"));
  }
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  group_spec g;
  g.name = "long";
  g.fields = {{"x", field_type::int64, false}};
  g.ttl_ms = max_ttl_ms;
  REQUIRE_FALSE(validate_group(g));
  REQUIRE_FALSE(s->add_group(g));
  const int64_t now = 1709251200 * sec;
  REQUIRE(write(*s, g.name, {{"a", now - sec, {}, {i64(1)}}}, false, now));
  REQUIRE(write(*s, g.name,
                {{"a", int64_t{-500} * 365 * 86400 * sec, {}, {i64(2)}}}, false,
                now));
  CHECK(get(*s, g.name, "a", INT64_MAX, now).found);
  auto swept = s->sweep(now);
  REQUIRE(swept);
  CHECK(*swept == 0);
  CHECK(stats(*s, g.name).versions == 2);
}

// -- stats and scans ----------------------------------------------------------

TEST_CASE("scan_latest pages through every entity once with its latest "
          "version and ends with \"\"",
          "[features][store]") {
  test::temp_dir dir;
  auto s = open_store(dir / "shard");
  REQUIRE_FALSE(s->add_group(emb_group()));
  size_t pages = 0;
  CHECK(scan_all(*s, "emb", 7, 0, pages).empty());
  CHECK(pages == 1);
  std::mt19937_64 rng{5};
  auto entities = make_entities(rng, 300);
  for (size_t n : {1, 7, 49, 50, 300}) {
    INFO(n << " entities");
    test::temp_dir sub;
    auto t = open_store(sub / "shard");
    REQUIRE_FALSE(t->add_group(emb_group()));
    std::vector<std::string> some(entities.begin(),
                                  entities.begin() + static_cast<ptrdiff_t>(n));
    auto ref = populate(*t, "emb", some, rng);
    auto st = stats(*t, "emb");
    CHECK(st.entities == n);
    CHECK(st.versions == count_versions(ref));
    auto rows = scan_all(*t, "emb", 7, 0, pages);
    CHECK(pages == (n + 6) / 7);
    std::set<std::string> seen;
    for (auto& r : rows) {
      INFO("entity '" << show(r.entity) << "'");
      CHECK(seen.insert(r.entity).second);
      check_same(r, version_at(ref, r.entity, INT64_MAX), r.entity);
    }
    CHECK(seen.size() == n);
    // a page size of one visits the same rows
    auto one = scan_all(*t, "emb", 1, 0, pages);
    CHECK(one.size() == n);
    CHECK(pages == n);
  }
}

// -- persistence --------------------------------------------------------------

TEST_CASE("groups and rows persist across reopening, a group's definition "
          "cannot change",
          "[features][store]") {
  test::temp_dir dir;
  auto recent = emb_group("recent");
  recent.ttl_ms = 60000;
  recent.description = "kept a minute";
  recent.created_ms = 1234;
  recent.shards = 4;
  reference ref;
  {
    auto s = open_store(dir / "shard", 3);
    REQUIRE_FALSE(s->add_group(emb_group()));
    REQUIRE_FALSE(s->add_group(recent));
    REQUIRE_FALSE(s->add_group(emb_group())); // again: a no-op
    std::mt19937_64 rng{1};
    ref = populate(*s, "emb", make_entities(rng, 40), rng);
    REQUIRE(write(*s, "recent",
                  {{"r", 5 * sec, {1, 2, 3}, {i64(1), missing(), missing()}}},
                  false, 5 * sec));
    REQUIRE_FALSE(s->sync());
  }
  auto s = open_store(dir / "shard", 3);
  CHECK(s->index() == 3);
  auto groups = s->groups();
  REQUIRE(groups.size() == 2);
  auto emb = s->group("emb");
  REQUIRE(emb);
  CHECK(emb->same_definition(emb_group()));
  auto r = s->group("recent");
  REQUIRE(r);
  CHECK(r->same_definition(recent));
  CHECK(r->description == "kept a minute");
  CHECK(r->created_ms == 1234);
  CHECK(r->shards == 4);
  CHECK_FALSE(s->group("nope"));

  auto st = stats(*s, "emb");
  CHECK(st.entities == ref.size());
  CHECK(st.versions == count_versions(ref));
  for (auto& [e, versions] : ref)
    for (auto& [t, row] : versions) {
      INFO("entity '" << show(e) << "' at " << t);
      check_same(get(*s, "emb", e, t), &row, e);
    }
  CHECK(get(*s, "recent", "r", INT64_MAX, 6 * sec).found);
  CHECK_FALSE(get(*s, "recent", "r", INT64_MAX, 66 * sec).found);

  CHECK_FALSE(s->add_group(emb_group()));
  auto wider = emb_group();
  wider.width = 4;
  auto err = s->add_group(wider);
  REQUIRE(err);
  CHECK_THAT(describe(err),
             Catch::Contains("emb") && Catch::Contains("different"));
  auto longer = recent;
  longer.ttl_ms = 120000;
  CHECK(s->add_group(longer));
  auto stricter = emb_group();
  stricter.fields[1].nullable = false;
  CHECK(s->add_group(stricter));
  CHECK(s->group("emb")->width == 3);
  CHECK(s->group("recent")->ttl_ms == 60000);
  // and the store still takes rows of the registered shape
  REQUIRE(write(*s, "emb",
                {{"new", 1, {1, 2, 3}, {i64(1), missing(), missing()}}}));
  CHECK(stats(*s, "emb").entities == ref.size() + 1);
}

TEST_CASE("version keys order an entity's versions newest first across the "
          "epoch",
          "[features][store]") {
  std::vector<int64_t> times{INT64_MIN, -5 * sec, -1, 0, 1, 5 * sec, INT64_MAX};
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    INFO(times[i] << " vs " << times[i + 1]);
    CHECK(version_key("e", times[i + 1]) < version_key("e", times[i]));
  }
  CHECK(version_key("e", 0).size() == 1 + 1 + 8);
  CHECK(version_key("ab", 0) != version_key(std::string{"ab\0", 3}, 0));
}
