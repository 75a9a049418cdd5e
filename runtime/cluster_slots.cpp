#include "runtime/cluster_slots.hpp"

#include "runtime/errors.hpp"

namespace troupe {

void cluster_slots::add_node(const std::string& node, uint32_t slots) {
  nodes_[node] = slots;
  sched_.add_node(node, slots);
}

std::vector<slot_lease> cluster_slots::remove_node(const std::string& node) {
  nodes_.erase(node);
  return sched_.remove_node(node);
}

caf::error cluster_slots::want(const caf::actor& owner, const slot_want& w) {
  if (w.consumer.empty())
    return make_error(errc::invalid_argument, "a slot want names no consumer");
  auto c = consumers_.find(w.consumer);
  if (c != consumers_.end() && !c->second.owner)
    return make_error(errc::already_exists,
                      "slot consumer '" + w.consumer +
                          "' is the name of an actor that holds a slot");
  if (c != consumers_.end() && c->second.owner.address() != owner.address())
    return make_error(errc::already_exists, "slot consumer '" + w.consumer +
                                                "' belongs to another actor");
  if (w.leave) {
    sched_.remove_consumer(w.consumer);
    if (c != consumers_.end()) consumers_.erase(c);
    return caf::none;
  }
  auto want = w;
  if (want.size == 0) want.size = 1;
  if (want.opts.priority >= actor_priority)
    want.opts.priority = actor_priority - 1;
  sched_.add_consumer(want.consumer, want.opts);
  consumers_[want.consumer] = {owner, want};
  // the gang asked for may have changed: ask again
  sched_.cancel_all(want.consumer);
  if (want.wants) ask(want);
  return caf::none;
}

void cluster_slots::release(const std::string& consumer, uint64_t lease) {
  auto c = consumers_.find(consumer);
  if (c == consumers_.end() || !c->second.owner) return;
  sched_.release(consumer, lease);
}

void cluster_slots::owner_down(const caf::actor_addr& owner) {
  for (auto c = consumers_.begin(); c != consumers_.end();) {
    if (c->second.owner && c->second.owner.address() == owner) {
      sched_.remove_consumer(c->first);
      c = consumers_.erase(c);
    } else {
      ++c;
    }
  }
}

caf::error cluster_slots::take_for_actor(const std::string& actor,
                                         const std::string& node) {
  auto n = nodes_.find(node);
  if (n == nodes_.end())
    return make_error(errc::not_found, "no node named '" + node + "'");
  if (consumers_.count(actor))
    return make_error(errc::already_exists,
                      "slot consumer '" + actor + "' exists already");
  consumer_options opts;
  opts.priority = actor_priority;
  sched_.add_consumer(actor, opts);
  consumers_[actor] = {
      caf::actor{},
      slot_want{actor, opts, 1, 0, gang_placement::any, node, false, false}};
  sched_.request(actor, 1, gang_placement::any, node);
  while (auto l = sched_.next()) {
    if (l->consumer == actor) return caf::none;
    // (only a gang that fitted already could come first: kept for grants)
    granted(*l, ready_);
  }
  sched_.remove_consumer(actor);
  consumers_.erase(actor);
  std::map<std::string, size_t> held;
  for (auto& l : sched_.leases())
    for (auto& s : l.slots)
      if (s.node == node) ++held[l.consumer];
  std::string who;
  for (auto& [consumer, k] : held)
    who +=
        (who.empty() ? "" : ", ") + consumer + " (" + std::to_string(k) + ")";
  return make_error(errc::no_capacity,
                    "node " + node + " has no free slot: its " +
                        std::to_string(n->second) + " slot(s) are held by " +
                        (who.empty() ? std::string{"nobody"} : who));
}

void cluster_slots::actor_gone(const std::string& actor) {
  auto c = consumers_.find(actor);
  if (c == consumers_.end() || c->second.owner) return;
  sched_.remove_consumer(actor);
  consumers_.erase(c);
}

std::vector<owned_lease> cluster_slots::grants() {
  auto out = std::move(ready_);
  ready_.clear();
  while (auto l = sched_.next())
    granted(*l, out);
  return out;
}

void cluster_slots::granted(const slot_lease& l,
                            std::vector<owned_lease>& into) {
  auto c = consumers_.find(l.consumer);
  if (c == consumers_.end()) return;
  // a consumer that still wants asks for its next gang
  if (c->second.want.wants) ask(c->second.want);
  into.push_back({c->second.owner, l});
}

void cluster_slots::ask(const slot_want& w) {
  sched_.request(w.consumer, w.size, w.where, w.node, w.min_size);
}

std::vector<owned_lease> cluster_slots::preemptions() {
  std::vector<owned_lease> out;
  for (auto& l : sched_.preempt()) {
    auto c = consumers_.find(l.consumer);
    if (c != consumers_.end() && c->second.owner)
      out.push_back({c->second.owner, l});
  }
  return out;
}

std::vector<slot_holder> cluster_slots::holders() const {
  std::map<slot_ref, std::pair<std::string, uint64_t>> held;
  for (auto& l : sched_.leases())
    for (auto& s : l.slots)
      held[s] = {l.consumer, l.id};
  std::vector<slot_holder> out;
  for (auto& [node, slots] : nodes_)
    for (uint32_t i = 0; i < slots; ++i) {
      slot_holder h{node, i, {}, 0};
      if (auto x = held.find({node, i}); x != held.end()) {
        h.consumer = x->second.first;
        h.lease = x->second.second;
      }
      out.push_back(std::move(h));
    }
  return out;
}

} // namespace troupe
