// The feature store on a 3-node loopback cluster of real processes: shards
// are placed on the workers, reads of remote shards go through the shard
// actors, a killed worker takes only its shard away (with a clear error), and
// the worker restarted under its name brings the shard back with its data.

#include <catch2/catch.hpp>

#include <signal.h>

#include <map>
#include <set>
#include <sstream>

#include "actors/features/client.hpp"
#include "actors/features/routing.hpp"
#include "tests/support/nodes.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using test::process;

namespace {

/// The value element k of entity i's vector.
float value_of(size_t i, uint32_t k) {
  return static_cast<float>(i) * 0.25f + static_cast<float>(k);
}

} // namespace

TEST_CASE("feature shards on a 3-node cluster survive a killed worker",
          "[integration][features]") {
  test::temp_dir dir;
  test::node_set cluster{dir.path(), {"--feature-shards", "4"}};
  auto gw = cluster.gateway_port();
  auto worker = [&](const std::string& name) {
    return cluster.worker(name, {"--data-dir", dir / name});
  };
  auto w1 = worker("w1");
  auto w2 = worker("w2");
  // the three nodes, and the head's features service
  REQUIRE(cluster.wait_for_features(3, 20s));
  auto address = "127.0.0.1:" + std::to_string(gw);
  auto c = features::connect_store({address, {}, 4}, {});
  REQUIRE(c);
  features::group_spec g;
  g.name = "items";
  g.vector_name = "v";
  g.width = 16;
  g.fields.push_back({"n", features::field_type::int64, false});
  auto created = c->create(g);
  INFO((created ? std::string{} : describe(created.error())));
  REQUIRE(created);
  CHECK(created->shards == 4);

  // The shards went round-robin over head, w1, w2.
  auto placement = [&] {
    std::map<uint32_t, std::pair<std::string, bool>> out;
    auto r = c->call("group", [&] {
      auto req = c->store.groupRequest();
      req.setName("items");
      auto resp = c->client->wait(req.send());
      for (auto s : resp.getStats().getShards())
        out[s.getShard()] = {s.getNode(), s.getUp()};
    });
    REQUIRE(r);
    return out;
  };
  // a shard is up once its node spawned it
  REQUIRE(test::eventually(
      [&] {
        for (auto& [i, p] : placement())
          if (!p.second) return false;
        return true;
      },
      20s));
  auto where = placement();
  std::set<std::string> nodes;
  for (auto& [i, p] : where)
    nodes.insert(p.first);
  CHECK(nodes == std::set<std::string>{"head", "w1", "w2"});

  const size_t n = 2000;
  auto write = c->call("write", [&] {
    for (size_t b = 0; b < n; b += 250) {
      auto req = c->store.writeRequest();
      auto batch = req.initBatch();
      batch.setGroup("items");
      auto rows = batch.initRows(250);
      for (unsigned j = 0; j < 250; ++j) {
        auto i = b + j;
        rows[j].setEntity("item-" + std::to_string(i));
        rows[j].setEventTime(1000000);
        auto v = rows[j].initVector(g.width);
        for (uint32_t k = 0; k < g.width; ++k)
          v.set(k, value_of(i, k));
        rows[j].initFields(1)[0].setInt64(static_cast<int64_t>(i));
      }
      c->client->wait(req.send());
    }
  });
  INFO((write ? std::string{} : describe(write.error())));
  REQUIRE(write);

  // Reads every key in one lookup; returns the error text, "" if all good.
  auto read_all = [&](const std::set<uint32_t>& skip_shards) -> std::string {
    std::string problem;
    auto r = c->call("lookup", [&] {
      auto req = c->store.lookupRequest();
      auto l = req.initRequest();
      l.initGroups(1).set(0, "items");
      std::vector<size_t> asked;
      for (size_t i = 0; i < n; ++i)
        if (!skip_shards.count(
                features::shard_of("item-" + std::to_string(i), 4)))
          asked.push_back(i);
      auto keys = l.initKeys(static_cast<unsigned>(asked.size()));
      for (unsigned j = 0; j < asked.size(); ++j)
        keys[j].setEntity("item-" + std::to_string(asked[j]));
      auto resp = c->client->wait(req.send());
      auto rows = resp.getResult().getGroups()[0].getRows();
      for (unsigned j = 0; j < asked.size() && problem.empty(); ++j) {
        auto row = rows[j];
        auto i = asked[j];
        if (!row.getFound() || row.getVector().size() != g.width ||
            row.getVector()[g.width - 1] != value_of(i, g.width - 1) ||
            row.getFields()[0].getInt64() != static_cast<int64_t>(i))
          problem = "wrong row for item-" + std::to_string(i);
      }
    });
    if (!r) return describe(r.error());
    return problem;
  };
  CHECK(read_all({}) == "");

  // kill -9 w1: its shard goes away, the others keep serving
  uint32_t lost = 0;
  for (auto& [i, p] : where)
    if (p.first == "w1") lost = i;
  w1->signal(SIGKILL);
  REQUIRE(w1->wait(10s) == 128 + SIGKILL);
  REQUIRE(test::eventually([&] { return !placement()[lost].second; }, 20s));
  auto lost_error = read_all({});
  INFO(lost_error);
  CHECK(lost_error.find("shard " + std::to_string(lost)) != std::string::npos);
  CHECK(lost_error.find("not running") != std::string::npos);
  CHECK(read_all({lost}) == "");

  // w1 back under its name: the shard returns with its data
  w1 = worker("w1");
  REQUIRE(test::eventually([&] { return placement()[lost].second; }, 30s));
  REQUIRE(test::eventually([&] { return read_all({}).empty(); }, 10s));
}
