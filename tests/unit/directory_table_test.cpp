#include <catch2/catch.hpp>

#include "runtime/directory_table.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

join_request req(std::string name, std::string secret = "s",
                 uint32_t slots = 2) {
  join_request r;
  r.name = std::move(name);
  r.secret = std::move(secret);
  r.host = "h";
  r.slots = slots;
  return r;
}

const wall_clock::time_point t0 = wall_clock::time_point{} + 1h;

} // namespace

TEST_CASE("secrets compare equal only when identical") {
  CHECK(secrets_equal("abc", "abc"));
  CHECK_FALSE(secrets_equal("abc", "abd"));
  CHECK_FALSE(secrets_equal("abc", "abcd"));
  CHECK_FALSE(secrets_equal("", "a"));
}

TEST_CASE("names are 1-64 safe characters") {
  CHECK(valid_name("worker-1"));
  CHECK(valid_name("a.b_c"));
  CHECK_FALSE(valid_name(""));
  CHECK_FALSE(valid_name("-lead"));
  CHECK_FALSE(valid_name("has space"));
  CHECK_FALSE(valid_name(std::string(65, 'a')));
}

TEST_CASE("join admits the right secret only") {
  directory_table t{"s"};
  auto bad = t.join(req("w", "x"), {}, t0);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == static_cast<uint8_t>(errc::unauthorized));
  CHECK(t.nodes().empty());
  auto ok = t.join(req("w"), {}, t0);
  REQUIRE(ok);
  CHECK(ok->size() == 1);
  CHECK(t.nodes().size() == 1);
  auto badname = t.join(req("no way"), {}, t0);
  REQUIRE_FALSE(badname);
  CHECK(badname.error().code() == static_cast<uint8_t>(errc::invalid_argument));
}

TEST_CASE("an empty head secret admits nobody") {
  directory_table t{""};
  CHECK_FALSE(t.join(req("w", ""), {}, t0));
}

TEST_CASE(
    "rejoining under a name replaces the old incarnation and its actors") {
  directory_table t{"s"};
  REQUIRE(t.join(req("w"), {}, t0));
  auto inc1 = t.find_node("w")->incarnation;
  REQUIRE(t.add_actor({"a1", "w", "echo", {}}));
  auto again = t.join(req("w"), {}, t0 + 1s);
  REQUIRE(again);
  REQUIRE(again->size() == 3);
  CHECK((*again)[0].kind == directory_change::actor_removed);
  CHECK((*again)[1].kind == directory_change::node_left);
  CHECK((*again)[2].kind == directory_change::node_joined);
  CHECK(t.find_node("w")->incarnation > inc1);
  CHECK(t.actors().empty());
  CHECK_FALSE(t.heartbeat("w", inc1, 2, t0 + 2s));
}

TEST_CASE("expire removes exactly the nodes silent for longer than the "
          "timeout") {
  directory_table t{"s"};
  REQUIRE(t.join(req("a"), {}, t0));
  REQUIRE(t.join(req("b"), {}, t0));
  auto inc = t.find_node("a")->incarnation;
  CHECK(t.heartbeat("a", inc, 1, t0 + 2s));
  CHECK(t.expire(t0 + 3s, 3000ms).empty());
  auto gone = t.expire(t0 + 3001ms, 3000ms);
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].node.name == "b");
  CHECK(t.find_node("a") != nullptr);
  CHECK(t.find_node("a")->free_slots == 1);
}

TEST_CASE("placement picks the freest node, the head, a name, or every node") {
  directory_table t{"s"};
  auto head = req("head", "", 0);
  head.is_head = true;
  REQUIRE(t.join(head, {}, t0));
  REQUIRE(t.join(req("w1", "s", 1), {}, t0));
  REQUIRE(t.join(req("w2", "s", 4), {}, t0));
  auto any = t.place("any");
  REQUIRE(any);
  CHECK((*any)[0]->name == "w2");
  auto h = t.place("head");
  REQUIRE(h);
  CHECK((*h)[0]->name == "head");
  auto every = t.place("every");
  REQUIRE(every);
  CHECK(every->size() == 3);
  auto named = t.place("w1");
  REQUIRE(named);
  CHECK((*named)[0]->name == "w1");
  auto missing = t.place("w9");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == static_cast<uint8_t>(errc::not_found));
  t.set_free_slots("w1", 0);
  t.set_free_slots("w2", 0);
  auto none = t.place("");
  REQUIRE_FALSE(none);
  CHECK(none.error().code() == static_cast<uint8_t>(errc::no_capacity));
}

TEST_CASE("actor names are unique and fresh names skip taken ones") {
  directory_table t{"s"};
  REQUIRE(t.join(req("w"), {}, t0));
  REQUIRE(t.add_actor({"echo-1", "w", "echo", {}}));
  CHECK_FALSE(t.add_actor({"echo-1", "w", "echo", {}}));
  CHECK_FALSE(t.add_actor({"x", "nowhere", "echo", {}}));
  CHECK(t.fresh_name("echo") == "echo-2");
  auto removed = t.remove_node("w", "test");
  CHECK(removed.size() == 2);
  CHECK(t.actors().empty());
}
