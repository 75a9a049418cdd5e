// The cluster's slots as the directory keeps them (runtime/cluster_slots):
// standing wants granted gang after gang, actors' own slots taken at spawn
// time above every consumer, owners that go, and the holders' listing.

#include <catch2/catch.hpp>

#include <map>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include "runtime/cluster_slots.hpp"
#include "runtime/errors.hpp"

using namespace troupe;

namespace {

caf::behavior idle() {
  return {[](int) {}};
}

slot_want wanting(const std::string& consumer, bool wants = true,
                  uint32_t size = 1) {
  slot_want w;
  w.consumer = consumer;
  w.size = size;
  w.wants = wants;
  return w;
}

std::map<std::string, size_t> held_by(const cluster_slots& s) {
  std::map<std::string, size_t> out;
  for (auto& h : s.holders())
    ++out[h.consumer];
  return out;
}

} // namespace

TEST_CASE("a consumer that wants is granted gang after gang until it stops "
          "wanting, and its owner's leaving frees its slots",
          "[cluster_slots]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto owner = sys.spawn(idle);
  auto other = sys.spawn(idle);
  cluster_slots s;
  s.add_node("a", 2);
  s.add_node("b", 1);
  REQUIRE_FALSE(s.want(owner, wanting("automl/x")));
  auto got = s.grants();
  REQUIRE(got.size() == 3); // one slot at a time while it wants
  for (auto& g : got) {
    CHECK(g.owner == owner);
    CHECK(g.lease.consumer == "automl/x");
  }
  CHECK(s.free_on("a") == 0);
  CHECK(s.free_on("b") == 0);
  // a release while wanting is granted again at once
  s.release("automl/x", got[0].lease.id);
  auto again = s.grants();
  REQUIRE(again.size() == 1);
  // not wanting: a released slot stays free
  REQUIRE_FALSE(s.want(owner, wanting("automl/x", false)));
  s.release("automl/x", again[0].lease.id);
  CHECK(s.grants().empty());
  CHECK(held_by(s)[""] == 1);
  // another actor cannot speak for this consumer, nor can a nameless want
  auto err = s.want(other, wanting("automl/x"));
  REQUIRE(err);
  CHECK_THAT(describe(err), Catch::Contains("belongs to another actor"));
  CHECK(s.want(other, wanting("")));
  // the owner goes: its consumer leaves, its slots are free
  s.owner_down(owner.address());
  CHECK(held_by(s)[""] == 3);
  CHECK(s.grants().empty());
}

TEST_CASE("an actor's slot is taken at spawn on its node above every "
          "consumer, refused naming the holders, and freed when it goes",
          "[cluster_slots]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto owner = sys.spawn(idle);
  cluster_slots s;
  s.add_node("a", 2);
  s.add_node("b", 2);
  REQUIRE_FALSE(s.take_for_actor("replica-1", "b"));
  auto want = wanting("automl/x");
  want.opts.priority = cluster_slots::actor_priority + 5; // capped below
  REQUIRE_FALSE(s.want(owner, want));
  CHECK(s.grants().size() == 3); // the slots the replica left
  auto err = s.take_for_actor("replica-2", "b");
  REQUIRE(err);
  CHECK(err.code() == static_cast<uint8_t>(errc::no_capacity));
  CHECK_THAT(describe(err), Catch::Contains("node b has no free slot") &&
                                Catch::Contains("automl/x (1)") &&
                                Catch::Contains("replica-1 (1)"));
  CHECK(s.take_for_actor("replica-2", "nowhere"));
  CHECK(s.take_for_actor("replica-1", "a")); // a name holds one slot
  // a consumer cannot take an actor's name
  CHECK(s.want(owner, wanting("replica-1")));
  // the replica goes: its slot goes to the study, which still wants
  s.actor_gone("replica-1");
  auto got = s.grants();
  REQUIRE(got.size() == 1);
  CHECK(got[0].lease.consumer == "automl/x");
  CHECK(got[0].lease.slots.front().node == "b");
  auto held = held_by(s);
  CHECK(held["automl/x"] == 4);
  CHECK(held.count("") == 0);
  // a node that leaves takes its leases
  auto lost = s.remove_node("b");
  CHECK(lost.size() == 2);
  CHECK(s.holders().size() == 2);
}

TEST_CASE("a gang waits whole, and a preemptible consumer is asked to give "
          "a lease back for higher-priority work",
          "[cluster_slots]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto study = sys.spawn(idle);
  auto job = sys.spawn(idle);
  cluster_slots s;
  s.add_node("a", 2);
  s.add_node("b", 2);
  auto low = wanting("automl/x");
  low.opts.preemptible = true;
  REQUIRE_FALSE(s.want(study, low));
  auto got = s.grants();
  REQUIRE(got.size() == 4);
  // stop wanting, so freed slots are not taken back at once
  low.wants = false;
  REQUIRE_FALSE(s.want(study, low));
  auto gang = wanting("job/train", true, 2);
  gang.where = gang_placement::pack;
  gang.opts.priority = 5;
  REQUIRE_FALSE(s.want(job, gang));
  CHECK(s.grants().empty());
  auto asked = s.preemptions();
  REQUIRE(asked.size() == 2);
  CHECK(asked[0].owner == study);
  CHECK(asked[0].lease.slots.front().node == asked[1].lease.slots.front().node);
  for (auto& p : asked)
    s.release("automl/x", p.lease.id);
  auto granted = s.grants();
  REQUIRE(granted.size() == 1);
  CHECK(granted[0].owner == job);
  CHECK(granted[0].lease.slots.size() == 2);
}
