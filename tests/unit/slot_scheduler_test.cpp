// The cluster's one slot scheduler (runtime/slot_scheduler.hpp): gangs are
// granted whole or not at all, placed packed or spread, shared fairly by
// weight between consumers of every kind, served by priority without being
// starved by small requests, and lower-priority preemptible work is named
// for preemption. Deterministic: no clock, no CAF.

#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "runtime/slot_scheduler.hpp"

using namespace troupe;

namespace {

/// Grants until next() gives nothing.
std::vector<slot_lease> drain(slot_scheduler& s) {
  std::vector<slot_lease> out;
  while (auto l = s.next())
    out.push_back(*l);
  return out;
}

std::set<std::string> nodes_of(const slot_lease& l) {
  std::set<std::string> out;
  for (auto& s : l.slots)
    out.insert(s.node);
  return out;
}

} // namespace

TEST_CASE("a gang is granted whole or not at all", "[slot_scheduler]") {
  slot_scheduler s;
  s.add_node("a", 2);
  s.add_node("b", 2);
  s.add_consumer("job");
  s.add_consumer("study");
  auto big = s.request("job", 3);
  REQUIRE(big != 0);
  auto l = s.next();
  REQUIRE(l);
  CHECK(l->consumer == "job");
  CHECK(l->request == big);
  CHECK(l->slots.size() == 3);
  CHECK(nodes_of(*l) == std::set<std::string>{"a", "b"}); // spans nodes
  // one slot left: a gang of 2 waits, whole
  s.request("study", 2);
  CHECK_FALSE(s.next());
  CHECK(s.held("study") == 0);
  CHECK(s.free_slots() == 1);
  // the job releases: the gang fits now
  CHECK(s.release("job", l->id));
  CHECK_FALSE(s.release("job", l->id)); // once
  auto g = s.next();
  REQUIRE(g);
  CHECK(g->slots.size() == 2);
  CHECK(s.held("study") == 2);
  // a slot is leased to one consumer at a time
  std::set<slot_ref> seen;
  for (auto& lease : s.leases())
    for (auto& slot : lease.slots)
      CHECK(seen.insert(slot).second);
  // size 0 and unknown consumers are refused
  CHECK(s.request("study", 0) == 0);
  CHECK(s.request("nobody", 1) == 0);
}

TEST_CASE("a packed gang takes one node, a spread gang one slot per node",
          "[slot_scheduler]") {
  slot_scheduler s;
  s.add_node("a", 4);
  s.add_node("b", 2);
  s.add_node("c", 2);
  s.add_consumer("x");
  s.request("x", 3, gang_placement::spread);
  auto sp = s.next();
  REQUIRE(sp);
  CHECK(nodes_of(*sp) == std::set<std::string>{"a", "b", "c"});
  s.request("x", 1, gang_placement::pack);
  auto p1 = s.next();
  REQUIRE(p1);
  CHECK(*nodes_of(*p1).begin() == "b"); // best fit: the fullest that fits
  s.request("x", 2, gang_placement::pack);
  auto p = s.next();
  REQUIRE(p);
  CHECK(nodes_of(*p) == std::set<std::string>{"a"}); // the only one with 2
  s.release("x", p1->id);
  // a pack larger than any node, a spread wider than the nodes: they wait
  // without blocking others
  s.add_consumer("y");
  s.request("y", 5, gang_placement::pack);
  s.request("x", 4, gang_placement::spread);
  s.request("x", 1);
  auto one = s.next();
  REQUIRE(one);
  CHECK(one->consumer == "x");
  CHECK(one->slots.size() == 1);
  CHECK(s.pending("y") == 1);
  // a node that joins makes the wide spread placeable
  s.add_node("d", 1);
  s.release("x", p->id);
  s.release("x", sp->id);
  s.release("x", one->id);
  auto wide = s.next();
  REQUIRE(wide);
  CHECK(wide->slots.size() == 4);
  CHECK(nodes_of(*wide).size() == 4);
}

TEST_CASE("fair share holds a study and a job to their weights, and equal "
          "consumers take turns",
          "[slot_scheduler]") {
  slot_scheduler s;
  s.add_node("a", 6);
  s.add_node("b", 6);
  consumer_options heavy;
  heavy.weight = 2;
  s.add_consumer("study", heavy);
  s.add_consumer("job");
  for (int i = 0; i < 20; ++i) {
    s.request("study");
    s.request("job");
  }
  auto granted = drain(s);
  CHECK(granted.size() == 12);
  CHECK(s.held("study") == 8);
  CHECK(s.held("job") == 4);
  // slots spread over the nodes
  std::map<std::string, int> per_node;
  for (auto& l : granted)
    ++per_node[l.slots.front().node];
  CHECK(per_node["a"] == 6);
  CHECK(per_node["b"] == 6);
  // equal weights: the next slots alternate
  slot_scheduler t;
  t.add_node("n", 4);
  t.add_consumer("p");
  t.add_consumer("q");
  for (int i = 0; i < 4; ++i) {
    t.request("p");
    t.request("q");
  }
  std::vector<std::string> who;
  for (auto& l : drain(t))
    who.push_back(l.consumer);
  CHECK(who == std::vector<std::string>{"p", "q", "p", "q"});
}

