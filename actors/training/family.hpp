#pragma once

// The training family as troupe sees it (runtime/family.hpp).

#include "runtime/family.hpp"

namespace troupe::training {

/// `troupe train`. Its parameter-server shards, workers and step gate are
/// spawned by the job in its own process for now; the training-job layer
/// places them on the cluster's slots.
family declare_family();

} // namespace troupe::training
