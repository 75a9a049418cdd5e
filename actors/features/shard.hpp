#pragma once

// features.shard: one LMDB shard of the feature store. The service spawns
// one per shard through the directory, as kind "features.shard" registered
// "features.shard.I" with config "I"; its LMDB environment lives in
// NODE_DATA/features/shard-I.
//
// It sweeps expired versions every minute (the clock it is given decides
// what expired), and puts its store in a process-wide table so that the RPC
// server in the same process reads it without a message (LMDB readers do not
// block the writer).

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_addr.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/features/atoms.hpp"
#include "runtime/clock.hpp"
#include "runtime/envelope.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"

namespace troupe::features {

class shard_store;

/// The protocol of a shard.
using shard_actor = caf::typed_actor<
    /// (define_atom, envelope FeatureGroup) -> bool: registers the group
    /// (again: harmless when the definition is the same).
    caf::replies_to<define_atom, envelope>::with<bool>,
    /// (write_atom, envelope FeatureWrite) -> envelope WriteResult: writes
    /// the batch in one transaction.
    caf::replies_to<write_atom, envelope>::with<envelope>,
    /// (read_atom, envelope Lookup) -> envelope LookupResult: every key of
    /// every group asked for, as of each key's time (live versions only).
    caf::replies_to<read_atom, envelope>::with<envelope>,
    /// (shard_stats_atom, string group) -> envelope ShardStats: the group's
    /// entities, versions and bytes on this shard.
    caf::replies_to<shard_stats_atom, std::string>::with<envelope>,
    /// (scan_atom, string group, string after, uint64 limit) -> envelope
    /// LookupResult: one group, at most `limit` latest live rows of the
    /// entities after `after`; its `next` continues the scan ("" at the
    /// end).
    caf::replies_to<scan_atom, std::string, std::string,
                    uint64_t>::with<envelope>,
    /// (flush_atom) -> bool: syncs the environment to disk.
    caf::replies_to<flush_atom>::with<bool>,
    /// (sweep_atom): deletes expired versions (the shard sends it to itself
    /// every minute).
    caf::reacts_to<sweep_atom>>::extend_with<stats_actor>;

inline constexpr const char* shard_kind = "features.shard";

/// The name shard `index` is registered under.
std::string shard_name(uint32_t index);

/// Registers the kind "features.shard" (a service kind: it takes no slot);
/// its shards read `clock` for expiry.
void register_shard_kind(caf::actor_system_config& cfg, clock_ptr clock);

/// The store of the shard actor at `addr` if it runs in this process.
std::shared_ptr<shard_store> local_shard(const caf::actor_addr& addr);

} // namespace troupe::features
