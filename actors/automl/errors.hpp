#pragma once

// The AutoML family's own failures, in the "automl" error category. The
// common ones (a bad argument, a missing file, a malformed message) use the
// runtime's errc (runtime/errors.hpp). Numbers never change once released;
// new codes take new numbers.

#include <cstdint>
#include <string>

#include <caf/atom.hpp>

#include "runtime/errors.hpp"

namespace troupe::automl {

/// Error codes of the automl service, its studies and its journal.
enum class errc : uint8_t {
  none = 0,
  /// A study of that id is already running (submit) or loaded (resume).
  study_loaded = 1,
  /// No study of that id is loaded in the service (status, stop).
  study_not_loaded = 2,
  /// The study journal holds a record that does not decode, or a study's
  /// events skip a trial id.
  journal_corrupt = 3,
  /// A study id the service keeps for itself ("journal").
  reserved_id = 4,
};

/// Name of a code ("study_loaded").
std::string to_string(errc x);

} // namespace troupe::automl

template <>
struct troupe::error_category_of<troupe::automl::errc> {
  static constexpr caf::atom_value value = caf::atom("automl");
  static std::string name(uint8_t code) {
    return troupe::automl::to_string(static_cast<troupe::automl::errc>(code));
  }
};

namespace troupe::automl {

/// Lets describe() name automl's codes in a process that receives them
/// before it makes one (register_kinds calls it).
inline void register_error_names() {
  using cat = troupe::error_category_of<errc>;
  register_error_category(cat::value, &cat::name);
}

} // namespace troupe::automl
