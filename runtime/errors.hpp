#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace troupe {

/// Error codes of the runtime, carried as caf::error values in the "troupe"
/// category. Every error carries a message naming the input and the place.
enum class errc : uint8_t {
  none = 0,
  /// A value given by a user or a peer is malformed or out of range.
  invalid_argument,
  /// An envelope holds a different type than the handler expects.
  type_mismatch,
  /// An envelope's bytes are not a valid Cap'n Proto message.
  malformed_message,
  /// A named node, actor, kind or file does not exist.
  not_found,
  /// A name is taken.
  already_exists,
  /// The cluster secret was wrong or missing, or the sender is no member.
  unauthorized,
  /// No node has a free slot, or the chosen node has none.
  no_capacity,
  /// A peer did not answer in time.
  timeout,
  /// A connection or socket operation failed.
  io_failure,
  /// The system is shutting down.
  shutting_down,
};

/// The atom naming troupe's error category.
constexpr caf::atom_value error_category = caf::atom("troupe");

/// Name of an error code.
std::string to_string(errc x);

/// Makes a troupe error with a message.
caf::error make_error(errc code, std::string message);

/// Renders any caf::error for people: "message (code)" for troupe errors.
std::string describe(const caf::error& err);

} // namespace troupe
