#pragma once

// The graph family as troupe sees it (runtime/family.hpp): the graph shard
// actors that jobs and samplers place on the cluster's nodes.

#include "runtime/family.hpp"

namespace troupe::graph {

/// The kind graph.shard (shard_actor.hpp).
family declare_family();

} // namespace troupe::graph
