#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/message_handler.hpp>

#include "runtime/envelope.hpp"

namespace troupe {

/// What every spawned actor kind receives: the name it is registered under,
/// its node, the configuration text given at spawn, and the node's data
/// directory (where node-local stores live; empty when the node has none).
struct kind_args {
  std::string name;
  std::string node;
  std::string config;
  std::string data_dir;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kind_args& x) {
  return f(caf::meta::type_name("troupe::kind_args"), x.name, x.node, x.config,
           x.data_dir);
}

/// Base of every actor kind spawned through the cluster: an event-based actor
/// that counts the messages it receives and answers `(stats_atom)` with an
/// ActorStats envelope (mailbox size, messages handled, uptime).
///
/// A kind is a function `caf::behavior f(worker* self, kind_args args)`
/// registered with `cfg.add_actor_type(kind, f)`; it returns
/// `self->with_stats(args, {...handlers...})`.
class worker : public caf::event_based_actor {
public:
  explicit worker(caf::actor_config& cfg);

  using caf::event_based_actor::enqueue;
  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) override;

  /// Adds the stats handler to a kind's behavior and records its identity.
  caf::behavior with_stats(const kind_args& args, caf::message_handler bhvr);

  /// An ActorStats envelope describing this actor now.
  envelope stats_now();

  const std::string& registered_name() const { return name_; }

private:
  std::atomic<uint64_t> received_{0};
  std::chrono::steady_clock::time_point started_;
  std::string name_;
  std::string node_;
};

} // namespace troupe
