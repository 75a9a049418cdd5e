// The RESP endpoint on a 3-node loopback cluster of real processes, each
// node serving `--resp-port`: redis-cli and redis-benchmark read features
// from every node, keys of every shard (another node's fetched in one hop);
// malformed and oversized requests and a pipelined burst of 10,000 commands
// leave the endpoint up for everyone else; a killed worker's keys are
// answered with an error naming the shard while the rest are still served.

#include <catch2/catch.hpp>

#include <signal.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "actors/features/client.hpp"
#include "actors/features/routing.hpp"
#include "tests/support/nodes.hpp"
#include "tests/support/resp_client.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

constexpr size_t entities = 300;

/// Entity i as redis-benchmark's __rand_int__ spells it.
std::string entity(size_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%012zu", i);
  return buf;
}

std::vector<float> vector_of(size_t i) {
  auto x = static_cast<float>(i);
  return {x, x + 0.5f, -x, 1.f};
}

/// Counts the replies in `wire` that are simple strings or bulk strings
/// (one CRLF-terminated header each; the values here hold no CRLF).
size_t lines(const std::string& wire) {
  size_t n = 0;
  for (size_t at = wire.find("\r\n"); at != std::string::npos;
       at = wire.find("\r\n", at + 2))
    ++n;
  return n;
}

} // namespace

