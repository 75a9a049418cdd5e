#pragma once

// A check of TOML text before toml++ reads it. toml++ 3.3 (Debian's)
// reaches __builtin_unreachable() -- undefined behaviour, in a release
// build anything from a wrong parse to a crash -- when it meets certain
// non-ASCII characters outside strings (tests/fuzz/job_config_fuzz found
// U+03AB). TOML 1.0 allows non-ASCII text only in strings and comments, so
// the check refuses any elsewhere, naming its line and column; everything
// else is left to toml++.

#include <string>
#include <string_view>

#include <caf/error.hpp>

namespace troupe {

/// An error naming `origin`, line and column of the first non-ASCII byte
/// outside a string or a comment; none when there is none.
caf::error check_toml_text(std::string_view text, const std::string& origin);

} // namespace troupe
