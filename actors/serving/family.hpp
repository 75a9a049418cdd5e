#pragma once

// The serving family as troupe sees it (runtime/family.hpp).

#include "runtime/family.hpp"

namespace troupe::serving {

/// Kinds (service, router, replica), the head's "serving" service and
/// RPC interface, `troupe serve`, `predict`, `models`, `deploy` and the other
/// serving commands, and the shell's `deployments`, `deployment`, `scale`.
family declare_family();

} // namespace troupe::serving
