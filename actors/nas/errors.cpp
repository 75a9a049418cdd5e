#include "actors/nas/errors.hpp"

namespace troupe::nas {

std::string to_string(errc x) {
  switch (x) {
  case errc::none:
    return "none";
  case errc::impossible_limits:
    return "impossible_limits";
  case errc::bad_data:
    return "bad_data";
  case errc::torch_failure:
    return "torch_failure";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

} // namespace troupe::nas
