#pragma once

// The neural-architecture-search family as troupe sees it
// (runtime/family.hpp).

#include "runtime/family.hpp"

namespace troupe::nas {

/// `troupe nas`. The family has no actor kinds: a search runs in the
/// process that asked for it, its LibTorch work in the plugin
/// libtroupe_nas.so.
family declare_family();

} // namespace troupe::nas
