#pragma once

// Small text helpers shared by the shell's translation units.

#include <string>

namespace troupe::shell_detail {

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

inline std::string trim(const std::string& text) {
  size_t first = 0;
  size_t last = text.size();
  while (first < last && is_space(text[first]))
    ++first;
  while (last > first && is_space(text[last - 1]))
    --last;
  return text.substr(first, last - first);
}

inline bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

} // namespace troupe::shell_detail