TEST_CASE("every node's RESP endpoint serves every key to Redis clients",
          "[integration][features][resp]") {
  test::temp_dir dir;
  std::vector<uint16_t> ports{test::free_port(), test::free_port(),
                              test::free_port()};
  test::node_set cluster{
      dir.path(),
      {"--feature-shards", "4", "--resp-port", std::to_string(ports[0])}};
  auto worker = [&](const std::string& name, uint16_t port) {
    return cluster.worker(name, {"--data-dir", dir / name, "--resp-port",
                                 std::to_string(port), "--resp-threads", "2"});
  };
  auto w1 = worker("w1", ports[1]);
  auto w2 = worker("w2", ports[2]);
  auto address = cluster.gateway_addr();
  REQUIRE(cluster.wait_for_features(3, 20s));
  auto c = features::connect_store({address, {}, 4}, {});
  REQUIRE(c);
  features::group_spec g;
  g.name = "items";
  g.vector_name = "v";
  g.width = 4;
  g.fields.push_back({"n", features::field_type::int64, false});
  g.fields.push_back({"tag", features::field_type::text, true});
  auto created = c->create(g);
  INFO((created ? std::string{} : describe(created.error())));
  REQUIRE(created);

  // where each shard lives, once all are up
  std::map<uint32_t, std::string> node_of;
  REQUIRE(test::eventually(
      [&] {
        node_of.clear();
        bool up = true;
        auto r = c->call("group", [&] {
          auto req = c->store.groupRequest();
          req.setName("items");
          auto resp = c->client->wait(req.send());
          for (auto s : resp.getStats().getShards()) {
            node_of[s.getShard()] = s.getNode();
            up = up && s.getUp();
          }
        });
        return r && up && node_of.size() == 4;
      },
      20s));
  std::set<std::string> nodes;
  for (auto& [i, n] : node_of)
    nodes.insert(n);
  REQUIRE(nodes == std::set<std::string>{"head", "w1", "w2"});

  auto write = c->call("write", [&] {
    auto req = c->store.writeRequest();
    auto batch = req.initBatch();
    batch.setGroup("items");
    auto rows = batch.initRows(entities + 1);
    for (unsigned i = 0; i < entities; ++i) {
      rows[i].setEntity(entity(i));
      rows[i].setEventTime(2000000);
      auto v = rows[i].initVector(4);
      auto want = vector_of(i);
      for (unsigned k = 0; k < 4; ++k)
        v.set(k, want[k]);
      auto f = rows[i].initFields(2);
      f[0].setInt64(static_cast<int64_t>(i));
      f[1].setText("t" + std::to_string(i % 3));
    }
    // an older version of entity 7
    rows[entities].setEntity(entity(7));
    rows[entities].setEventTime(1000000);
    rows[entities].initVector(4).set(0, 42.f);
    rows[entities].initFields(2)[0].setInt64(-7);
    c->client->wait(req.send());
  });
  INFO((write ? std::string{} : describe(write.error())));
  REQUIRE(write);

  // every node answers once its endpoint has the group's layout
  for (auto port : ports)
    REQUIRE(test::eventually(
        [&] {
          return test::resp_roundtrip(port,
                                      "HGET items:" + entity(0) + " n\r\n", 7,
                                      2s) == "$1\r\n0\r\n";
        },
        20s));

  // (w1 listens now) a node whose RESP port is taken says which address and
  // stops
  {
    auto taken = worker("w3", ports[1]);
    REQUIRE(test::eventually([&] { return !taken->running(); }, 20s));
    CHECK(taken->wait(1s) == 2);
    CHECK_THAT(taken->log(),
               Catch::Contains("RESP endpoint: cannot listen on 127.0.0.1:" +
                               std::to_string(ports[1])));
  }

  // redis-cli, one command a line, every key from every node: the shards
  // on the node read in place, the others' keys fetched from them
  std::string commands, expect;
  for (size_t i = 0; i < entities; ++i) {
    commands += "HGET items:" + entity(i) + " n\n";
    expect += std::to_string(i) + "\n";
  }
  for (auto port : ports) {
    INFO("node with RESP port " << port);
    auto r =
        test::run({"redis-cli", "-p", std::to_string(port)}, 60s, commands);
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out == expect);
    auto info = test::run({"redis-cli", "-p", std::to_string(port), "HMGET",
                           "items:" + entity(5), "tag", "n", "nope"},
                          10s);
    CHECK(info.out == "t2\n5\n\n");
    CHECK(
        test::run({"redis-cli", "-p", std::to_string(port), "PING"}, 10s).out ==
        "PONG\n");
  }
  // the vectors: one MGET of every key, and an as-of read, from each node
  std::string mget = "*" + std::to_string(entities + 1) + "\r\n$4\r\nMGET\r\n";
  std::string vectors = "*" + std::to_string(entities) + "\r\n";
  for (size_t i = 0; i < entities; ++i) {
    auto key = "items:" + entity(i);
    mget += "$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
    vectors += test::resp_floats(vector_of(i));
  }
  auto asof = "GETASOF items:" + entity(7) + " 1500000\r\n";
  auto old = test::resp_floats({42.f, 0.f, 0.f, 0.f});
  for (auto port : ports) {
    INFO("node with RESP port " << port);
    CHECK(test::resp_roundtrip(port, mget, vectors.size()) == vectors);
    CHECK(test::resp_roundtrip(port, asof, old.size()) == old);
  }

  // redis-benchmark against one worker's endpoint, plain and pipelined
  for (auto pipeline : {"1", "50"}) {
    auto r = test::run({"redis-benchmark", "-p", std::to_string(ports[1]), "-n",
                        "5000", "-c", "8", "-r", std::to_string(entities), "-P",
                        pipeline, "-q", "HGET", "items:__rand_int__", "n"},
                       120s);
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("requests per second"));
  }

  // malformed, oversized, and a burst of 10,000 pipelined commands: each
  // bad client is answered with an error and closed, the burst is answered
  // whole, and a client beside them never notices
  auto port = ports[2];
  auto bad = test::resp_roundtrip(port, "*1\r\n:5\r\n", 1000, 5s);
  CHECK_THAT(bad, Catch::StartsWith("-ERR Protocol error"));
  auto big = test::resp_roundtrip(port, "*2\r\n$3\r\nGET\r\n$9000000000\r\n",
                                  1000, 5s);
  CHECK_THAT(big,
             Catch::StartsWith("-ERR Protocol error: invalid bulk length"));
  std::string burst;
  for (size_t i = 0; i < 10000; ++i)
    burst += "HGET items:" + entity(i % entities) + " tag\r\n";
  auto answers = test::resp_roundtrip(port, burst, 10000 * 8, 60s);
  CHECK(lines(answers) == 20000);
  CHECK(answers.substr(0, 8) == "$2\r\nt0\r\n");
  CHECK(test::resp_roundtrip(port, "PING\r\n", 7, 5s) == "+PONG\r\n");

  // w2 killed: the head answers w2's keys with an error naming the shard
  // (a nil in MGET) and every other key as before
  w2->signal(SIGKILL);
  w2->wait(10s);
  std::string expect_after = "*" + std::to_string(entities) + "\r\n";
  std::string on_w2;
  for (size_t i = 0; i < entities; ++i) {
    auto shard = features::shard_of(entity(i), 4);
    if (node_of[shard] == "w2") {
      expect_after += "$-1\r\n";
      if (on_w2.empty()) on_w2 = entity(i);
    } else {
      expect_after += test::resp_floats(vector_of(i));
    }
  }
  REQUIRE_FALSE(on_w2.empty());
  CHECK(test::eventually(
      [&] {
        return test::resp_roundtrip(ports[0], mget, expect_after.size(), 10s) ==
               expect_after;
      },
      30s));
  auto lost =
      test::resp_roundtrip(ports[0], "GET items:" + on_w2 + "\r\n", 1000, 10s);
  CHECK_THAT(lost, Catch::StartsWith("-ERR shard ") && Catch::Contains("w2") &&
                       Catch::EndsWith("\r\n"));
  CHECK(test::resp_roundtrip(ports[1], "PING\r\n", 7, 5s) == "+PONG\r\n");
}
