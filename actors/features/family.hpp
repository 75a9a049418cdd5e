#pragma once

// The features family as troupe sees it (runtime/family.hpp).

#include "runtime/family.hpp"

namespace troupe::features {

/// Kinds (service, shards), the head's "features" service and RPC
/// interface, `troupe node --feature-shards`, `troupe features` and the
/// shell's `groups`, `group` and `get`.
family declare_family();

} // namespace troupe::features
