#pragma once

// A data-parallel MLP worker (the kind "training.mlp_worker",
// part_worker.hpp), placed by its job (job_mlp.cpp) in one of the job's
// slots: it joins the job's process group (c10d's gloo backend, through the
// rendezvous its coordinator serves) and trains a replica of the net on its
// own rows, epoch after epoch, the gradients averaged every step
// (models/parallel_mlp.hpp).

#include <caf/actor_system_config.hpp>

namespace troupe::training {

inline constexpr const char* mlp_worker_kind = "training.mlp_worker";

/// Registers training.mlp_worker.
void register_mlp_kinds(caf::actor_system_config& cfg);

} // namespace troupe::training
