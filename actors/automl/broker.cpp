#include "actors/automl/broker.hpp"

namespace troupe::automl {

void slot_broker::add_node(const std::string& node, uint32_t slots) {
  slots_.add_node(node, slots);
}

std::vector<grant> slot_broker::remove_node(const std::string& node) {
  std::vector<grant> lost;
  for (auto& l : slots_.remove_node(node))
    for (auto& s : l.slots)
      lost.push_back({l.consumer, s, l.id});
  return lost;
}

void slot_broker::add_study(const std::string& study, double weight) {
  consumer_options opts;
  opts.weight = weight;
  slots_.add_consumer(study, opts);
}

void slot_broker::remove_study(const std::string& study) {
  slots_.remove_consumer(study);
  wanting_.erase(study);
}

void slot_broker::set_wants(const std::string& study, bool wants) {
  if (!slots_.has_consumer(study)) return;
  if (!wants) {
    wanting_.erase(study);
    slots_.cancel_all(study);
    return;
  }
  wanting_.insert(study);
  if (slots_.pending(study) == 0) slots_.request(study);
}

bool slot_broker::wants(const std::string& study) const {
  return wanting_.count(study) > 0;
}

void slot_broker::release(const std::string& study, const slot_ref& slot,
                          uint64_t lease) {
  auto* l = slots_.lease(lease);
  if (!l || l->slots.size() != 1 || !(l->slots.front() == slot)) return;
  slots_.release(study, lease);
}

std::optional<grant> slot_broker::next() {
  auto l = slots_.next();
  if (!l) return std::nullopt;
  // a study that wants slots goes on wanting one more
  if (wanting_.count(l->consumer)) slots_.request(l->consumer);
  return grant{l->consumer, l->slots.front(), l->id};
}

size_t slot_broker::free_slots() const {
  return slots_.free_slots();
}

size_t slot_broker::total_slots() const {
  return slots_.total_slots();
}

size_t slot_broker::held(const std::string& study) const {
  return slots_.held(study);
}

} // namespace troupe::automl
