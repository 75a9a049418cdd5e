#pragma once

// A sparse-lr training job run in this process: the config's data hashed
// (hashed_features.hpp), its training rows dealt to parameter-server
// workers, the key space cut into shards, all of them actors of `sys`
// (ps_shard.hpp, ps_worker.hpp), then validated (logloss, AUC, KS) and
// written out: model.json (the transform and every non-zero weight) and
// summary.json. Placement on a cluster's slots, checkpoints and resume come
// with the training-job layer.

#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/training/job_config.hpp"

namespace troupe::training {

/// Runs the job; returns the summary (also written to OUT/summary.json).
/// Errors name the file, column or step that failed.
caf::expected<nlohmann::json> run_sparse_job(caf::actor_system& sys,
                                             const job_config& cfg,
                                             const std::string& out_dir);

} // namespace troupe::training
