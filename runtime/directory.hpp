#pragma once

// The directory: one per cluster, on the head, published on the head's port.
// It keeps the cluster's nodes (joined with the secret, kept by heartbeats)
// and its registered actors, places and spawns actors through the nodes'
// agents (agent.hpp), and tells subscribers what changed. Every request but
// join from a process that is not a member is refused
// (troupe::errc::unauthorized).

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/directory_table.hpp"
#include "runtime/envelope.hpp"
#include "runtime/type_ids.hpp"

namespace troupe {

/// The protocol of the directory.
using directory_actor = caf::typed_actor<
    /// (join_atom, envelope JoinRequest) -> envelope JoinReply: the sender
    /// (a node's agent) joins with the secret, or is refused with a reason;
    /// the directory monitors it from then on.
    caf::replies_to<join_atom, envelope>::with<envelope>,
    /// (heartbeat_atom, envelope Heartbeat): a node is alive and has so many
    /// free slots; an unknown incarnation is sent (rejoin_atom).
    caf::reacts_to<heartbeat_atom, envelope>,
    /// (sweep_atom): removes the nodes not heard from for node_timeout (the
    /// directory sends it to itself every node_timeout / 6, 50 ms at least).
    caf::reacts_to<sweep_atom>,
    /// (snapshot_atom) -> envelope Snapshot: every node, actor and slot.
    caf::replies_to<snapshot_atom>::with<envelope>,
    /// (lookup_atom, string name) -> caf::actor: the registered actor;
    /// troupe::errc::not_found when none has that name.
    caf::replies_to<lookup_atom, std::string>::with<caf::actor>,
    /// (spawn_atom, string kind, string where, string config, string name)
    /// -> envelope Snapshot: spawns `kind` on the node(s) `where` names
    /// ("", "every", a node or label=value: directory_table::place), with
    /// `config`, registered as `name` (fresh names when empty); the
    /// Snapshot lists the actors spawned. A kind that takes a slot takes
    /// one of the cluster's slots on its node first (freed when the actor
    /// goes): troupe::errc::no_capacity, naming the holders, when the node
    /// has none free.
    caf::replies_to<caf::spawn_atom, std::string, std::string, std::string,
                    std::string>::with<envelope>,
    /// (stop_atom, string actor) -> (): stops a registered actor.
    caf::replies_to<stop_atom, std::string>::with<void>,
    /// (gather_atom, string target) -> envelope StatsList: the ActorStats
    /// of an actor, of a node's agent, or ("") of every node's agent, each
    /// asked with (stats_atom), which every kind answers (worker.hpp).
    caf::replies_to<gather_atom, std::string>::with<envelope>,
    /// (subscribe_atom) -> envelope Snapshot: the state now; then the sender
    /// receives (event_atom, envelope DirectoryEvent) for every change.
    caf::replies_to<subscribe_atom>::with<envelope>,
    /// (kinds_atom) -> vector<string>: the actor kinds this system knows.
    caf::replies_to<kinds_atom>::with<std::vector<std::string>>,
    /// (slot_want_atom, envelope SlotWant) -> (): a consumer of slots (a
    /// study, a job) registers, says which gangs it wants, stops wanting,
    /// or leaves (cluster_slots.hpp). While it wants, the sender receives
    /// (slot_grant_atom, envelope SlotLease) for each gang granted, and
    /// (preempt_atom, envelope SlotLease) when higher-priority work needs
    /// a preemptible consumer's lease back. When the sender goes down its
    /// consumers leave. Errors name a bad want.
    caf::replies_to<slot_want_atom, envelope>::with<void>,
    /// (slot_release_atom, string consumer, uint64 lease): the consumer
    /// gives a lease back.
    caf::reacts_to<slot_release_atom, std::string, uint64_t>,
    /// (ping_atom) -> ping_atom: liveness.
    caf::replies_to<ping_atom>::with<ping_atom>,
    /// (shutdown_atom) -> (): every node is told to stop, then (after the
    /// answer) on_shutdown runs and the directory quits.
    caf::replies_to<shutdown_atom>::with<void>,
    /// (halt_atom): quits after a shutdown (sent to itself 200 ms after
    /// answering one).
    caf::reacts_to<halt_atom>>;

/// Settings of the directory actor.
struct directory_config {
  std::string secret;
  /// A node not heard from for this long is removed.
  std::chrono::milliseconds node_timeout{3000};
  /// How often nodes send heartbeats (told to them at join).
  std::chrono::milliseconds heartbeat{500};
  /// How long spawn and stats requests to nodes may take.
  std::chrono::milliseconds request_timeout{10000};
  /// Called once after a shutdown request was answered.
  std::function<void()> on_shutdown;
  /// The wall clock (injected so tests control it).
  std::function<wall_clock::time_point()> now = [] {
    return wall_clock::now();
  };
};

/// The key under which spawn_directory puts the directory into its actor
/// system's registry, so actors on the head (services) can find it.
constexpr caf::atom_value directory_registry_key = caf::atom("directory");

/// Spawns the directory actor (and puts it into the system's registry).
/// Returns its dynamic handle, as the middleman publishes it and remote
/// nodes reach it (`caf::actor_cast<directory_actor>` gives the typed one).
caf::actor spawn_directory(caf::actor_system& sys, directory_config cfg);

/// Converts a directory change to a DirectoryEvent envelope.
envelope to_event(const directory_change& change);

} // namespace troupe
