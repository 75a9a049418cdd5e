#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "runtime/lmdb.hpp"
#include "tests/support/process.hpp"

using namespace troupe;

TEST_CASE("committed writes survive reopening, aborted ones vanish", "[lmdb]") {
  test::temp_dir dir;
  auto path = dir / "store";
  {
    auto e = lmdb::env::open(path);
    REQUIRE(e);
    auto db = e->open_db("kv");
    REQUIRE(db);
    auto t = lmdb::txn::begin(*e, false);
    REQUIRE(t);
    REQUIRE(t->put(*db, "a", "1"));
    REQUIRE(t->commit());
    auto aborted = lmdb::txn::begin(*e, false);
    REQUIRE(aborted);
    REQUIRE(aborted->put(*db, "b", "2"));
    // destroyed without commit
  }
  auto e = lmdb::env::open(path);
  REQUIRE(e);
  auto db = e->open_db("kv");
  REQUIRE(db);
  auto t = lmdb::txn::begin(*e, true);
  REQUIRE(t);
  auto a = t->get(*db, "a");
  REQUIRE(a);
  REQUIRE(*a);
  CHECK(**a == "1");
  auto b = t->get(*db, "b");
  REQUIRE(b);
  CHECK_FALSE(*b);
}

TEST_CASE("big-endian keys scan in numeric order within a prefix", "[lmdb]") {
  test::temp_dir dir;
  auto e = lmdb::env::open(dir / "s");
  REQUIRE(e);
  auto db = e->open_db("events");
  REQUIRE(db);
  auto t = lmdb::txn::begin(*e, false);
  REQUIRE(t);
  for (uint64_t i : {300u, 2u, 70000u, 1u})
    REQUIRE(t->put(*db, "s1/" + lmdb::be64(i), std::to_string(i)));
  REQUIRE(t->put(*db, "s2/" + lmdb::be64(5), "other"));
  std::vector<std::string> seen;
  REQUIRE(t->scan(*db, "s1/", [&](auto k, auto v) {
    CHECK(lmdb::from_be64(k.substr(3)) == std::stoull(std::string{v}));
    seen.emplace_back(v);
    return true;
  }));
  CHECK(seen == std::vector<std::string>{"1", "2", "300", "70000"});
  auto last = t->last_key(*db, "s1/");
  REQUIRE(last);
  REQUIRE(*last);
  CHECK(lmdb::from_be64((*last)->substr(3)) == 70000);
  auto none = t->last_key(*db, "s9/");
  REQUIRE(none);
  CHECK_FALSE(*none);
  auto gone = t->del(*db, "s2/" + lmdb::be64(5));
  REQUIRE(gone);
  CHECK(*gone);
  CHECK_FALSE(*t->del(*db, "nope"));
}

TEST_CASE("LMDB failures name the call and the store", "[lmdb]") {
  test::temp_dir dir;
  test::write_file(dir / "plainfile", "x");
  auto bad = lmdb::env::open(dir / "plainfile/sub");
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()), Catch::Contains("plainfile"));

  lmdb::env_options tiny;
  tiny.map_size = 64 * 1024;
  auto e = lmdb::env::open(dir / "tiny", tiny);
  REQUIRE(e);
  auto db = e->open_db("kv");
  REQUIRE(db);
  auto t = lmdb::txn::begin(*e, false);
  REQUIRE(t);
  caf::error full;
  for (int i = 0; i < 1000 && !full; ++i)
    if (auto r = t->put(*db, lmdb::be64(static_cast<uint64_t>(i)),
                        std::string(1000, 'x'));
        !r)
      full = r.error();
  REQUIRE(full);
  CHECK(full.code() == static_cast<uint8_t>(errc::no_capacity));
  CHECK_THAT(describe(full),
             Catch::Contains("MDB_MAP_FULL") && Catch::Contains("tiny"));
}
