#pragma once

// The training family as troupe sees it (runtime/family.hpp).

#include "runtime/family.hpp"

namespace troupe::training {

/// `troupe train`, the head's "training" service, and the kinds its jobs
/// place on the cluster's slots (training.worker, training.ps_shard).
family declare_family();

} // namespace troupe::training
