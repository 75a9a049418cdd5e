// The feature store's commands over RESP (actors/features/resp_commands):
// a real shard store in LMDB, its rows read by GET/MGET/HGET/HMGET/GETASOF
// as a Redis client sends them, through the RESP server on loopback;
// unknown keys, groups, fields and commands answered as Redis answers
// them; a shard that is not on this node named, or, when the endpoint can
// reach other nodes, its keys fetched in one read a shard and answered in
// the order asked.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <capnp/message.h>

#include "actors/features/resp_commands.hpp"
#include "actors/features/routing.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"
#include "tests/support/resp_client.hpp"
#include "tests/unit/features/rows.hpp"

using namespace troupe;
using namespace troupe::features;
using namespace troupe::features::test_rows;
using namespace std::string_literals;

namespace {

group_spec emb(uint32_t shards) {
  group_spec g;
  g.name = "emb";
  g.vector_name = "emb";
  g.width = 3;
  g.shards = shards;
  g.fields = {{"count", field_type::int64, false},
              {"score", field_type::float64, true},
              {"label", field_type::text, true}};
  return g;
}

void put(shard_store& s, const std::string& entity, int64_t t,
         const std::vector<float>& v, const std::vector<val>& fields) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::FeatureWrite>();
  b.setGroup("emb");
  auto rows = b.initRows(1);
  rows[0].setEntity(entity);
  rows[0].setEventTime(t);
  fill_values(rows[0], v, fields);
  auto n = s.write(b.asReader(), {}, 0);
  INFO((n ? std::string{} : describe(n.error())));
  REQUIRE(n);
}

/// A source of group emb over 2 shards, of which this node holds shard 0.
feature_source source_of_shard0(std::shared_ptr<shard_store> s0) {
  feature_source src;
  src.group = [](const std::string& n) -> std::shared_ptr<const group_spec> {
    if (n == "emb") return std::make_shared<group_spec>(emb(2));
    return nullptr;
  };
  src.store = [s0](const std::string&,
                   uint32_t shard) -> std::shared_ptr<const shard_store> {
    return shard == 0 ? s0 : nullptr;
  };
  return src;
}

std::string floats(const std::vector<float>& v) {
  return test::resp_floats(v);
}

std::string roundtrip(uint16_t port, const std::string& wire, size_t bytes) {
  return test::resp_roundtrip(port, wire, bytes);
}

} // namespace

