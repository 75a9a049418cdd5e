#include "actors/features/errors.hpp"

namespace troupe::features {

std::string to_string(errc x) {
  switch (x) {
  case errc::none:
    return "none";
  case errc::shard_down:
    return "shard_down";
  case errc::no_nodes:
    return "no_nodes";
  case errc::storage_failure:
    return "storage_failure";
  case errc::scan_failed:
    return "scan_failed";
  case errc::bad_shard_config:
    return "bad_shard_config";
  case errc::bad_service_config:
    return "bad_service_config";
  }
  return "unknown features error " + std::to_string(static_cast<int>(x));
}

} // namespace troupe::features
