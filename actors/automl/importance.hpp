#pragma once

// Which parameters mattered in a study: permutation importance on a
// surrogate. An XGBoost regressor is fit to the complete trials'
// (configuration -> value); a parameter's importance is how much the
// surrogate's squared error grows when its column is shuffled (averaged
// over a few shuffles), as shares that sum to 1. Plain C++ over the
// models layer's XGBoost wrapper, no CAF actors.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "actors/automl/space.hpp"
#include "actors/automl/types.hpp"

namespace troupe::automl {

/// The importance of each parameter of `space`, largest first. Real and
/// integer values enter on their scale (log10 for log parameters),
/// categorical ones as choice indices, inactive ones as missing. Errors:
/// fewer than 8 complete trials.
caf::expected<std::vector<std::pair<std::string, double>>>
param_importances(const search_space& space,
                  const std::vector<trial_record>& trials, uint64_t seed);

/// The value of parameter `p` in `c` as the surrogate and the report's
/// charts take it; NaN when absent.
double encoded_value(const param_spec& p, const config& c);

} // namespace troupe::automl
