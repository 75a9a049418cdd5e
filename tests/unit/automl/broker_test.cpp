// slot_broker: fair share of the cluster's slots between studies.

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/automl/broker.hpp"

using namespace troupe::automl;

namespace {

/// Grants until none is left; returns them in order.
std::vector<grant> drain(slot_broker& b) {
  std::vector<grant> out;
  for (int guard = 0; guard < 1000; ++guard) {
    auto g = b.next();
    if (!g) return out;
    out.push_back(*g);
  }
  FAIL("the broker kept granting");
  return out;
}

std::map<std::string, size_t> per_study(const std::vector<grant>& gs) {
  std::map<std::string, size_t> out;
  for (auto& g : gs)
    ++out[g.study];
  return out;
}

} // namespace

TEST_CASE("nothing is granted without a wanting study or a free slot",
          "[broker]") {
  slot_broker b;
  CHECK_FALSE(b.next());
  b.add_study("a");
  b.set_wants("a", true);
  CHECK_FALSE(b.next()); // no node yet
  b.add_node("n1", 0);
  CHECK_FALSE(b.next()); // a node without slots
  b.add_node("n2", 1);
  auto g = b.next();
  REQUIRE(g);
  CHECK(g->study == "a");
  CHECK(g->slot == slot_ref{"n2", 0});
  CHECK_FALSE(b.next()); // full
  CHECK(b.free_slots() == 0);
  CHECK(b.total_slots() == 1);
  CHECK(b.held("a") == 1);
  CHECK(b.held("nobody") == 0);
  // Wishes of unknown studies are ignored.
  b.set_wants("ghost", true);
  CHECK_FALSE(b.wants("ghost"));
}

TEST_CASE("two equal studies take turns as slots free", "[broker]") {
  slot_broker b;
  b.add_node("n", 1);
  b.add_study("a");
  b.add_study("b");
  b.set_wants("a", true);
  b.set_wants("b", true);
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) {
    auto g = b.next();
    REQUIRE(g);
    CHECK_FALSE(b.next());
    order.push_back(g->study);
    b.release(g->study, g->slot, g->lease);
  }
  CHECK(order == std::vector<std::string>{"a", "b", "a", "b", "a", "b"});
}

TEST_CASE("three equal studies on two slots go round-robin", "[broker]") {
  slot_broker b;
  b.add_node("n", 2);
  for (auto s : {"a", "b", "c"}) {
    b.add_study(s);
    b.set_wants(s, true);
  }
  auto first = drain(b);
  REQUIRE(first.size() == 2);
  CHECK(first[0].study == "a");
  CHECK(first[1].study == "b");
  // The oldest lease ends first each time: the slot goes to the study that
  // waited longest.
  std::vector<grant> held = first;
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) {
    auto done = held.front();
    held.erase(held.begin());
    b.release(done.study, done.slot, done.lease);
    auto g = b.next();
    REQUIRE(g);
    CHECK(g->slot == done.slot);
    order.push_back(g->study);
    held.push_back(*g);
  }
  CHECK(order == std::vector<std::string>{"c", "a", "b", "c", "a", "b"});
}

TEST_CASE("weights share the slots in proportion", "[broker]") {
  slot_broker b;
  b.add_study("light", 1);
  b.add_study("heavy", 2);
  b.set_wants("light", true);
  b.set_wants("heavy", true);

  SECTION("weights 1 and 2 on 3 slots hold 1 and 2") {
    b.add_node("n", 3);
    auto gs = drain(b);
    CHECK(gs.size() == 3);
    CHECK(b.held("light") == 1);
    CHECK(b.held("heavy") == 2);
    CHECK(per_study(gs) ==
          std::map<std::string, size_t>{{"heavy", 2}, {"light", 1}});
  }

  SECTION("weights 1 and 2 on 6 slots hold 2 and 4") {
    b.add_node("n1", 4);
    b.add_node("n2", 2);
    auto gs = drain(b);
    CHECK(gs.size() == 6);
    CHECK(b.held("light") == 2);
    CHECK(b.held("heavy") == 4);
    // And it stays so as slots free and are granted again.
    for (int i = 0; i < 30; ++i) {
      auto& g = gs[static_cast<size_t>(i) % gs.size()];
      b.release(g.study, g.slot, g.lease);
      auto again = b.next();
      REQUIRE(again);
      g = *again;
      CHECK(b.held("light") + b.held("heavy") == 6);
      CHECK(b.held("light") >= 1);
      CHECK(b.held("light") <= 2);
    }
    drain(b);
    CHECK(b.held("light") == 2);
    CHECK(b.held("heavy") == 4);
  }

  SECTION("a weight of 0 or less counts as 1") {
    b.add_study("zero", 0);
    b.add_study("neg", -3);
    b.set_wants("zero", true);
    b.set_wants("neg", true);
    b.set_wants("heavy", false);
    b.add_node("n", 3);
    drain(b);
    CHECK(b.held("light") == 1);
    CHECK(b.held("zero") == 1);
    CHECK(b.held("neg") == 1);
  }
}

