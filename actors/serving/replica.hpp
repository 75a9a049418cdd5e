#pragma once

// serving.replica: one loaded model version, its batching queue and the
// engine that runs its batches (engine.hpp). Takes a worker slot; spawned
// through the directory on a node with a free slot (config "DEPLOYMENT").

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/serving/atoms.hpp"
#include "runtime/envelope.hpp"
#include "runtime/worker.hpp"

namespace troupe::serving {

/// What a replica accepts. The replica is a typed_worker kind
/// (runtime/worker.hpp) that the directory spawns by name and hands out as
/// a caf::actor: its callers (the router) and its engine hold it by this
/// interface (caf::actor_cast at the directory's edge).
using replica_actor = caf::typed_actor<
    /// (load, ModelVersion with content, DeploymentSpec) -> true once the
    /// files are written to NODE_DATA/serving/cache/NAME/vN, checked and
    /// the model loaded; an error otherwise (a replica holds one model).
    caf::replies_to<load_atom, envelope, envelope>::with<bool>,
    /// (predict, PredictRequest) -> PredictResponse. Requests are batched:
    /// up to maxBatchRows rows, waiting at most maxQueueDelayUs for a batch
    /// to fill; past queueBoundRows: "overloaded" (serving::errc).
    caf::replies_to<predict_atom, envelope>::with<envelope>,
    /// (drain) -> true, once every accepted request was answered.
    caf::replies_to<drain_atom>::with<bool>,
    /// (loaded, error): from its engine, the model loaded (no error) or
    /// could not be.
    caf::reacts_to<loaded_atom, caf::error>,
    /// (batch): from its engine, finished batches wait to be collected.
    caf::reacts_to<batch_atom>>::extend_with<stats_actor>;

/// The actor class of a replica.
using replica_self = typed_worker_of<replica_actor>::type;

/// Registers serving.replica (takes a slot) with the real clock.
void register_replica_kind(caf::actor_system_config& cfg);

} // namespace troupe::serving
