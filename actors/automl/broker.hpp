#pragma once

// Fair sharing of the cluster's worker slots between studies, as a plain
// class the AutoML service drives (no CAF, no clock): studies that want
// slots, one at a time, on runtime/slot_scheduler.hpp, the cluster's one
// scheduler, whose fair share this is. The next grant goes to the wanting
// study that holds the fewest slots for its weight ((held + 1) / weight
// smallest); among equals, to the one granted least recently, so equal
// studies take turns (round-robin by study) and a study of weight 2 holds
// twice the slots of a study of weight 1 while both want more. The slot is
// taken from the node with the most free slots (then by name), so trials
// spread over the cluster.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/slot_scheduler.hpp"

namespace troupe::automl {

using troupe::slot_ref;

/// A slot handed to a study. `lease` is unique per grant: a release must
/// name it, so a late release of an older lease on the same slot (its node
/// left and came back) cannot free the lease granted since.
struct grant {
  std::string study;
  slot_ref slot;
  uint64_t lease = 0;
};

class slot_broker {
public:
  /// Adds a node with `slots` slots (a node already known is replaced: its
  /// leases are dropped, as after remove_node).
  void add_node(const std::string& node, uint32_t slots);

  /// Removes a node; returns the leases it held (their trials are lost).
  std::vector<grant> remove_node(const std::string& node);

  /// Adds a study with a weight (> 0; others are taken as 1).
  void add_study(const std::string& study, double weight = 1);

  /// Removes a study; its slots become free.
  void remove_study(const std::string& study);

  /// Whether a study wants more slots now.
  void set_wants(const std::string& study, bool wants);
  bool wants(const std::string& study) const;

  /// A study gives a lease back. Unknown slots (a removed node), other
  /// studies' slots and older leases are ignored.
  void release(const std::string& study, const slot_ref& slot, uint64_t lease);

  /// The next grant, if a slot is free and a study wants one.
  std::optional<grant> next();

  size_t free_slots() const;
  size_t total_slots() const;
  /// Slots a study holds now.
  size_t held(const std::string& study) const;
  bool has_node(const std::string& node) const { return slots_.has_node(node); }

private:
  slot_scheduler slots_;
  /// Studies that want slots now (each then has one pending request).
  std::set<std::string> wanting_;
};

} // namespace troupe::automl