TEST_CASE("a study that stops wanting gets nothing", "[broker]") {
  slot_broker b;
  b.add_node("n", 4);
  b.add_study("a");
  b.add_study("b");
  b.set_wants("a", true);
  b.set_wants("b", true);
  CHECK(b.wants("a"));
  auto g = b.next();
  REQUIRE(g);
  CHECK(g->study == "a");
  b.set_wants("a", false);
  CHECK_FALSE(b.wants("a"));
  auto rest = drain(b);
  CHECK(rest.size() == 3);
  CHECK(per_study(rest) == std::map<std::string, size_t>{{"b", 3}});
  CHECK(b.held("a") == 1);
  b.set_wants("b", false);
  b.release("b", rest[0].slot, rest[0].lease);
  CHECK_FALSE(b.next());
  CHECK(b.free_slots() == 1);
}

TEST_CASE("slots are taken from the node with the most free slots",
          "[broker]") {
  slot_broker b;
  b.add_node("a", 2);
  b.add_node("b", 3);
  b.add_node("c", 1);
  b.add_study("s");
  b.set_wants("s", true);
  auto gs = drain(b);
  std::vector<slot_ref> got;
  for (auto& g : gs)
    got.push_back(g.slot);
  // b has 3 free; then a and b tie at 2 (a first by name); then b (2 vs 1);
  // then a, b, c tie at 1.
  CHECK(got == std::vector<slot_ref>{
                   {"b", 0}, {"a", 0}, {"b", 1}, {"a", 1}, {"b", 2}, {"c", 0}});
  // A freed slot is granted again, by its index.
  REQUIRE(gs[2].slot == slot_ref{"b", 1});
  b.release("s", gs[2].slot, gs[2].lease);
  auto g = b.next();
  REQUIRE(g);
  CHECK(g->slot == slot_ref{"b", 1});
}

TEST_CASE("remove_node returns exactly the leases on it and frees them",
          "[broker]") {
  slot_broker b;
  b.add_node("n1", 2);
  b.add_node("n2", 2);
  b.add_study("a");
  b.add_study("b");
  b.set_wants("a", true);
  b.set_wants("b", true);
  auto gs = drain(b);
  REQUIRE(gs.size() == 4);
  std::set<slot_ref> on_n1;
  std::map<std::string, size_t> held_on_n1;
  for (auto& g : gs)
    if (g.slot.node == "n1") {
      on_n1.insert(g.slot);
      ++held_on_n1[g.study];
    }
  REQUIRE(on_n1.size() == 2);

  auto lost = b.remove_node("n1");
  std::set<slot_ref> lost_slots;
  for (auto& l : lost) {
    lost_slots.insert(l.slot);
    // The lease names the study that held it.
    auto match = std::find_if(gs.begin(), gs.end(),
                              [&](const grant& g) { return g.slot == l.slot; });
    REQUIRE(match != gs.end());
    CHECK(match->study == l.study);
  }
  CHECK(lost.size() == 2);
  CHECK(lost_slots == on_n1);
  CHECK(b.held("a") == 2 - held_on_n1["a"]);
  CHECK(b.held("b") == 2 - held_on_n1["b"]);
  CHECK(b.total_slots() == 2);
  CHECK(b.free_slots() == 0);
  CHECK_FALSE(b.has_node("n1"));
  CHECK_FALSE(b.next());
  // Removing it again, or an unknown node, returns nothing.
  CHECK(b.remove_node("n1").empty());
  CHECK(b.remove_node("nope").empty());
  // Releases of its old leases are ignored.
  for (auto& l : lost)
    b.release(l.study, l.slot, l.lease);
  CHECK(b.held("a") == 2 - held_on_n1["a"]);
  CHECK(b.held("b") == 2 - held_on_n1["b"]);
}