TEST_CASE("a Redis client reads features over RESP from the shard stores "
          "on this node",
          "[resp-commands]") {
  test::temp_dir dir;
  // two shards; this node holds shard 0 only
  auto s0 = shard_store::open(dir.path() + "/s0", 0);
  REQUIRE(s0);
  REQUIRE_FALSE((*s0)->add_group(emb(2)));
  // entities of shard 0 and one of shard 1
  std::vector<std::string> mine, theirs;
  for (int i = 0; mine.size() < 2 || theirs.empty(); ++i) {
    auto e = "user" + std::to_string(i);
    (shard_of(e, 2) == 0 ? mine : theirs).push_back(e);
  }
  put(**s0, mine[0], 1000, {1.f, 2.f, 3.f}, {i64(7), f64(0.25), text("gold")});
  put(**s0, mine[0], 2000, {4.f, 5.f, 6.f}, {i64(8), missing(), text("x y")});
  auto src = source_of_shard0(*s0);
  src.now_us = [] { return int64_t{5000}; };
  auto s = resp_server::start({}, feature_commands(src));
  REQUIRE(s);
  auto port = (*s)->port();

  auto k0 = "emb:" + mine[0], k1 = "emb:" + mine[1];
  // GET: the latest vector, packed float32; an entity without rows: nil
  auto get = "GET " + k0 + "\r\nGET " + k1 + "\r\n";
  auto want = floats({4.f, 5.f, 6.f}) + "$-1\r\n";
  CHECK(roundtrip(port, get, want.size()) == want);
  // GETASOF: the version in force then
  auto asof = "GETASOF " + k0 + " 1500\r\nGETASOF " + k0 + " 999\r\n";
  want = floats({1.f, 2.f, 3.f}) + "$-1\r\n";
  CHECK(roundtrip(port, asof, want.size()) == want);
  // MGET, as arrays of bulk strings (what clients send)
  auto mget = "*3\r\n$4\r\nMGET\r\n$" + std::to_string(k0.size()) + "\r\n" +
              k0 + "\r\n$" + std::to_string(k1.size()) + "\r\n" + k1 + "\r\n";
  want = "*2\r\n" + floats({4.f, 5.f, 6.f}) + "$-1\r\n";
  CHECK(roundtrip(port, mget, want.size()) == want);
  // HGET and HMGET: fields as text; a missing value and an unknown field
  // are nil
  auto h =
      "HGET " + k0 + " count\r\nHMGET " + k0 + " label score nope count\r\n";
  want = "$1\r\n8\r\n*4\r\n$3\r\nx y\r\n$-1\r\n$-1\r\n$1\r\n8\r\n";
  CHECK(roundtrip(port, h, want.size()) == want);
  auto old = "HGET " + k0 + " score\r\n";
  // (the latest version's score is missing; GETASOF reads old vectors)
  CHECK(roundtrip(port, old, 5) == "$-1\r\n");

  // errors, as Redis words them; the connection stays usable
  auto errs = "GET nogroup\r\nGET other:" + mine[0] +
              "\r\nGET emb:" + theirs[0] +
              "\r\nFLUSHALL\r\nGET\r\nPING\r\nQUIT\r\n";
  // (QUIT closes the connection: everything before it has been answered)
  auto got = roundtrip(port, errs, 1 << 20);
  CHECK_THAT(got, Catch::Contains("-ERR key 'nogroup' is no GROUP:ENTITY\r\n"));
  CHECK_THAT(got, Catch::Contains("-ERR no feature group 'other'\r\n"));
  CHECK_THAT(got, Catch::Contains("-ERR shard 1 of group 'emb' is not on "
                                  "this node\r\n"));
  CHECK_THAT(got, Catch::Contains("-ERR unknown command 'FLUSHALL'\r\n"));
  CHECK_THAT(got, Catch::Contains("-ERR wrong number of arguments for 'GET' "
                                  "command\r\n"));
  CHECK_THAT(got, Catch::EndsWith("+PONG\r\n+OK\r\n"));
  // in MGET, a key that cannot be read is a nil, as Redis answers MGET
  auto mixed = "MGET " + k0 + " nogroup emb:" + theirs[0] + "\r\n";
  want = "*3\r\n" + floats({4.f, 5.f, 6.f}) + "$-1\r\n$-1\r\n";
  CHECK(roundtrip(port, mixed, want.size()) == want);
  // what clients send on connecting
  auto hello = "SELECT 0\r\nCOMMAND COUNT\r\nCONFIG GET save\r\nECHO "
               "hi\r\nQUIT\r\n";
  CHECK(roundtrip(port, hello, 100) ==
        "+OK\r\n:12\r\n*0\r\n$2\r\nhi\r\n+OK\r\n");
}

