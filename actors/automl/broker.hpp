#pragma once

// Fair sharing of the cluster's worker slots between studies, as a plain
// class the AutoML service drives (no CAF, no clock).
//
// Every node offers slots; a study that wants slots is granted them one at a
// time. The next grant goes to the wanting study that holds the fewest slots
// for its weight ((held + 1) / weight smallest); among equals, to the one
// granted least recently, so equal studies take turns (round-robin by study)
// and a study of weight 2 holds twice the slots of a study of weight 1 while
// both want more. The slot is taken from the node with the most free slots
// (then by name), so trials spread over the cluster.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace troupe::automl {

/// One slot of one node.
struct slot_ref {
  std::string node;
  uint32_t index = 0;
  friend bool operator<(const slot_ref& a, const slot_ref& b) {
    return a.node != b.node ? a.node < b.node : a.index < b.index;
  }
  friend bool operator==(const slot_ref& a, const slot_ref& b) {
    return a.node == b.node && a.index == b.index;
  }
};

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
  bool has_node(const std::string& node) const { return nodes_.count(node); }

private:
  struct study_state {
    double weight = 1;
    bool wants = false;
    size_t held = 0;
    uint64_t last_grant = 0; ///< sequence number of its last grant
    uint64_t order = 0;      ///< when it was added
  };
  struct node_state {
    uint32_t slots = 0;
    /// slot index -> the study holding it and the lease
    std::map<uint32_t, std::pair<std::string, uint64_t>> leased;
  };
  std::map<std::string, study_state> studies_;
  std::map<std::string, node_state> nodes_;
  uint64_t seq_ = 0;
  uint64_t added_ = 0;
};

} // namespace troupe::automl
