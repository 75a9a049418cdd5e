#pragma once

// features.service: the feature store's catalog and shard placement. One per
// cluster, on the head, registered as "features"; its catalog lives in
// DATA/features/catalog; config "shards=N" sets how many shards a new store
// gets (4 by default).
//
// The first time a group is created (or the layout is asked for) it places
// the shards round-robin over the nodes present then and records where;
// later it respawns each shard (shard.hpp) on its recorded node whenever
// that node is in the cluster (a shard's data stays on its node's disk). It
// sends every group to every shard it spawns.

#include <memory>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/features/atoms.hpp"
#include "actors/features/shard.hpp"
#include "runtime/clock.hpp"
#include "runtime/envelope.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"

namespace troupe::features {

/// The protocol of the features service.
using service_actor = caf::typed_actor<
    /// (create_atom, envelope FeatureGroup) -> envelope FeatureGroup: creates
    /// the group (placing the shards first if needed) and registers it on
    /// every shard; the same definition again answers the existing group,
    /// another one under that name is troupe::errc::already_exists.
    caf::replies_to<create_atom, envelope>::with<envelope>,
    /// (groups_atom, envelope) -> envelope FeatureGroupList: every group, by
    /// name (the envelope's content is ignored).
    caf::replies_to<groups_atom, envelope>::with<envelope>,
    /// (group_atom, envelope GroupName) -> envelope GroupStats: the group and
    /// each shard's share (a shard that does not answer is listed down);
    /// troupe::errc::not_found for an unknown group.
    caf::replies_to<group_atom, envelope>::with<envelope>,
    /// (layout_atom) -> envelope StoreLayout: the shards (placing them first
    /// if needed), the groups and the layout's version, which changes
    /// whenever a shard comes or goes or a group is added.
    caf::replies_to<layout_atom>::with<envelope>,
    /// (validate_atom, envelope ValidationRequest) -> envelope
    /// ValidationReport: validates the group's latest rows (validate.hpp);
    /// features::errc::shard_down when a shard is not running.
    caf::replies_to<validate_atom, envelope>::with<envelope>,
    /// (flush_atom) -> bool: every shard syncs; features::errc::shard_down
    /// naming the first shard that is not running or failed.
    caf::replies_to<flush_atom>::with<bool>,
    /// (event_atom, envelope DirectoryEvent): a node joined (its shards
    /// start) or left (its shards are down); sent by the directory the
    /// service subscribed to.
    caf::reacts_to<event_atom, envelope>>::extend_with<stats_actor>;

inline constexpr const char* service_kind = "features.service";
inline constexpr const char* service_name = "features";

/// Registers features.service and features.shard (service kinds: they take
/// no slot), reading the system's clocks.
void register_kinds(caf::actor_system_config& cfg);

/// Registers features.service and features.shard, reading `clock` (creation
/// times, expiry).
void register_kinds(caf::actor_system_config& cfg, clock_ptr clock);

} // namespace troupe::features
