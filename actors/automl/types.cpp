#include "actors/automl/types.hpp"

#include <cstdio>

namespace troupe::automl {

std::string to_string(const param_value& v) {
  if (auto* d = std::get_if<double>(&v)) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g", *d);
    return buf;
  }
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  return std::get<std::string>(v);
}

} // namespace troupe::automl
