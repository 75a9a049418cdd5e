#pragma once

// Search space files (the format is in space.hpp): JSON or TOML text read
// into parameters and applied to a base space. Errors name the file and the
// parameter, and the line where the format gives one.

#include <string>

#include <caf/expected.hpp>

#include "actors/automl/space.hpp"

namespace troupe::automl {

/// Applies a space file (format above) to `base`. The format follows the
/// extension. Errors name the file and the parameter, and the line for TOML.
caf::expected<search_space> apply_space_file(const search_space& base,
                                             const std::string& path);

/// Applies space-file text to `base`; `format` is "json" or "toml" and
/// `origin` names the text in messages (a file name).
caf::expected<search_space> apply_space_text(const search_space& base,
                                             const std::string& text,
                                             const std::string& format,
                                             const std::string& origin);

} // namespace troupe::automl
