#pragma once

// Number parsing without exceptions for the features family's configs and
// command-line options.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace troupe::features {

/// The decimal number that is all of `text`, or none (empty, a sign, another
/// character, out of range).
inline std::optional<uint64_t> parse_unsigned(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return std::nullopt;
  return v;
}

} // namespace troupe::features
