#include "runtime/errors.hpp"

#include <caf/message.hpp>

namespace troupe {

std::string to_string(errc x) {
  switch (x) {
  case errc::none:
    return "none";
  case errc::invalid_argument:
    return "invalid_argument";
  case errc::type_mismatch:
    return "type_mismatch";
  case errc::malformed_message:
    return "malformed_message";
  case errc::not_found:
    return "not_found";
  case errc::already_exists:
    return "already_exists";
  case errc::unauthorized:
    return "unauthorized";
  case errc::no_capacity:
    return "no_capacity";
  case errc::timeout:
    return "timeout";
  case errc::io_failure:
    return "io_failure";
  case errc::shutting_down:
    return "shutting_down";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(message))};
}

std::string describe(const caf::error& err) {
  if (!err) return "no error";
  if (err.category() == error_category) {
    std::string text;
    auto& ctx = err.context();
    if (ctx.size() == 1 && ctx.match_element<std::string>(0))
      text = ctx.get_as<std::string>(0);
    // The message names what and where; the code is only a fallback, so
    // errors that wrap other errors' messages don't pile up codes.
    return text.empty() ? to_string(static_cast<errc>(err.code())) : text;
  }
  return caf::to_string(err);
}

} // namespace troupe
