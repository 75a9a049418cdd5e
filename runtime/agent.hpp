#pragma once

// The node agent: one per node. It joins the directory (directory.hpp) with
// the cluster secret, sends it heartbeats, spawns actor kinds on its node
// when the directory asks, and stops the node's actors when the node stops.

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/envelope.hpp"
#include "runtime/type_ids.hpp"

namespace troupe {

/// The protocol of a node agent.
using agent_actor = caf::typed_actor<
    /// (spawn_atom, envelope SpawnRequest) -> (caf::actor, envelope
    /// ActorInfo): spawns the kind on this node (from the head or this
    /// process only: troupe::errc::unauthorized otherwise;
    /// troupe::errc::no_capacity when no slot is free for a kind that takes
    /// one; troupe::errc::not_found for an unknown kind).
    caf::replies_to<caf::spawn_atom, envelope>::with<caf::actor, envelope>,
    /// (stats_atom) -> envelope ActorStats: the agent's own stats, named
    /// after its node.
    caf::replies_to<stats_atom>::with<envelope>,
    /// (shutdown_atom): the node stops (from the head or this process only;
    /// others are ignored).
    caf::reacts_to<shutdown_atom>,
    /// (rejoin_atom): joins again (the directory did not know the
    /// heartbeat's incarnation).
    caf::reacts_to<rejoin_atom>,
    /// (tick_atom): sends a heartbeat to the directory (the agent sends it
    /// to itself every heartbeat interval once joined).
    caf::reacts_to<tick_atom>>;

/// Settings of a node agent.
struct agent_config {
  std::string name;
  uint32_t slots = 0;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string secret;
  bool is_head = false;
  /// The node's data directory, handed to the actors it spawns.
  std::string data_dir;
  /// The host this node reaches the head at (kind_args::head_host).
  std::string head_host = "127.0.0.1";
  /// Called when the directory refuses the node (with the reason).
  std::function<void(const std::string&)> on_refused;
  /// Called when the agent stops: shutdown request or head lost (reason).
  std::function<void(const std::string&)> on_stop;
};

/// Spawns a node agent that joins `directory` at once, and the node's
/// dataset cache (dataset_cache.hpp; its files in DATA_DIR/datasets), which
/// stops with the agent. Returns the agent's dynamic handle, as node.cpp
/// keeps it (`caf::actor_cast<agent_actor>` gives the typed one).
caf::actor spawn_agent(caf::actor_system& sys, caf::actor directory,
                       agent_config cfg);

} // namespace troupe
