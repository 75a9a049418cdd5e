#include "actors/automl/broker.hpp"

#include <tuple>

namespace troupe::automl {

void slot_broker::add_node(const std::string& node, uint32_t slots) {
  (void)remove_node(node);
  nodes_[node].slots = slots;
}

std::vector<grant> slot_broker::remove_node(const std::string& node) {
  std::vector<grant> lost;
  auto i = nodes_.find(node);
  if (i == nodes_.end()) return lost;
  for (auto& [index, holder] : i->second.leased) {
    auto& study = holder.first;
    lost.push_back({study, {node, index}, holder.second});
    if (auto s = studies_.find(study); s != studies_.end() && s->second.held)
      --s->second.held;
  }
  nodes_.erase(i);
  return lost;
}

void slot_broker::add_study(const std::string& study, double weight) {
  auto& s = studies_[study];
  s.weight = weight > 0 ? weight : 1;
  s.order = added_++;
}

void slot_broker::remove_study(const std::string& study) {
  for (auto& [name, n] : nodes_)
    for (auto i = n.leased.begin(); i != n.leased.end();)
      i = i->second.first == study ? n.leased.erase(i) : std::next(i);
  studies_.erase(study);
}

void slot_broker::set_wants(const std::string& study, bool wants) {
  if (auto s = studies_.find(study); s != studies_.end())
    s->second.wants = wants;
}

bool slot_broker::wants(const std::string& study) const {
  auto s = studies_.find(study);
  return s != studies_.end() && s->second.wants;
}

void slot_broker::release(const std::string& study, const slot_ref& slot,
                          uint64_t lease) {
  auto n = nodes_.find(slot.node);
  if (n == nodes_.end()) return;
  auto l = n->second.leased.find(slot.index);
  if (l == n->second.leased.end() || l->second.first != study ||
      l->second.second != lease)
    return;
  n->second.leased.erase(l);
  if (auto s = studies_.find(study); s != studies_.end() && s->second.held)
    --s->second.held;
}

std::optional<grant> slot_broker::next() {
  // The node with the most free slots.
  node_state* best_node = nullptr;
  const std::string* best_name = nullptr;
  size_t best_free = 0;
  for (auto& [name, n] : nodes_) {
    auto free = n.slots - n.leased.size();
    if (free > best_free) {
      best_free = free;
      best_node = &n;
      best_name = &name;
    }
  }
  if (!best_node) return std::nullopt;
  // The wanting study with the fewest slots for its weight, then the one
  // granted least recently, then the oldest.
  const std::string* chosen = nullptr;
  study_state* cs = nullptr;
  std::tuple<double, uint64_t, uint64_t> best_key{};
  for (auto& [name, s] : studies_) {
    if (!s.wants) continue;
    std::tuple<double, uint64_t, uint64_t> key{
        static_cast<double>(s.held + 1) / s.weight, s.last_grant, s.order};
    if (!cs || key < best_key) {
      best_key = key;
      cs = &s;
      chosen = &name;
    }
  }
  if (!cs) return std::nullopt;
  uint32_t index = 0;
  while (best_node->leased.count(index))
    ++index;
  ++cs->held;
  cs->last_grant = ++seq_;
  best_node->leased.emplace(index, std::make_pair(*chosen, seq_));
  return grant{*chosen, {*best_name, index}, seq_};
}

size_t slot_broker::free_slots() const {
  size_t n = 0;
  for (auto& [name, node] : nodes_)
    n += node.slots - node.leased.size();
  return n;
}

size_t slot_broker::total_slots() const {
  size_t n = 0;
  for (auto& [name, node] : nodes_)
    n += node.slots;
  return n;
}

size_t slot_broker::held(const std::string& study) const {
  auto s = studies_.find(study);
  return s == studies_.end() ? 0 : s->second.held;
}

} // namespace troupe::automl
