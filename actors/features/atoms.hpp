#pragma once

// The features family's atoms: each selects exactly one message, declared in
// the protocol of the actor that accepts it (service.hpp, shard.hpp,
// validate.hpp). The runtime's atoms (event_atom, sweep_atom, stats_atom)
// live in runtime/type_ids.hpp.

#include <caf/atom.hpp>

namespace troupe::features {

/// (create_atom, envelope FeatureGroup) -> envelope FeatureGroup: the service
/// creates a feature group.
using create_atom = caf::atom_constant<caf::atom("create")>;

/// (groups_atom, envelope) -> envelope FeatureGroupList: the service lists
/// every group.
using groups_atom = caf::atom_constant<caf::atom("groups")>;

/// (group_atom, envelope GroupName) -> envelope GroupStats: the service
/// reports one group over all shards.
using group_atom = caf::atom_constant<caf::atom("group")>;

/// (layout_atom) -> envelope StoreLayout: the service reports its shards and
/// groups.
using layout_atom = caf::atom_constant<caf::atom("layout")>;

/// (validate_atom, envelope ValidationRequest) -> envelope ValidationReport:
/// the service validates a group's latest rows.
using validate_atom = caf::atom_constant<caf::atom("validate")>;

/// (flush_atom) -> bool: the service, or one shard, syncs to disk.
using flush_atom = caf::atom_constant<caf::atom("flush")>;

/// (define_atom, envelope FeatureGroup) -> bool: a shard registers a group.
using define_atom = caf::atom_constant<caf::atom("define")>;

/// (write_atom, envelope FeatureWrite) -> envelope WriteResult: a shard
/// writes a batch.
using write_atom = caf::atom_constant<caf::atom("write")>;

/// (read_atom, envelope Lookup) -> envelope LookupResult: a shard reads keys.
using read_atom = caf::atom_constant<caf::atom("read")>;

/// (shard_stats_atom, string group) -> envelope ShardStats: a shard reports
/// one group's share.
using shard_stats_atom = caf::atom_constant<caf::atom("shardstats")>;

/// (scan_atom, string group, string after, uint64 limit) -> envelope
/// LookupResult: a shard pages through a group's latest rows.
using scan_atom = caf::atom_constant<caf::atom("scan")>;

/// (report_atom) -> envelope ValidationReport: a validation run pages
/// through the shards and reports.
using report_atom = caf::atom_constant<caf::atom("report")>;

/// (refresh_atom): the RESP endpoint's layout keeper fetches the store's
/// layout again (sent to itself).
using refresh_atom = caf::atom_constant<caf::atom("refresh")>;

} // namespace troupe::features
