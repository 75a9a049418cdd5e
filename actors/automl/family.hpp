#pragma once

// The AutoML family as troupe sees it (runtime/family.hpp).

#include "runtime/family.hpp"

namespace troupe::automl {

/// Kinds (service, study, runner), the head's "automl" service, `troupe
/// automl`, and the shell's `studies`, `study` and `stop-study`.
family declare_family();

} // namespace troupe::automl
