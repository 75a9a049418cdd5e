#pragma once

// Event times: microseconds since the Unix epoch (UTC), read from ISO 8601
// text or integers, and written as ISO 8601. Used by families that version data
// by CLI and the shell.

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace troupe {

/// The wall clock: microseconds since the Unix epoch (UTC).
int64_t now_micros();

/// Parses a time: an ISO 8601 date-time in UTC ("2024-03-01",
/// "2024-03-01T12:00", "2024-03-01 12:00:00.250", optional "Z" or "+HH:MM"
/// offset; impossible dates refused) or an integer in `unit` ("s", "ms" or
/// "us") since the epoch. Returns microseconds since the epoch; the error
/// names the text.
caf::expected<int64_t> parse_time(std::string_view text,
                                  std::string_view unit = "s");

/// How format_time writes a fraction of a second.
enum class fraction {
  micros,   ///< always six digits: ".250000"
  shortest, ///< milliseconds when exact: ".250", else ".250001"
};

/// Formats microseconds since the epoch as "2024-03-01T12:00:00Z", with a
/// fraction only when there is one.
std::string format_time(int64_t micros, fraction digits = fraction::micros);

} // namespace troupe
