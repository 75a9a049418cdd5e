#include "actors/models/errors.hpp"

namespace troupe::models {

std::string to_string(errc x) {
  switch (x) {
  case errc::none:
    return "none";
  case errc::xgboost_failure:
    return "xgboost_failure";
  case errc::bad_model:
    return "bad_model";
  case errc::unsupported:
    return "unsupported";
  case errc::torch_failure:
    return "torch_failure";
  }
  return "models_error_" + std::to_string(static_cast<int>(x));
}

} // namespace troupe::models
