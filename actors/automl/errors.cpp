#include "actors/automl/errors.hpp"

namespace troupe::automl {

std::string to_string(errc x) {
  switch (x) {
  case errc::none:
    return "none";
  case errc::study_loaded:
    return "study_loaded";
  case errc::study_not_loaded:
    return "study_not_loaded";
  case errc::journal_corrupt:
    return "journal_corrupt";
  case errc::reserved_id:
    return "reserved_id";
  }
  return "code " + std::to_string(static_cast<int>(x));
}

} // namespace troupe::automl
