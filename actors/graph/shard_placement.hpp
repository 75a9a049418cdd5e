#pragma once

// Placing a partitioned graph's shard actors on a cluster's nodes: one
// graph.shard per partition, spawned through the directory on the node
// named for it, each loading its partition's shard file (shard_file.hpp)
// there, by path (a shared file system, or one machine) or through the
// dataset caches (the head's cache takes the files in, each node fetches
// its own). Blocking: for programs and tests, from a thread of their own.

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

namespace troupe::graph {

struct shard_placement {
  /// The shards' names: PREFIX + "shard-" + partition.
  std::string prefix = "graph.";
  /// Files fetched through the dataset caches (else read where they lie).
  bool through_caches = true;
  std::chrono::seconds timeout{600};
};

/// Spawns the shard of partition p on nodes[p] and loads files[p] into it;
/// returns the shards by partition. Errors name the partition, its node
/// and what failed (no such node, a bad file); shards already spawned are
/// stopped.
caf::expected<std::vector<caf::actor>>
place_shards(caf::actor_system& sys, const caf::actor& directory,
             const std::vector<std::string>& nodes,
             const std::vector<std::string>& files,
             const shard_placement& how = {});

} // namespace troupe::graph
