#include "runtime/shell.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "runtime/errors.hpp"
#include "runtime/shell_detail.hpp"

namespace troupe {

using shell_detail::is_space;
using shell_detail::starts_with;
using shell_detail::trim;

namespace {

/// Code points in UTF-8 text: bytes that do not continue a sequence.
size_t display_width(const std::string& text) {
  auto starts = [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  };
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), starts));
}

} // namespace

// -- pure text helpers --------------------------------------------------------

std::vector<std::string> split_commands(const std::string& text) {
  std::vector<std::string> result;
  std::string piece;
  auto flush = [&] {
    auto command = trim(piece);
    if (!command.empty()) result.push_back(std::move(command));
    piece.clear();
  };
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote == '\'') {
      piece += c;
      if (c == '\'') quote = 0;
    } else if (c == '\\' && i + 1 < text.size()) {
      piece += c;
      piece += text[++i];
    } else if (quote == '"') {
      piece += c;
      if (c == '"') quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
      piece += c;
    } else if (c == ';') {
      flush();
    } else {
      piece += c;
    }
  }
  flush();
  return result;
}

caf::expected<std::vector<std::string>> tokenize(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  auto unterminated = [&](const char* which, size_t pos) {
    return make_error(errc::invalid_argument,
                      std::string{"unterminated "} + which +
                          " quote opened at column " + std::to_string(pos + 1) +
                          " of: " + line);
  };
  size_t i = 0;
  const size_t n = line.size();
  while (i < n) {
    char c = line[i];
    if (is_space(c)) {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
      ++i;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      // A trailing backslash stays literal.
      word += i + 1 < n ? line[i + 1] : c;
      i += 2;
    } else if (c == '\'') {
      auto close = line.find('\'', i + 1);
      if (close == std::string::npos) return unterminated("single", i);
      word.append(line, i + 1, close - i - 1);
      i = close + 1;
    } else if (c == '"') {
      size_t j = i + 1;
      bool closed = false;
      while (j < n) {
        if (line[j] == '\\' && j + 1 < n &&
            (line[j + 1] == '"' || line[j + 1] == '\\')) {
          word += line[j + 1];
          j += 2;
        } else if (line[j] == '"') {
          closed = true;
          ++j;
          break;
        } else {
          word += line[j++];
        }
      }
      if (!closed) return unterminated("double", i);
      i = j;
    } else {
      word += c;
      ++i;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

std::vector<std::string> complete(const std::string& prefix,
                                  const std::vector<std::string>& candidates) {
  std::vector<std::string> result;
  for (auto& x : candidates)
    if (starts_with(x, prefix)) result.push_back(x);
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

std::string format_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows) {
  size_t columns = headers.size();
  for (auto& row : rows)
    columns = std::max(columns, row.size());
  std::vector<size_t> width(columns, 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], display_width(row[c]));
  };
  if (!headers.empty()) measure(headers);
  for (auto& row : rows)
    measure(row);
  std::string result;
  auto emit = [&](const std::vector<std::string>& row) {
    // Pad up to the last non-empty cell only: no trailing blanks.
    size_t used = row.size();
    while (used > 0 && row[used - 1].empty())
      --used;
    for (size_t c = 0; c < used; ++c) {
      if (c > 0) result += "  ";
      result += row[c];
      if (c + 1 < used) result.append(width[c] - display_width(row[c]), ' ');
    }
    result += '\n';
  };
  if (!headers.empty()) emit(headers);
  for (auto& row : rows)
    emit(row);
  return result;
}

std::string clock_text(uint64_t ms) {
  auto s = static_cast<unsigned long long>(ms / 1000);
  char buf[48];
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%llu:%02llu:%02llu", s / 3600, s / 60 % 60,
                  s % 60);
  else
    std::snprintf(buf, sizeof(buf), "%llu:%02llu", s / 60, s % 60);
  return buf;
}

const std::vector<command_info>& command_table() {
  static const std::vector<command_info> table{
      {"help", "help [COMMAND]", "list the commands, or show one's usage"},
      {"nodes", "nodes", "list the nodes of the cluster"},
      {"slots", "slots", "every node's slots and who holds each of them"},
      {"actors", "actors", "list the registered actors"},
      {"kinds", "kinds", "list the actor kinds that can be spawned"},
      {"spawn",
       "spawn KIND [NODE|any|head|every] [--name NAME] [--config TEXT]",
       "spawn an actor (default: where a slot is free)"},
      {"send", "send [--op OP] ACTOR TEXT...",
       "send TEXT to ACTOR, print the reply"},
      {"stats", "stats [TARGET]",
       "counters of an actor, a node, or every node"},
      {"stop", "stop ACTOR", "stop a registered actor"},
      {"watch", "watch [SECONDS] [--count N]",
       "print directory changes (SECONDS or N of them)"},
      {"wait-nodes", "wait-nodes N [SECONDS]",
       "wait until N nodes joined (default 30 s)"},
      {"ping", "ping", "time a round trip to the head"},
      {"shutdown", "shutdown", "stop every node, then the head"},
      {"quit", "quit", "leave the shell"},
      {"exit", "exit", "leave the shell"},
  };
  return table;
}

std::string help_text() {
  return help_text(command_table());
}

std::string help_text(const std::vector<command_info>& commands) {
  // Usages longer than the column get their summary on the next line, so
  // that the text fits 80 columns.
  constexpr size_t column = 28;
  std::string result = "commands:\n";
  for (auto& cmd : commands) {
    result += "  " + cmd.usage;
    if (cmd.usage.size() > column)
      result += "\n" + std::string(column + 2, ' ');
    else
      result.append(column - cmd.usage.size(), ' ');
    result += "  " + cmd.summary + '\n';
  }
  return result;
}

} // namespace troupe
