#pragma once

// The NAS family's own failures, in the "nas" error category. The common
// ones (a bad argument, a missing file) use the runtime's errc
// (runtime/errors.hpp). Numbers never change once released.

#include <cstdint>
#include <string>

#include <caf/atom.hpp>

#include "runtime/errors.hpp"

namespace troupe::nas {

/// Error codes of `troupe nas`.
enum class errc : uint8_t {
  none = 0,
  /// No network of the search space fits the parameter or FLOP limit.
  impossible_limits = 1,
  /// A data file is missing, truncated or not the IDX file it should be.
  bad_data = 2,
  /// The plugin libtroupe_nas.so is missing, or LibTorch failed in it.
  torch_failure = 3,
};

/// Name of a code ("impossible_limits").
std::string to_string(errc x);

} // namespace troupe::nas

template <>
struct troupe::error_category_of<troupe::nas::errc> {
  static constexpr caf::atom_value value = caf::atom("nas");
  static std::string name(uint8_t code) {
    return troupe::nas::to_string(static_cast<troupe::nas::errc>(code));
  }
};
