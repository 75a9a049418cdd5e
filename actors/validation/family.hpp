#pragma once

// The validation family as troupe sees it (runtime/family.hpp).

#include "runtime/family.hpp"

namespace troupe::validation {

/// `troupe validate` (infer, check, drift, evolve).
family declare_family();

} // namespace troupe::validation
