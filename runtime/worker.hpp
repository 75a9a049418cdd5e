#pragma once

// The base of every actor kind spawned through the cluster, dynamically typed
// (worker) or typed (typed_worker<Sigs...>): both count the messages they
// receive and answer `(stats_atom)` with an ActorStats envelope.

#include <atomic>
#include <chrono>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/message_handler.hpp>
#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "runtime/envelope.hpp"
#include "runtime/kind_args.hpp"
#include "runtime/type_ids.hpp"

namespace troupe {

/// The message every kind answers, typed or not:
///   (stats_atom) -> envelope ActorStats  ; mailbox size, messages handled,
///                                          uptime
using stats_actor =
    caf::typed_actor<caf::replies_to<stats_atom>::with<envelope>>;

namespace detail {

/// What a worker counts for its stats.
class worker_counters {
public:
  worker_counters();

  /// Counts one message put into the mailbox.
  void received() { received_.fetch_add(1, std::memory_order_relaxed); }

  /// Records the identity reported in stats.
  void identify(const kind_args& args);

  /// An ActorStats envelope, with `waiting` messages in the mailbox.
  envelope stats(uint64_t waiting) const;

  const std::string& name() const { return name_; }

private:
  std::atomic<uint64_t> received_{0};
  std::chrono::steady_clock::time_point started_;
  std::string name_;
  std::string node_;
};

} // namespace detail

/// Base of every dynamically typed actor kind spawned through the cluster:
/// an event-based actor that counts the messages it receives and answers
/// `(stats_atom)` with an ActorStats envelope (mailbox size, messages
/// handled, uptime).
///
/// A kind is a function `caf::behavior f(worker* self, kind_args args)`
/// registered with `cfg.add_actor_type(kind, f)`; it returns
/// `self->with_stats(args, {...handlers...})`. Typed kinds use typed_worker.
class worker : public caf::event_based_actor {
public:
  explicit worker(caf::actor_config& cfg);

  using caf::event_based_actor::enqueue;
  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) override;

  /// Adds the stats handler to a kind's behavior and records its identity.
  caf::behavior with_stats(const kind_args& args, caf::message_handler bhvr);

  /// An ActorStats envelope describing this actor now.
  envelope stats_now();

  const std::string& registered_name() const { return counters_.name(); }

private:
  detail::worker_counters counters_;
};

/// Base of every typed actor kind spawned through the cluster: a typed
/// event-based actor with the interface `Sigs...` (which must include
/// stats_actor's signature, e.g. `typed_actor<...>::extend_with<stats_actor>`)
/// that counts the messages it receives, as worker does.
///
/// A typed kind is a function `X::behavior_type f(P self, kind_args args)`
/// where P is `typed_worker<...>*` or `caf::stateful_actor<S,
/// typed_worker<...>>*`; it calls `self->identify(args)` and puts
/// `self->stats_handler()` into its behavior. Register it with
/// `cfg.add_actor_type(kind, f)`; the agent spawns kinds by name without
/// checking their interface (caf::actor handles), and messages sent to such
/// a dynamic handle work when they match the interface.
template <class... Sigs>
class typed_worker : public caf::typed_event_based_actor<Sigs...> {
public:
  using super = caf::typed_event_based_actor<Sigs...>;

  explicit typed_worker(caf::actor_config& cfg) : super(cfg) {}

  using super::enqueue;
  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) override {
    counters_.received();
    super::enqueue(std::move(ptr), eu);
  }

  /// Records the name and node that stats report.
  void identify(const kind_args& args) { counters_.identify(args); }

  /// An ActorStats envelope describing this actor now.
  envelope stats_now() {
    return counters_.stats(static_cast<uint64_t>(this->mailbox().size()));
  }

  /// The handler of `(stats_atom) -> envelope ActorStats`.
  auto stats_handler() {
    return [this](stats_atom) -> envelope { return stats_now(); };
  }

  const std::string& registered_name() const { return counters_.name(); }

private:
  detail::worker_counters counters_;
};

/// What a typed actor's start returns after it quit (a failed start: bad
/// config, a store that does not open): no handlers.
template <class Handle>
typename Handle::behavior_type stopped_behavior() {
  using behavior_type = typename Handle::behavior_type;
  return behavior_type{typename behavior_type::unsafe_init{}, caf::behavior{}};
}

/// The typed_worker of a typed_actor handle's interface.
template <class Handle>
struct typed_worker_of;

template <class... Sigs>
struct typed_worker_of<caf::typed_actor<Sigs...>> {
  using type = typed_worker<Sigs...>;
};

/// The actor class of a typed kind with interface `Handle` whose state is a
/// `State` struct (as `Handle::stateful_pointer<State>`, counting messages):
/// its behavior function takes a `stateful_worker<Handle, State>*`.
template <class Handle, class State>
using stateful_worker =
    caf::stateful_actor<State, typename typed_worker_of<Handle>::type>;

} // namespace troupe