TEST_CASE("priority is served first, and a large gang is not starved by "
          "small requests",
          "[slot_scheduler]") {
  slot_scheduler s;
  s.add_node("a", 4);
  s.add_consumer("trials");
  consumer_options urgent;
  urgent.priority = 5;
  s.add_consumer("replicas", urgent);
  for (int i = 0; i < 4; ++i)
    s.request("trials");
  s.request("replicas");
  auto first = s.next();
  REQUIRE(first);
  CHECK(first->consumer == "replicas");
  drain(s); // the trials take the other 3
  CHECK(s.held("trials") == 3);
  // a gang of 3 behind a stream of single trials: no backfill
  s.add_consumer("job");
  s.request("job", 3);
  auto leases = s.leases();
  for (auto& l : leases)
    if (l.consumer == "trials") {
      s.release("trials", l.id);
      s.request("trials"); // the study asks again at once
      auto n = s.next();
      // the freed slot waits for the gang instead of going to a trial
      CHECK((!n || n->consumer == "job"));
    }
  CHECK(s.held("job") == 3);
  CHECK(s.pending("trials") == 4);
}

TEST_CASE("preemption names the fewest lower-priority preemptible leases "
          "that let the waiting gang fit",
          "[slot_scheduler]") {
  slot_scheduler s;
  s.add_node("a", 2);
  s.add_node("b", 2);
  consumer_options low;
  low.priority = 0;
  low.preemptible = true;
  consumer_options pinned; // low priority, cannot checkpoint
  s.add_consumer("batch", low);
  s.add_consumer("replica", pinned);
  consumer_options high;
  high.priority = 10;
  s.add_consumer("job", high);
  s.request("replica");
  for (int i = 0; i < 3; ++i)
    s.request("batch");
  auto held = drain(s);
  REQUIRE(held.size() == 4);
  CHECK(s.free_slots() == 0);
  s.request("job", 2, gang_placement::pack);
  CHECK_FALSE(s.next());
  auto victims = s.preempt();
  // the replica's node cannot host the pack; the batch's two slots on the
  // other node are named, newest first, and nothing more
  REQUIRE(victims.size() == 2);
  for (auto& v : victims)
    CHECK(v.consumer == "batch");
  CHECK(nodes_of(victims[0]) == nodes_of(victims[1]));
  CHECK(s.preempt().empty()); // named once
  for (auto& v : victims)
    CHECK(s.release("batch", v.id));
  auto g = s.next();
  REQUIRE(g);
  CHECK(g->consumer == "job");
  CHECK(g->slots.size() == 2);
  // nothing preemptible of lower priority: no victims
  slot_scheduler t;
  t.add_node("a", 1);
  t.add_consumer("replica", pinned);
  t.add_consumer("job", high);
  t.request("replica");
  REQUIRE(t.next());
  t.request("job");
  CHECK(t.preempt().empty());
}

TEST_CASE("a node that leaves takes its leases whole, and a consumer that "
          "leaves frees its slots",
          "[slot_scheduler]") {
  slot_scheduler s;
  s.add_node("a", 2);
  s.add_node("b", 2);
  s.add_consumer("job");
  s.add_consumer("study");
  s.request("job", 2, gang_placement::spread);
  auto gang = s.next();
  REQUIRE(gang);
  s.request("study");
  REQUIRE(s.next());
  auto lost = s.remove_node("a");
  bool gang_lost = false;
  for (auto& l : lost)
    gang_lost = gang_lost || l.id == gang->id;
  CHECK(gang_lost);
  CHECK(s.held("job") == 0); // its slot on b is free again
  CHECK(s.total_slots() == 2);
  s.remove_consumer("study");
  CHECK(s.free_slots() == 2);
  CHECK(s.leases().empty());
}

