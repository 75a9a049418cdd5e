#include "runtime/toml_text.hpp"

#include <cstdio>

#include "runtime/errors.hpp"

namespace troupe {

caf::error check_toml_text(std::string_view s, const std::string& origin) {
  size_t line = 1, line_start = 0, i = 0, n = s.size();
  auto at = [&](std::string_view token) {
    return s.substr(i, token.size()) == token;
  };
  auto newline = [&](size_t pos) {
    ++line;
    line_start = pos + 1;
  };
  // skips to just past the end of a string opened at i (its opening
  // delimiter `open`); `escapes`: a backslash escapes the next byte;
  // `multiline`: newlines belong to it
  auto skip_string = [&](std::string_view open, bool escapes, bool multiline) {
    i += open.size();
    while (i < n) {
      char c = s[i];
      if (escapes && c == '\\' && i + 1 < n) {
        if (s[i + 1] == '\n') newline(i + 1);
        i += 2;
        continue;
      }
      if (at(open)) {
        i += open.size();
        // up to two more quotes belong to a multiline string's text
        for (int k = 0; multiline && k < 2 && i < n && s[i] == open[0]; ++k)
          ++i;
        return;
      }
      if (c == '\n') {
        if (!multiline) return; // toml++ names the unterminated string
        newline(i);
      }
      ++i;
    }
  };
  while (i < n) {
    char c = s[i];
    if (c == '\n') {
      newline(i);
      ++i;
    } else if (c == '#') {
      while (i < n && s[i] != '\n')
        ++i;
    } else if (at("\"\"\"")) {
      skip_string("\"\"\"", true, true);
    } else if (at("'''")) {
      skip_string("'''", false, true);
    } else if (c == '"') {
      skip_string("\"", true, false);
    } else if (c == '\'') {
      skip_string("'", false, false);
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02X", static_cast<unsigned char>(c));
      return make_error(errc::invalid_argument,
                        origin + ":" + std::to_string(line) + ":" +
                            std::to_string(i - line_start + 1) +
                            ": invalid TOML: a non-ASCII character (byte " +
                            code +
                            ") outside a string or a comment; quote the "
                            "text that holds it");
    } else {
      ++i;
    }
  }
  return caf::error{};
}

} // namespace troupe
