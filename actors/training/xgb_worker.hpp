#pragma once

// A data-parallel XGBoost worker (the kind "training.xgb_worker"), placed
// by its job (job_xgb.cpp) in one of the job's slots. Given its part (an
// XgbPart: its rows, the parameters, the job's rabit tracker) it trains on
// a thread of its own (xgb_parallel.hpp: XGBoost's communicator is
// thread-local) and answers with the model. The first worker reports each
// round to the job and sends it the model every checkpointSeconds. When the
// worker is stopped, its thread stops after the round it is in.

#include <caf/actor_system_config.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/training/atoms.hpp"
#include "runtime/envelope.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"

namespace troupe::training {

using xgb_worker_actor = caf::typed_actor<
    /// (xgb_train_atom, XgbPart, job) -> JobCheckpoint: trains its part and
    /// answers the model after the last round. Errors: bad input
    /// (invalid_argument), XGBoost's own, io_failure when a peer of the
    /// collective went away (the job regroups).
    caf::replies_to<xgb_train_atom, envelope, caf::actor>::with<envelope>,
    /// (xgb_train_atom, JobCheckpoint, error), from its own training
    /// thread: the outcome.
    caf::reacts_to<xgb_train_atom, envelope,
                   caf::error>>::extend_with<stats_actor>;

inline constexpr const char* xgb_worker_kind = "training.xgb_worker";

/// Registers training.xgb_worker.
void register_xgb_kinds(caf::actor_system_config& cfg);

} // namespace troupe::training
