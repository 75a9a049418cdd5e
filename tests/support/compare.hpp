#pragma once

// Comparing what two runs computed: a relative difference that is defined
// at zero.

#include <algorithm>
#include <cmath>

namespace troupe::test {

/// |a - b| over the larger magnitude (at least 1e-12).
inline double relative(double a, double b) {
  return std::abs(a - b) / std::max(1e-12, std::max(std::abs(a), std::abs(b)));
}

} // namespace troupe::test
