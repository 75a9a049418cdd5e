#pragma once

// A GraphSAGE job's worker (the kind "training.sage_worker",
// part_worker.hpp), placed by its job (job_graph.cpp) in one of the job's
// slots: a data-parallel replica of the net (models/graphsage_net.hpp) in
// the job's process group (c10d's gloo backend), that samples its share of
// every minibatch through the graph's shard actors (graph/shard_client.hpp:
// neighbours and features come from the shards that own them; the worker
// holds no part of the graph). Sampling counts as waiting for data in its
// time split, the gradients' all-reduce as communicating. The first worker
// reports progress, sends the net every checkpointEvery epochs (replicas
// are equal) and tests it at the end.

#include <caf/actor_system_config.hpp>

namespace troupe::training {

inline constexpr const char* sage_worker_kind = "training.sage_worker";

/// Registers training.sage_worker.
void register_sage_kinds(caf::actor_system_config& cfg);

} // namespace troupe::training
