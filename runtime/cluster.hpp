#pragma once

// The cluster's two actors and their protocols.
//
// directory (one per cluster, on the head; published on the head's port):
//   (join_atom, envelope JoinRequest)     -> envelope JoinReply   [sender =
//   agent] (heartbeat_atom, envelope Heartbeat)  -> ()  ; answers (rejoin_atom)
//   if unknown (snapshot_atom)                       -> envelope Snapshot
//   (lookup_atom, string name)            -> caf::actor
//   (spawn_atom, string kind, string where, string config, string name)
//                                         -> envelope Snapshot (actors spawned)
//   (stop_atom, string actor)             -> caf::unit
//   (stats_atom, string target)           -> envelope StatsList
//   (subscribe_atom)                      -> envelope Snapshot, then
//                                            (event_atom, envelope
//                                            DirectoryEvent)
//   (kinds_atom)                          -> std::vector<std::string>
//   (ping_atom)                           -> ping_atom
//   (shutdown_atom)                       -> caf::unit, then every node stops
//   Every request but join from a process that is not a member is refused.
//
// node agent (one per node):
//   (spawn_atom, envelope SpawnRequest)   -> (caf::actor, envelope ActorInfo)
//   (stats_atom)                          -> envelope ActorStats
//   (shutdown_atom)                       -> caf::unit, then the node stops
//   (rejoin_atom)                         -> ()  ; joins again

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

#include "runtime/directory_table.hpp"
#include "runtime/envelope.hpp"

namespace troupe {

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

/// Settings of a node agent.
struct agent_config {
  std::string name;
  uint32_t slots = 0;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string secret;
  bool is_head = false;
  /// The node's data directory, handed to the actors it spawns.
  std::string data_dir;
  /// Called when the directory refuses the node (with the reason).
  std::function<void(const std::string&)> on_refused;
  /// Called when the agent stops: shutdown request or head lost (reason).
  std::function<void(const std::string&)> on_stop;
};

/// The key under which spawn_directory puts the directory into its actor
/// system's registry, so actors on the head (services) can find it.
constexpr caf::atom_value directory_registry_key = caf::atom("directory");

/// Spawns the directory actor (and puts it into the system's registry).
caf::actor spawn_directory(caf::actor_system& sys, directory_config cfg);

/// Spawns a node agent that joins `directory` at once.
caf::actor spawn_agent(caf::actor_system& sys, caf::actor directory,
                       agent_config cfg);

/// Converts a directory change to a DirectoryEvent envelope.
envelope to_event(const directory_change& change);

} // namespace troupe
