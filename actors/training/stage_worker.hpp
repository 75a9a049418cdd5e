#pragma once

// A pipeline job's stage (the kind "training.pipeline_stage",
// part_worker.hpp), placed by its job (job_pipeline.cpp) in one of the
// job's slots: it builds its layers of the net (models/pipeline_stage.hpp)
// and trains them minibatch after minibatch, each cut into micro-batches
// whose activations go to the next stage and whose gradients come back, as
// PipelineTensor envelopes between the stage actors (part_peers_atom names
// its neighbours, part_message_atom brings their tensors). The first
// stage holds the inputs, the last the targets and the loss; every stage
// sends its state to the job every checkpointEvery epochs, all at the same
// epoch, and after the last one the stages run the validation rows
// forward, the last scoring them.

#include <caf/actor_system_config.hpp>

namespace troupe::training {

inline constexpr const char* stage_worker_kind = "training.pipeline_stage";

/// Registers training.pipeline_stage.
void register_stage_kinds(caf::actor_system_config& cfg);

} // namespace troupe::training