TEST_CASE("releases of unknown slots or by the wrong study are ignored",
          "[broker]") {
  slot_broker b;
  b.add_node("n", 2);
  b.add_study("a");
  b.add_study("b");
  b.set_wants("a", true);
  auto g = b.next();
  REQUIRE(g);
  REQUIRE(g->study == "a");
  b.release("b", g->slot, g->lease);          // not b's
  b.release("a", {"n", 1}, g->lease);         // not leased
  b.release("a", {"n", 7}, g->lease);         // no such slot
  b.release("a", {"elsewhere", 0}, g->lease); // no such node
  b.release("ghost", g->slot, g->lease);      // no such study
  b.release("a", g->slot, g->lease + 100);    // not this lease
  CHECK(b.held("a") == 1);
  CHECK(b.held("b") == 0);
  CHECK(b.free_slots() == 1);
  // The slot is still a's: b, wanting, gets the other one only.
  b.set_wants("a", false);
  b.set_wants("b", true);
  auto h = b.next();
  REQUIRE(h);
  CHECK(h->slot == slot_ref{"n", 1});
  CHECK_FALSE(b.next());
  // A release by the holder frees it.
  b.release("a", g->slot, g->lease);
  CHECK(b.held("a") == 0);
  auto k = b.next();
  REQUIRE(k);
  CHECK(k->study == "b");
  CHECK(k->slot == g->slot);
}

TEST_CASE("a node added again starts empty", "[broker]") {
  slot_broker b;
  b.add_node("n", 2);
  b.add_study("a");
  b.set_wants("a", true);
  REQUIRE(drain(b).size() == 2);
  CHECK(b.held("a") == 2);

  SECTION("after remove_node") {
    b.remove_node("n");
    b.add_node("n", 3);
  }
  SECTION("replacing it while it is known") {
    b.add_node("n", 3);
  }

  CHECK(b.held("a") == 0);
  CHECK(b.total_slots() == 3);
  CHECK(b.free_slots() == 3);
  CHECK(drain(b).size() == 3);
  CHECK(b.held("a") == 3);
}

TEST_CASE("removing a study frees its slots for the others", "[broker]") {
  slot_broker b;
  b.add_node("n", 3);
  b.add_study("a");
  b.add_study("b");
  b.set_wants("a", true);
  REQUIRE(drain(b).size() == 3);
  b.set_wants("b", true);
  CHECK_FALSE(b.next());
  b.remove_study("a");
  CHECK(b.held("a") == 0);
  CHECK_FALSE(b.wants("a"));
  CHECK(b.free_slots() == 3);
  auto gs = drain(b);
  CHECK(per_study(gs) == std::map<std::string, size_t>{{"b", 3}});
}

// A lease has no identity beyond (node, index): when a node leaves and comes
// back under the same name, a late release for a lease from before (the
// study actor forwards every TrialEnd's slot, stale ones included) frees the
// lease granted since on the same slot, and the slot is handed out twice.
TEST_CASE("a release from before a node came back leaves the new lease alone",
          "[broker]") {
  slot_broker b;
  b.add_node("n", 1);
  b.add_study("a");
  b.set_wants("a", true);
  auto old = b.next();
  REQUIRE(old);
  b.remove_node("n"); // the node is lost; its trial is re-queued
  b.add_node("n", 1); // and rejoins
  auto fresh = b.next();
  REQUIRE(fresh);
  CHECK(fresh->slot == old->slot);
  b.release(old->study, old->slot, old->lease); // the old trial's late end
  CHECK(b.held("a") == 1);
  CHECK_FALSE(b.next()); // the slot is still in use
}
