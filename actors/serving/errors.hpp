#pragma once

// The serving family's own failures, numbered explicitly (category
// "serving"): make_error(serving::errc::overloaded, "...") and
// is(err, serving::errc::overloaded) work through runtime/errors.hpp. Code
// that includes this header names the runtime's codes troupe::errc.

#include <cstdint>
#include <string>

#include <caf/atom.hpp>

#include "runtime/errors.hpp"

namespace troupe::serving {

/// Why serving refused or failed a request.
enum class errc : uint8_t {
  /// A queue bound was reached (a router's or a replica's): retry later.
  overloaded = 1,
  /// A request has more rows than a replica queues at all.
  too_large = 2,
  /// No replica of the version became ready in time.
  no_replica = 3,
  /// The replicas serving a request were lost, one after another.
  replicas_lost = 4,
  /// The deployment sends no traffic to the version asked for (or none at
  /// all).
  no_traffic = 5,
  /// A replica has no model loaded yet.
  not_loaded = 6,
};

/// The code's name ("overloaded").
std::string to_string(errc x);

} // namespace troupe::serving

namespace troupe {

template <>
struct error_category_of<serving::errc> {
  static constexpr caf::atom_value value = caf::atom("serving");
  static std::string name(uint8_t code) {
    return serving::to_string(static_cast<serving::errc>(code));
  }
};

} // namespace troupe