TEST_CASE("keys of a shard on another node are fetched in one read a shard "
          "and answered in order, mixed with this node's",
          "[resp-commands]") {
  test::temp_dir dir;
  auto s0 = shard_store::open(dir.path() + "/s0", 0);
  auto s1 = shard_store::open(dir.path() + "/s1", 1); // "the other node"
  REQUIRE(s0);
  REQUIRE(s1);
  REQUIRE_FALSE((*s0)->add_group(emb(2)));
  REQUIRE_FALSE((*s1)->add_group(emb(2)));
  std::vector<std::string> mine, theirs;
  for (int i = 0; mine.size() < 1 || theirs.size() < 2; ++i) {
    auto e = "user" + std::to_string(i);
    (shard_of(e, 2) == 0 ? mine : theirs).push_back(e);
  }
  put(**s0, mine[0], 1000, {1.f, 2.f, 3.f}, {i64(1), f64(0.5), text("a")});
  put(**s1, theirs[0], 1000, {7.f, 8.f, 9.f}, {i64(2), f64(1.5), text("b")});
  put(**s1, theirs[0], 3000, {9.f, 9.f, 9.f}, {i64(3), f64(2.5), text("c")});

  // the other node answers on threads of its own, as a remote shard does
  std::mutex mtx;
  std::vector<std::thread> hops;
  std::vector<size_t> batch_sizes;
  bool other_down = false;
  auto src = source_of_shard0(*s0);
  src.remote = [&](const std::string& group, uint32_t shard,
                   std::vector<std::string> entities, int64_t as_of,
                   remote_rows done) {
    REQUIRE(shard == 1);
    std::lock_guard<std::mutex> guard{mtx};
    batch_sizes.push_back(entities.size());
    bool down = other_down;
    hops.emplace_back([&, group, entities, as_of, done, down] {
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
      if (down)
        return done(make_error(errc::io_failure, "node other is gone"), {});
      std::vector<capnp::MallocMessageBuilder> copies(entities.size());
      std::vector<const schema::FeatureRow::Reader*> rows(entities.size());
      std::vector<schema::FeatureRow::Reader> kept(entities.size());
      auto reader = (*s1)->reader(group, 5000);
      if (!reader) return done(reader.error(), {});
      for (size_t i = 0; i < entities.size(); ++i)
        reader->read(
            entities[i], as_of, [&](const schema::FeatureRow::Reader* r) {
              if (!r) return;
              copies[i].setRoot(*r);
              kept[i] = copies[i].getRoot<schema::FeatureRow>().asReader();
              rows[i] = &kept[i];
            });
      done(caf::error{}, rows);
    });
  };
  src.now_us = [] { return int64_t{5000}; };
  auto s = resp_server::start({}, feature_commands(src));
  REQUIRE(s);
  auto port = (*s)->port();
  auto mk = "emb:" + mine[0], t0 = "emb:" + theirs[0], t1 = "emb:" + theirs[1];
  // GET of a remote key; then a local GET behind it waits its turn
  auto wire = "GET " + t0 + "\r\nGET " + mk + "\r\nGETASOF " + t0 +
              " 2000\r\nHMGET " + t0 + " label count\r\n";
  auto want = floats({9.f, 9.f, 9.f}) + floats({1.f, 2.f, 3.f}) +
              floats({7.f, 8.f, 9.f}) + "*2\r\n$1\r\nc\r\n$1\r\n3\r\n";
  CHECK(roundtrip(port, wire, want.size()) == want);
  // MGET mixing both: one read for the two remote keys, answers in order
  batch_sizes.clear();
  wire = "MGET " + t0 + " " + mk + " " + t1 + " nogroup\r\n";
  want = "*4\r\n" + floats({9.f, 9.f, 9.f}) + floats({1.f, 2.f, 3.f}) +
         "$-1\r\n$-1\r\n";
  CHECK(roundtrip(port, wire, want.size()) == want);
  {
    std::lock_guard<std::mutex> guard{mtx};
    CHECK(batch_sizes == std::vector<size_t>{2});
  }
  // the other node gone: its keys are errors (nil in MGET), ours answered
  {
    std::lock_guard<std::mutex> guard{mtx};
    other_down = true;
  }
  wire = "GET " + t0 + "\r\nMGET " + mk + " " + t0 + "\r\nQUIT\r\n";
  want = "-ERR shard 1: node other is gone\r\n*2\r\n" +
         floats({1.f, 2.f, 3.f}) + "$-1\r\n+OK\r\n";
  CHECK(roundtrip(port, wire, 1 << 20) == want);
  CHECK((*s)->stats().deferred == 6);
  s->reset();
  for (auto& t : hops)
    t.join();
}
