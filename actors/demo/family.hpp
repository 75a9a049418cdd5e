#pragma once

// The demo family as troupe sees it (runtime/family.hpp).

#include "runtime/family.hpp"

namespace troupe::demo {

/// Its worker kind and `troupe demo`.
family declare_family();

} // namespace troupe::demo
