#pragma once

// A data-parallel XGBoost worker (the kind "training.xgb_worker",
// part_worker.hpp), placed by its job (job_xgb.cpp) in one of the job's
// slots: it joins the job's collective through its rabit tracker and boosts
// its block of the rows (xgb_parallel.hpp).

#include <caf/actor_system_config.hpp>

namespace troupe::training {

inline constexpr const char* xgb_worker_kind = "training.xgb_worker";

/// Registers training.xgb_worker.
void register_xgb_kinds(caf::actor_system_config& cfg);

} // namespace troupe::training
