#pragma once

// A tensor-parallel job's worker (the kind "training.tp_worker",
// part_worker.hpp), placed by its job (job_tensor.cpp) in one of the job's
// slots: it joins the job's process group (c10d's gloo backend, through
// the rendezvous its coordinator serves) and holds its rank's part of
// every split layer (models/tensor_parallel_net.hpp): the input layer's
// and the blocks' columns and rows, and its share of the classes. Every
// worker trains on the same rows; the layers' collectives (the blocks'
// all-reduces, the classifier's max and sum of exponentials) are counted
// as computing in its time split. Every checkpointEvery epochs each rank
// sends its part to the job, all at the same epoch.

#include <caf/actor_system_config.hpp>

namespace troupe::training {

inline constexpr const char* tp_worker_kind = "training.tp_worker";

/// Registers training.tp_worker.
void register_tp_kinds(caf::actor_system_config& cfg);

} // namespace troupe::training
