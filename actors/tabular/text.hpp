#pragma once

// How validation reports write numbers.

#include <cstdio>
#include <string>

namespace troupe::tabular {

/// A number with 6 significant digits.
inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

/// A ratio as a percentage with two decimals ("1.25%").
inline std::string percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f%%", 100 * ratio);
  return buf;
}

} // namespace troupe::tabular
