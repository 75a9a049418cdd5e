#include "runtime/slot_scheduler.hpp"

#include <algorithm>
#include <tuple>

namespace troupe {

void slot_scheduler::add_node(const std::string& node, uint32_t slots) {
  (void)remove_node(node);
  nodes_[node].slots = slots;
}

std::vector<slot_lease> slot_scheduler::remove_node(const std::string& node) {
  std::vector<slot_lease> lost;
  auto n = nodes_.find(node);
  if (n == nodes_.end()) return lost;
  std::set<uint64_t> ids;
  for (auto& [index, lease] : n->second.leased)
    ids.insert(lease);
  for (auto id : ids) {
    auto& l = leases_.at(id);
    lost.push_back(l);
    auto c = consumers_.find(l.consumer);
    auto elsewhere = std::count_if(l.slots.begin(), l.slots.end(),
                                   [&](auto& s) { return s.node != node; });
    if (c == consumers_.end() || !c->second.opts.keeps_survivors ||
        elsewhere == 0) {
      drop_lease(id);
      continue;
    }
    // the survivors stay leased; the node's slots go with it
    c->second.held -= l.slots.size() - static_cast<size_t>(elsewhere);
    l.slots.erase(std::remove_if(l.slots.begin(), l.slots.end(),
                                 [&](auto& s) { return s.node == node; }),
                  l.slots.end());
  }
  nodes_.erase(node);
  return lost;
}

void slot_scheduler::add_consumer(const std::string& name,
                                  consumer_options opts) {
  if (!(opts.weight > 0)) opts.weight = 1;
  auto [c, fresh] = consumers_.try_emplace(name);
  c->second.opts = opts;
  if (fresh) c->second.order = added_++;
}

void slot_scheduler::remove_consumer(const std::string& name) {
  std::vector<uint64_t> ids;
  for (auto& [id, l] : leases_)
    if (l.consumer == name) ids.push_back(id);
  for (auto id : ids)
    drop_lease(id);
  consumers_.erase(name);
}

uint64_t slot_scheduler::request(const std::string& consumer, uint32_t size,
                                 gang_placement where, const std::string& node,
                                 uint32_t min_size) {
  auto c = consumers_.find(consumer);
  if (c == consumers_.end() || size == 0) return 0;
  auto least = min_size > 0 && min_size < size ? min_size : size;
  c->second.queue.push_back({++requests_, size, least, where, node});
  return requests_;
}

void slot_scheduler::cancel(const std::string& consumer, uint64_t request) {
  auto c = consumers_.find(consumer);
  if (c == consumers_.end()) return;
  auto& q = c->second.queue;
  q.erase(std::remove_if(q.begin(), q.end(),
                         [&](auto& r) { return r.id == request; }),
          q.end());
}

void slot_scheduler::cancel_all(const std::string& consumer) {
  if (auto c = consumers_.find(consumer); c != consumers_.end())
    c->second.queue.clear();
}

size_t slot_scheduler::pending(const std::string& consumer) const {
  auto c = consumers_.find(consumer);
  return c == consumers_.end() ? 0 : c->second.queue.size();
}

bool slot_scheduler::release(const std::string& consumer, uint64_t lease) {
  auto l = leases_.find(lease);
  if (l == leases_.end() || l->second.consumer != consumer) return false;
  drop_lease(lease);
  return true;
}

void slot_scheduler::drop_lease(uint64_t id) {
  auto l = leases_.find(id);
  if (l == leases_.end()) return;
  for (auto& s : l->second.slots)
    if (auto n = nodes_.find(s.node); n != nodes_.end())
      n->second.leased.erase(s.index);
  if (auto c = consumers_.find(l->second.consumer); c != consumers_.end())
    c->second.held -= std::min(c->second.held, l->second.slots.size());
  preempting_.erase(id);
  leases_.erase(l);
}

bool slot_scheduler::placeable(const request_state& whole) const {
  // an elastic gang is placeable at its least
  auto r = whole;
  r.size = whole.min_size;
  size_t total = 0, largest = 0, nodes = 0;
  for (auto& [name, n] : nodes_) {
    if (!r.node.empty() && name != r.node) continue;
    total += n.slots;
    largest = std::max<size_t>(largest, n.slots);
    nodes += n.slots > 0 ? 1 : 0;
  }
  switch (r.where) {
  case gang_placement::pack:
    return r.size <= largest;
  case gang_placement::spread:
    return r.size <= nodes;
  case gang_placement::any:
    break;
  }
  return r.size <= total;
}

std::map<std::string, uint32_t>
slot_scheduler::free_for(const request_state& r) const {
  std::map<std::string, uint32_t> free;
  for (auto& [name, n] : nodes_)
    if (r.node.empty() || name == r.node) free[name] = n.free();
  return free;
}

std::map<std::string, uint32_t>
slot_scheduler::place(const request_state& r,
                      const std::map<std::string, uint32_t>& free) const {
  std::map<std::string, uint32_t> out;
  switch (r.where) {
  case gang_placement::pack: {
    // the fullest node that still fits it (best fit keeps big holes open)
    const std::string* best = nullptr;
    uint32_t best_free = 0;
    for (auto& [name, f] : free)
      if (f >= r.size && (!best || f < best_free)) {
        best = &name;
        best_free = f;
      }
    if (best) out[*best] = r.size;
    return out;
  }
  case gang_placement::spread: {
    // the nodes with the most free slots, one slot each
    std::vector<std::pair<uint32_t, std::string>> order;
    for (auto& [name, f] : free)
      if (f > 0) order.emplace_back(f, name);
    if (order.size() < r.size) return out;
    std::stable_sort(order.begin(), order.end(),
                     [](auto& a, auto& b) { return a.first > b.first; });
    for (uint32_t i = 0; i < r.size; ++i)
      out[order[i].second] = 1;
    return out;
  }
  case gang_placement::any:
    break;
  }
  // one slot at a time from the node with the most free slots (then name)
  auto left = free;
  for (uint32_t i = 0; i < r.size; ++i) {
    const std::string* best = nullptr;
    uint32_t best_free = 0;
    for (auto& [name, f] : left)
      if (f > best_free) {
        best = &name;
        best_free = f;
      }
    if (!best) return {};
    ++out[*best];
    --left[*best];
  }
  return out;
}

std::vector<std::pair<std::string, size_t>> slot_scheduler::ranked() const {
  using key = std::tuple<int, double, uint64_t, uint64_t>;
  std::vector<std::pair<key, std::pair<std::string, size_t>>> keyed;
  for (auto& [name, c] : consumers_) {
    // its first request that could ever fit (later ones wait behind it)
    auto head = std::find_if(c.queue.begin(), c.queue.end(),
                             [&](auto& r) { return placeable(r); });
    if (head == c.queue.end()) continue;
    keyed.push_back(
        {{-c.opts.priority, static_cast<double>(c.held + 1) / c.opts.weight,
          c.last_grant, c.order},
         {name, static_cast<size_t>(head - c.queue.begin())}});
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::pair<std::string, size_t>> out;
  for (auto& [k, entry] : keyed)
    out.push_back(entry);
  return out;
}

std::optional<slot_lease> slot_scheduler::next() {
  auto order = ranked();
  if (order.empty()) return std::nullopt;
  // no backfill: the first in order is served or nobody is
  auto& c = consumers_.at(order.front().first);
  auto head =
      c.queue.begin() + static_cast<std::ptrdiff_t>(order.front().second);
  auto free = free_for(*head);
  auto counts = place(*head, free);
  // an elastic gang takes the most that fits, down to its least
  for (auto k = head->size; counts.empty() && k > head->min_size;) {
    auto smaller = *head;
    smaller.size = --k;
    counts = place(smaller, free);
  }
  if (counts.empty()) return std::nullopt;
  slot_lease l;
  l.consumer = order.front().first;
  l.id = ++seq_;
  l.request = head->id;
  for (auto& [node, k] : counts) { // the node's lowest free slots
    auto& n = nodes_.at(node);
    for (uint32_t index = 0, left = k; left > 0 && index < n.slots; ++index)
      if (!n.leased.count(index)) {
        n.leased.emplace(index, l.id);
        l.slots.push_back({node, index});
        --left;
      }
  }
  c.held += l.slots.size();
  c.last_grant = l.id;
  c.queue.erase(head);
  leases_.emplace(l.id, l);
  return l;
}

std::vector<slot_lease> slot_scheduler::preempt() {
  auto order = ranked();
  if (order.empty()) return {};
  auto& c = consumers_.at(order.front().first);
  auto head =
      c.queue.begin() + static_cast<std::ptrdiff_t>(order.front().second);
  auto free = free_for(*head);
  // slots already on their way back count as free
  for (auto id : preempting_)
    for (auto& s : leases_.at(id).slots)
      if (free.count(s.node)) ++free[s.node];
  if (!place(*head, free).empty()) return {};
  // victims: lower priority, preemptible, not yet named; lowest priority
  // first, then newest
  std::vector<const slot_lease*> victims;
  for (auto& [id, l] : leases_) {
    auto v = consumers_.find(l.consumer);
    if (v == consumers_.end() || !v->second.opts.preemptible ||
        v->second.opts.priority >= c.opts.priority || preempting_.count(id))
      continue;
    victims.push_back(&l);
  }
  std::stable_sort(victims.begin(), victims.end(), [&](auto* a, auto* b) {
    auto pa = consumers_.at(a->consumer).opts.priority;
    auto pb = consumers_.at(b->consumer).opts.priority;
    return pa != pb ? pa < pb : a->id > b->id;
  });
  std::vector<slot_lease> out;
  for (auto* v : victims) {
    bool helps = false;
    for (auto& s : v->slots)
      if (free.count(s.node)) {
        ++free[s.node];
        helps = true;
      }
    if (!helps) continue; // its slots are on nodes the gang cannot take
    out.push_back(*v);
    if (!place(*head, free).empty()) break;
  }
  if (place(*head, free).empty()) return {};
  // fewest victims: drop any whose slots the gang turns out not to need
  for (size_t i = out.size(); i-- > 0;) {
    auto trial = free;
    for (auto& s : out[i].slots)
      if (trial.count(s.node)) --trial[s.node];
    if (!place(*head, trial).empty()) {
      free = std::move(trial);
      out.erase(out.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  for (auto& l : out)
    preempting_.insert(l.id);
  return out;
}

size_t slot_scheduler::free_slots() const {
  size_t n = 0;
  for (auto& [name, node] : nodes_)
    n += node.free();
  return n;
}

uint32_t slot_scheduler::free_on(const std::string& node) const {
  auto n = nodes_.find(node);
  return n == nodes_.end() ? 0 : n->second.free();
}

size_t slot_scheduler::total_slots() const {
  size_t n = 0;
  for (auto& [name, node] : nodes_)
    n += node.slots;
  return n;
}

size_t slot_scheduler::held(const std::string& consumer) const {
  auto c = consumers_.find(consumer);
  return c == consumers_.end() ? 0 : c->second.held;
}

std::vector<slot_lease> slot_scheduler::leases() const {
  std::vector<slot_lease> out;
  for (auto& [id, l] : leases_)
    out.push_back(l);
  return out;
}

} // namespace troupe
