#include "actors/serving/errors.hpp"

namespace troupe::serving {

std::string to_string(errc x) {
  switch (x) {
  case errc::overloaded:
    return "overloaded";
  case errc::too_large:
    return "too_large";
  case errc::no_replica:
    return "no_replica";
  case errc::replicas_lost:
    return "replicas_lost";
  case errc::no_traffic:
    return "no_traffic";
  case errc::not_loaded:
    return "not_loaded";
  }
  return "serving_error_" + std::to_string(static_cast<int>(x));
}

} // namespace troupe::serving
