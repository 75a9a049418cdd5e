#pragma once

// The feature store on actors.
//
// features.service (one per cluster, on the head, registered as "features";
// its catalog lives in DATA/features/catalog; config "shards=N" sets how many
// shards a new store gets, 4 by default):
//   (create_atom, envelope FeatureGroup)    -> envelope FeatureGroup
//   (groups_atom, envelope)                 -> envelope FeatureGroupList
//   (group_atom, envelope GroupName)        -> envelope GroupStats
//   (layout_atom)                           -> envelope StoreLayout
//   (validate_atom, envelope ValidationRequest) -> envelope ValidationReport
//   (flush_atom)                            -> bool  ; every shard syncs
//   The first time a group is created (or the layout is asked for) it places
//   the shards round-robin over the nodes present then and records where;
//   later it respawns each shard on its recorded node whenever that node is
//   in the cluster (a shard's data stays on its node's disk). It sends every
//   group to every shard it spawns.
//
// features.shard (registered as "features.shard.I"; config "I"; its LMDB
// environment lives in NODE_DATA/features/shard-I):
//   (group_atom, envelope FeatureGroup)     -> bool  ; registers the group
//   (write_atom, envelope FeatureWrite)     -> envelope WriteResult
//                                              ; one transaction
//   (read_atom, envelope Lookup)            -> envelope LookupResult
//   (group_atom, string group)              -> envelope ShardStats
//   (scan_atom, string group, string after, uint64 limit)
//                                           -> envelope LookupResult
//                                              (one group, the latest live
//                                              rows; `next` continues it,
//                                              "" at the end)
//   (flush_atom)                            -> bool
//   It sweeps expired versions every minute, and puts its store in a
//   process-wide table so that the RPC server in the same process reads it
//   without a message (LMDB readers do not block the writer).

#include <memory>
#include <string>

#include <caf/actor_addr.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

namespace troupe::features {

class shard_store;

using create_atom = caf::atom_constant<caf::atom("create")>;
using groups_atom = caf::atom_constant<caf::atom("groups")>;
using group_atom = caf::atom_constant<caf::atom("group")>;
using layout_atom = caf::atom_constant<caf::atom("layout")>;
using validate_atom = caf::atom_constant<caf::atom("validate")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using write_atom = caf::atom_constant<caf::atom("write")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using scan_atom = caf::atom_constant<caf::atom("scan")>;

inline constexpr const char* service_kind = "features.service";
inline constexpr const char* shard_kind = "features.shard";
inline constexpr const char* service_name = "features";

/// The name shard `index` is registered under.
std::string shard_name(uint32_t index);

/// Registers features.service and features.shard (service kinds: they take
/// no slot).
void register_kinds(caf::actor_system_config& cfg);

/// The store of the shard actor at `addr` if it runs in this process.
std::shared_ptr<shard_store> local_shard(const caf::actor_addr& addr);

} // namespace troupe::features
