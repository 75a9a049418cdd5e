#pragma once

// Errors are values (caf::error) that cross nodes as a (code, category)
// pair plus a message naming what and where. Each subsystem numbers its
// codes explicitly in an `enum class : uint8_t`, as CAF's sec.hpp does, and
// names a category atom through error_category_of: the runtime's codes
// (errc, category "troupe") are the common ones every family uses; a family
// adds its own enum only for failures of its own (models::errc for XGBoost,
// say). Numbers never change once released; new codes take new numbers.

#include <cstdint>
#include <string>
#include <type_traits>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/sec.hpp>

namespace troupe {

/// Error codes of the runtime, carried as caf::error values in the "troupe"
/// category. Every error carries a message naming the input and the place.
enum class errc : uint8_t {
  none = 0,
  /// A value given by a user or a peer is malformed or out of range.
  invalid_argument = 1,
  /// An envelope holds a different type than the handler expects.
  type_mismatch = 2,
  /// An envelope's bytes are not a valid Cap'n Proto message.
  malformed_message = 3,
  /// A named node, actor, kind or file does not exist.
  not_found = 4,
  /// A name is taken.
  already_exists = 5,
  /// The cluster secret was wrong or missing, or the sender is no member.
  unauthorized = 6,
  /// No node has a free slot, or the chosen node has none.
  no_capacity = 7,
  /// A peer did not answer in time.
  timeout = 8,
  /// A connection or socket operation failed.
  io_failure = 9,
  /// The system is shutting down.
  shutting_down = 10,
};

/// The atom naming troupe's error category.
constexpr caf::atom_value error_category = caf::atom("troupe");

/// Name of an error code.
std::string to_string(errc x);

/// Makes a troupe error with a message.
caf::error make_error(errc code, std::string message);

/// The category of a subsystem's error enum: specialize it beside the enum
/// with `static constexpr caf::atom_value value = caf::atom("family");`
/// (at most 10 characters, unique in the project) and a
/// `static std::string name(uint8_t code)` giving a code's name.
template <class Enum>
struct error_category_of {};

/// Lets describe() and CAF's to_string() name the codes of `category`.
/// make_error registers a category the first time it is used; a process that
/// only receives such errors gets them registered by the family that owns
/// them. Thread-safe; registering twice is harmless.
void register_error_category(caf::atom_value category,
                             std::string (*code_name)(uint8_t));

/// Makes an error of a subsystem's enum (see error_category_of).
template <class Enum, class = decltype(error_category_of<Enum>::value)>
caf::error make_error(Enum code, std::string message) {
  using cat = error_category_of<Enum>;
  static const bool registered =
      (register_error_category(cat::value, &cat::name), true);
  (void)registered;
  return caf::error{static_cast<uint8_t>(code), cat::value,
                    caf::make_message(std::move(message))};
}

/// Whether `err` is code `code` of its subsystem's enum.
template <class Enum, class = decltype(error_category_of<Enum>::value)>
bool is(const caf::error& err, Enum code) {
  return err && err.category() == error_category_of<Enum>::value &&
         err.code() == static_cast<uint8_t>(code);
}

/// Whether `err` is the runtime's code `code`.
inline bool is(const caf::error& err, errc code) {
  return err && err.category() == error_category &&
         err.code() == static_cast<uint8_t>(code);
}

/// Renders any caf::error for people: its message when it has one, else the
/// name of its code ("not_found", or "family: overloaded" for a registered
/// subsystem category), else CAF's rendering.
std::string describe(const caf::error& err);

/// Whether a request failed because its receiver went (it stopped, or its
/// node is gone) or did not answer in time, rather than refusing it.
inline bool went_away(const caf::error& err) {
  return err == caf::sec::request_receiver_down ||
         err == caf::sec::request_timeout;
}

} // namespace troupe
