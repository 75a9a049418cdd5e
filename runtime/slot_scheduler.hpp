#pragma once

// The cluster's slots, owned by one scheduler that every consumer asks:
// AutoML studies for their trials, training jobs for their workers,
// deployments for their replicas. A plain class (no CAF, no clock): the
// actor that owns it feeds it nodes, consumers and requests, and acts on
// what next() and preempt() return.
//
// - A request is a gang: `size` slots granted together or not at all,
//   anywhere (`any`: one at a time from the node with the most free slots),
//   all on one node (`pack`) or each on a different node (`spread`). An
//   elastic gang (`min_size` < size) takes as many as fit, at least
//   min_size, when the whole gang does not.
// - Consumers have a weight and a priority. Pending gangs are served in
//   order of priority (higher first), then fair share: the consumer holding
//   the fewest slots for its weight ((held + 1) / weight smallest, whatever
//   the gang's size, so a gang's size does not push it back), then the one
//   granted least recently, then the oldest. So equal consumers take turns,
//   and one of weight 2 holds twice the slots of one of weight 1 while both
//   want more.
// - No backfill: when the first gang in that order does not fit the free
//   slots, nothing else is granted until it does (slots free up as work
//   ends), so a large gang is never starved by a stream of small ones. A
//   gang that could not fit even an empty cluster (more slots than it has,
//   a pack larger than any node, a spread wider than the nodes) waits
//   without blocking others.
// - Preemption: preempt() names the leases of lower-priority, preemptible
//   consumers that, once released, let the first waiting gang fit; the
//   owner asks them to checkpoint and release.
// - A slot is leased to one consumer at a time: a deployment's replica and
//   a study's trial never share one.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace troupe {

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

/// Where a gang's slots may be.
enum class gang_placement { any, pack, spread };

/// A consumer of slots (a study, a job, a deployment).
struct consumer_options {
  /// Fair-share weight (> 0; others are taken as 1).
  double weight = 1;
  /// Higher is served first, and may preempt lower preemptible work.
  int priority = 0;
  /// Whether its leases may be taken back for higher-priority work (it can
  /// checkpoint).
  bool preemptible = false;
  /// Whether its gangs outlive a lost node: the node's slots leave the
  /// lease and the others stay leased (a job that restores one member
  /// elsewhere and carries on); otherwise a lost node's leases are lost
  /// whole.
  bool keeps_survivors = false;
};

/// Slots granted together. `id` is unique per grant: a release must name
/// it, so a late release of an older lease cannot free a newer one.
struct slot_lease {
  std::string consumer;
  uint64_t id = 0;
  uint64_t request = 0; ///< the request it answers
  std::vector<slot_ref> slots;
};

class slot_scheduler {
public:
  /// Adds a node with `slots` slots (a node already known is replaced: its
  /// leases are dropped, as after remove_node).
  void add_node(const std::string& node, uint32_t slots);

  /// Removes a node; returns the leases that had a slot on it (as they
  /// were). Each is lost whole (a gang's other slots are freed too), unless
  /// its consumer keeps_survivors and it has slots on other nodes: then it
  /// only loses the node's slots.
  std::vector<slot_lease> remove_node(const std::string& node);

  /// Adds a consumer (an existing one keeps its leases and requests and
  /// takes the new options).
  void add_consumer(const std::string& name, consumer_options opts = {});

  /// Removes a consumer: its leases are freed, its requests dropped.
  void remove_consumer(const std::string& name);

  /// Queues a gang request of `size` slots for `consumer`, after its
  /// earlier ones, on node `node` only when it is not empty; elastic down
  /// to `min_size` slots when that is 1..size-1. Returns its id, or 0 for
  /// an unknown consumer or size 0.
  uint64_t request(const std::string& consumer, uint32_t size = 1,
                   gang_placement where = gang_placement::any,
                   const std::string& node = {}, uint32_t min_size = 0);

  /// Drops a pending request (unknown ids are ignored).
  void cancel(const std::string& consumer, uint64_t request);

  /// Drops every pending request of `consumer`.
  void cancel_all(const std::string& consumer);

  /// Pending requests of `consumer`.
  size_t pending(const std::string& consumer) const;

  /// A consumer gives a lease back, all of its slots. Unknown leases,
  /// other consumers' and older ones are ignored; returns whether it freed
  /// one.
  bool release(const std::string& consumer, uint64_t lease);

  /// The next grant, if the first waiting gang fits the free slots.
  std::optional<slot_lease> next();

  /// The leases to take back now so that the first waiting gang that does
  /// not fit will: those of preemptible consumers of lower priority, lowest
  /// priority and newest first, as few as that takes; none when even all
  /// of them would not do. A lease is named once (until it is released).
  std::vector<slot_lease> preempt();

  size_t free_slots() const;
  size_t total_slots() const;
  /// Free slots of one node (0 for an unknown one).
  uint32_t free_on(const std::string& node) const;
  /// Slots a consumer holds now.
  size_t held(const std::string& consumer) const;
  bool has_node(const std::string& node) const { return nodes_.count(node); }
  bool has_consumer(const std::string& c) const { return consumers_.count(c); }
  /// Every lease, by id (who holds what, for status displays).
  std::vector<slot_lease> leases() const;
  /// Lease `id`, or null.
  const slot_lease* lease(uint64_t id) const {
    auto l = leases_.find(id);
    return l == leases_.end() ? nullptr : &l->second;
  }

private:
  struct request_state {
    uint64_t id = 0;
    uint32_t size = 1;
    uint32_t min_size = 1; ///< size, unless elastic
    gang_placement where = gang_placement::any;
    std::string node; ///< the only node it may take, when not empty
  };
  struct consumer_state {
    consumer_options opts;
    size_t held = 0;
    uint64_t last_grant = 0; ///< sequence number of its last grant
    uint64_t order = 0;      ///< when it was added
    std::vector<request_state> queue;
  };
  struct node_state {
    uint32_t slots = 0;
    /// slot index -> the lease holding it
    std::map<uint32_t, uint64_t> leased;
    uint32_t free() const {
      return slots - static_cast<uint32_t>(leased.size());
    }
  };

  /// Whether a gang could fit an empty cluster.
  bool placeable(const request_state& r) const;
  /// Each node's free slots, of request `r`'s node only if it names one.
  std::map<std::string, uint32_t> free_for(const request_state& r) const;
  /// How many slots a gang takes on which nodes, given each node's free
  /// slots; empty when it does not fit.
  std::map<std::string, uint32_t>
  place(const request_state& r,
        const std::map<std::string, uint32_t>& free) const;
  /// Consumers with a placeable request, in service order, each with the
  /// index in its queue of its first placeable request.
  std::vector<std::pair<std::string, size_t>> ranked() const;
  /// Frees a lease's slots and forgets it.
  void drop_lease(uint64_t id);

  std::map<std::string, consumer_state> consumers_;
  std::map<std::string, node_state> nodes_;
  std::map<uint64_t, slot_lease> leases_;
  std::set<uint64_t> preempting_;
  uint64_t seq_ = 0;
  uint64_t added_ = 0;
  uint64_t requests_ = 0;
};

} // namespace troupe
