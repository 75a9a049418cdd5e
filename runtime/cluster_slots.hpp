#pragma once

// The cluster's slots as the directory keeps them: runtime/slot_scheduler
// with the consumers' standing wants, the actors that asked, and the slots
// of actors whose kind takes one. A plain class (no messages, no clock): the
// directory feeds it membership, wants, releases and spawns, and sends what
// grants() and preemptions() return to their owners.
//
// - A consumer (a study, a job) says what gangs it wants (SlotWant); while
//   it wants, it is granted one gang after another as slots free up.
// - An actor of a kind that takes a slot (a deployment's replica) holds a
//   lease named after it, taken at spawn time on the node chosen for it at
//   a priority above every consumer's, so that placement never
//   oversubscribes a node that studies also use; it is freed when the actor
//   goes.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/expected.hpp>

#include "runtime/slot_scheduler.hpp"

namespace troupe {

/// What a consumer wants (a SlotWant as read).
struct slot_want {
  std::string consumer;
  consumer_options opts;
  uint32_t size = 1;
  /// An elastic gang's least (0: size).
  uint32_t min_size = 0;
  gang_placement where = gang_placement::any;
  std::string node;
  bool wants = false;
  bool leave = false;
};

/// One slot and who holds it (consumer empty: free).
struct slot_holder {
  std::string node;
  uint32_t index = 0;
  std::string consumer;
  uint64_t lease = 0;
};

/// A lease to send to the actor that asked for it.
struct owned_lease {
  caf::actor owner;
  slot_lease lease;
};

class cluster_slots {
public:
  /// Priority of the slots that actors of slot-taking kinds hold.
  static constexpr int actor_priority = 1000;

  /// A node joins with `slots` slots (a rejoin drops its old leases).
  void add_node(const std::string& node, uint32_t slots);
  /// A node left: its leases are lost whole (returned).
  std::vector<slot_lease> remove_node(const std::string& node);

  /// Registers or updates a consumer owned by `owner`. Errors name a bad
  /// want (no consumer name, a name an actor's slot uses, another owner).
  caf::error want(const caf::actor& owner, const slot_want& w);
  /// A consumer gives a lease back (others' and unknown leases are ignored).
  void release(const std::string& consumer, uint64_t lease);
  /// The owner is gone: its consumers leave and their leases are freed.
  void owner_down(const caf::actor_addr& owner);

  /// Takes one slot on `node` for an actor about to be spawned there as
  /// `actor`; errc::no_capacity naming the slots' holders when none is free.
  caf::error take_for_actor(const std::string& actor, const std::string& node);
  /// The actor is gone (or its spawn failed): its slot is freed.
  void actor_gone(const std::string& actor);

  /// Grants to send now (each consumer that still wants asks again).
  std::vector<owned_lease> grants();
  /// Leases whose owners should checkpoint and release them, so that a
  /// waiting gang of higher priority fits.
  std::vector<owned_lease> preemptions();

  uint32_t free_on(const std::string& node) const {
    return sched_.free_on(node);
  }
  /// Every slot of every node, by node and index.
  std::vector<slot_holder> holders() const;
  const slot_scheduler& scheduler() const { return sched_; }

private:
  /// Queues the gang a want asks for.
  void ask(const slot_want& w);
  /// A lease granted: its owner's, into `into`; its consumer asks again if
  /// it still wants.
  void granted(const slot_lease& l, std::vector<owned_lease>& into);

  struct consumer_entry {
    caf::actor owner; ///< null for actors' own slots
    slot_want want;
  };
  std::map<std::string, consumer_entry> consumers_;
  std::map<std::string, uint32_t> nodes_;
  std::vector<owned_lease> ready_; ///< granted while taking an actor's slot
  slot_scheduler sched_;
};

} // namespace troupe
