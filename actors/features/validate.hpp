#pragma once

// Data validation as an actor step on a feature group: a detached actor
// pages through the latest rows of every shard (scan_atom, page by page) and
// feeds them to the validation library, inferring a schema or checking one.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/features/atoms.hpp"
#include "actors/features/group.hpp"
#include "actors/features/shard.hpp"
#include "runtime/envelope.hpp"

namespace troupe::features {

/// The protocol of one validation run.
using validation_actor = caf::typed_actor<
    /// (report_atom) -> envelope ValidationReport: reads every shard's
    /// latest rows of the group (at most the run's limit), then answers the
    /// inferred schema, or the given schema and its anomalies, and quits.
    /// A page that fails answers features::errc::scan_failed naming the
    /// group and the shard. Asked once: a second ask is refused
    /// (troupe::errc::invalid_argument).
    caf::replies_to<report_atom>::with<envelope>>;

/// Spawns a detached validation run over `shards` for group `g`: with
/// `schema_text` (JSON) empty it infers a schema, else it checks that
/// schema; `limit` rows at most (0: all). Fails at once when the schema is
/// not JSON or not a schema (invalid_argument, naming the group).
caf::expected<validation_actor>
spawn_validation(caf::actor_system& sys, const group_spec& g,
                 std::vector<shard_actor> shards,
                 const std::string& schema_text, uint64_t limit);

} // namespace troupe::features