TEST_CASE("a gang whose consumer keeps survivors loses only the lost node's "
          "slots, and one lost whole still goes",
          "[slot_scheduler]") {
  slot_scheduler s;
  s.add_node("a", 2);
  s.add_node("b", 2);
  s.add_node("c", 1);
  consumer_options keeps;
  keeps.keeps_survivors = true;
  s.add_consumer("job", keeps);
  s.request("job", 3, gang_placement::spread);
  auto gang = s.next();
  REQUIRE(gang);
  REQUIRE(gang->slots.size() == 3);
  auto lost = s.remove_node("a");
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].slots.size() == 3); // as it was
  auto* kept = s.lease(gang->id);
  REQUIRE(kept);
  REQUIRE(kept->slots.size() == 2);
  for (auto& slot : kept->slots)
    CHECK(slot.node != "a");
  CHECK(s.held("job") == 2);
  CHECK(s.free_slots() == 1); // b's other slot
  // one more slot for the job: the free one on b
  s.request("job", 1);
  auto more = s.next();
  REQUIRE(more);
  CHECK(more->slots[0].node == "b");
  CHECK(s.held("job") == 3);
  CHECK(s.free_slots() == 0);
  // a lease left with no slot elsewhere is lost whole
  CHECK(s.remove_node("b").size() == 2);
  CHECK(s.lease(more->id) == nullptr);
  REQUIRE(s.lease(gang->id));
  CHECK(s.lease(gang->id)->slots.size() == 1);
  CHECK(s.held("job") == 1);
  CHECK(s.release("job", gang->id));
  CHECK(s.held("job") == 0);
  CHECK(s.free_slots() == 1);
}

TEST_CASE("a request for one node takes slots there only, and preemption "
          "for it names leases on that node",
          "[slot_scheduler]") {
  slot_scheduler s;
  s.add_node("a", 2);
  s.add_node("b", 2);
  consumer_options low;
  low.preemptible = true;
  s.add_consumer("study", low);
  consumer_options high;
  high.priority = 10;
  s.add_consumer("replica", high);
  REQUIRE(s.request("study", 2, gang_placement::any, "b") != 0);
  auto got = drain(s);
  REQUIRE(got.size() == 1);
  CHECK(nodes_of(got[0]) == std::set<std::string>{"b"});
  CHECK(s.free_on("a") == 2);
  CHECK(s.free_on("b") == 0);
  CHECK(s.free_on("nowhere") == 0);
  // a gang for a node that does not exist never fits and blocks nobody
  REQUIRE(s.request("replica", 1, gang_placement::any, "nowhere") != 0);
  REQUIRE(s.request("study", 1) != 0);
  got = drain(s);
  REQUIRE(got.size() == 1);
  CHECK(got[0].consumer == "study");
  CHECK(nodes_of(got[0]) == std::set<std::string>{"a"});
  s.cancel_all("replica");
  // b is full: the replica that must run there preempts the study's gang
  // on b, not its slot on a
  REQUIRE(s.request("replica", 1, gang_placement::any, "b") != 0);
  CHECK_FALSE(s.next());
  auto victims = s.preempt();
  REQUIRE(victims.size() == 1);
  CHECK(nodes_of(victims[0]) == std::set<std::string>{"b"});
  REQUIRE(s.release("study", victims[0].id));
  got = drain(s);
  REQUIRE(got.size() == 1);
  CHECK(got[0].consumer == "replica");
  CHECK(nodes_of(got[0]) == std::set<std::string>{"b"});
}

TEST_CASE("an elastic gang takes the most slots that fit, never fewer than "
          "its least",
          "[slot_scheduler]") {
  slot_scheduler s;
  s.add_node("a", 2);
  s.add_node("b", 1);
  s.add_consumer("job");
  s.add_consumer("study");
  s.request("study", 1, gang_placement::any, "b");
  REQUIRE(s.next()); // b is full: 2 slots free
  // 4 wanted, 2 at least: it takes the 2 there are
  auto r = s.request("job", 4, gang_placement::any, {}, 2);
  auto l = s.next();
  REQUIRE(l);
  CHECK(l->request == r);
  CHECK(l->slots.size() == 2);
  CHECK(s.free_slots() == 0);
  // 3 at least, 1 free: it waits, whole
  CHECK(s.release("job", l->id));
  s.request("study", 1);
  REQUIRE(s.next()); // 1 free
  s.request("job", 4, gang_placement::any, {}, 3);
  CHECK_FALSE(s.next());
  CHECK(s.held("job") == 0);
  // an elastic spread takes one slot on each node there is
  slot_scheduler t;
  t.add_node("a", 2);
  t.add_node("b", 2);
  t.add_consumer("job");
  t.request("job", 3, gang_placement::spread, {}, 2);
  auto spread = t.next();
  REQUIRE(spread);
  CHECK(spread->slots.size() == 2);
  CHECK(nodes_of(*spread) == std::set<std::string>{"a", "b"});
  // a least larger than the cluster never fits; a least of 0 is the size
  slot_scheduler u;
  u.add_node("a", 2);
  u.add_consumer("job");
  u.request("job", 5, gang_placement::any, {}, 3);
  CHECK_FALSE(u.next());
  u.cancel_all("job");
  u.request("job", 2, gang_placement::any, {}, 0);
  auto whole = u.next();
  REQUIRE(whole);
  CHECK(whole->slots.size() == 2);
}
