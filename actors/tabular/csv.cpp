#include "actors/tabular/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>

#include "runtime/errors.hpp"

namespace troupe::tabular {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

/// Offset of the first byte that does not start a valid UTF-8 sequence
/// (overlong forms, surrogates and code points past U+10FFFF included), or
/// npos when `s` is valid.
size_t invalid_utf8_at(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                    (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

/// Splits CSV text into records, one at a time, tracking physical lines.
class tokenizer {
public:
  tokenizer(const std::string& text, const std::string& source, char delim)
      : s_(text), source_(source), delim_(delim) {
    if (s_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;
  }

  /// Reads the next record into `fields` and its first line into `line`;
  /// false at the end of the text.
  caf::expected<bool> next(std::vector<std::string>& fields, size_t& line) {
    fields.clear();
    while (pos_ < s_.size() && is_eol(s_[pos_]))
      eat_eol();
    if (pos_ >= s_.size()) return false;
    line = line_;
    for (;;) {
      std::string field;
      size_t field_line = line_;
      size_t col = fields.size() + 1;
      size_t p = pos_;
      while (p < s_.size() && is_space(s_[p]))
        ++p;
      if (p < s_.size() && s_[p] == '"') {
        pos_ = p + 1;
        if (auto err = quoted(field, field_line, col)) return err;
      } else {
        size_t start = pos_;
        while (pos_ < s_.size() && s_[pos_] != delim_ && !is_eol(s_[pos_]))
          ++pos_;
        field.assign(s_, start, pos_ - start);
      }
      if (auto bad = invalid_utf8_at(field); bad != std::string_view::npos) {
        auto at =
            field_line + std::count(field.begin(), field.begin() + bad, '\n');
        char byte[8];
        std::snprintf(byte, sizeof(byte), "0x%02X",
                      static_cast<unsigned char>(field[bad]));
        return fail(at, col, std::string{"invalid UTF-8 (byte "} + byte + ")");
      }
      fields.push_back(std::move(field));
      if (pos_ < s_.size() && s_[pos_] == delim_) {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size()) eat_eol();
      return true;
    }
  }

  caf::error fail(size_t line, size_t col, const std::string& what) const {
    return make_error(errc::invalid_argument,
                      source_ + ":" + std::to_string(line) + ":" +
                          std::to_string(col) + ": " + what);
  }

private:
  static bool is_eol(char c) { return c == '\n' || c == '\r'; }

  /// Consumes one line ending: LF, CRLF or a lone CR.
  void eat_eol() {
    if (s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n')
      ++pos_;
    ++pos_;
    ++line_;
  }

  /// Reads a quoted field's body; pos_ is just past the opening quote.
  caf::error quoted(std::string& field, size_t open_line, size_t col) {
    for (;;) {
      if (pos_ >= s_.size())
        return fail(open_line, col,
                    "unterminated quote (the field opened "
                    "here runs to the end of the file)");
      char c = s_[pos_];
      if (c == '"') {
        if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '"') {
          field += '"';
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      if (c == '\n' ||
          (c == '\r' && !(pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n')))
        ++line_;
      field += c;
      ++pos_;
    }
    while (pos_ < s_.size() && is_space(s_[pos_]))
      ++pos_;
    if (pos_ < s_.size() && s_[pos_] != delim_ && !is_eol(s_[pos_]))
      return fail(line_, col, "unexpected text after a closing quote");
    return {};
  }

  const std::string& s_;
  const std::string& source_;
  char delim_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

/// Marks missing cells and decides each column's kind.
void type_columns(table& t, const csv_options& opts) {
  for (auto& col : t.columns) {
    size_t numbers = 0;
    size_t strings = 0;
    size_t first_string = 0;
    std::vector<double> values(col.text.size(),
                               std::numeric_limits<double>::quiet_NaN());
    for (size_t r = 0; r < col.text.size(); ++r) {
      auto& cell = col.text[r];
      auto v = trim(cell);
      bool missing =
          v.empty() || std::find(opts.missing.begin(), opts.missing.end(), v) !=
                           opts.missing.end();
      if (missing) {
        cell.clear();
        ++col.missing;
        continue;
      }
      if (v.size() != cell.size()) cell = std::string{v};
      if (parse_number(cell, values[r])) {
        ++numbers;
      } else if (strings++ == 0) {
        first_string = r;
      }
    }
    if (strings == 0) {
      col.kind = column_kind::numeric;
      col.numbers = std::move(values);
      continue;
    }
    col.kind = column_kind::categorical;
    if (numbers > 0)
      t.warnings.push_back(
          t.source + ": column '" + col.name + "' mixes " +
          std::to_string(numbers) + " numbers with " + std::to_string(strings) +
          " strings (the first, '" + col.text[first_string] + "', on line " +
          std::to_string(t.lines[first_string]) + "); read as categorical");
  }
}

} // namespace

const column* table::find(const std::string& name) const {
  for (auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

std::string table::column_list() const {
  std::string out;
  for (auto& c : columns) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

bool parse_number(const std::string& text, double& out) {
  auto v = trim(text);
  if (!v.empty() && v.front() == '+') {
    v.remove_prefix(1);
    if (!v.empty() && (v.front() == '+' || v.front() == '-')) return false;
  }
  double x = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || end != v.data() + v.size() || !std::isfinite(x))
    return false;
  out = x;
  return true;
}

caf::expected<table> parse_csv(const std::string& text,
                               const std::string& source,
                               const csv_options& options) {
  tokenizer tok{text, source, options.delimiter};
  table t;
  t.source = source;
  std::vector<std::string> fields;
  size_t line = 0;
  auto got = tok.next(fields, line);
  if (!got) return got.error();
  if (!*got)
    return make_error(errc::invalid_argument,
                      source + ": empty file (no header row)");
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string name{trim(fields[i])};
    if (name.empty()) name = "column_" + std::to_string(i + 1);
    if (auto [it, fresh] = seen.emplace(name, i); !fresh)
      return tok.fail(line, i + 1,
                      "duplicate column name '" + name + "' (also column " +
                          std::to_string(it->second + 1) + ")");
    t.columns.push_back(column{std::move(name), column_kind::numeric, {}, {}});
  }
  for (;;) {
    got = tok.next(fields, line);
    if (!got) return got.error();
    if (!*got) break;
    if (fields.size() != t.columns.size())
      return tok.fail(line, std::min(fields.size(), t.columns.size()) + 1,
                      "line " + std::to_string(line) + " has " +
                          std::to_string(fields.size()) +
                          " fields, header has " +
                          std::to_string(t.columns.size()));
    for (size_t i = 0; i < fields.size(); ++i)
      t.columns[i].text.push_back(std::move(fields[i]));
    t.lines.push_back(line);
  }
  if (t.lines.empty())
    return make_error(errc::invalid_argument,
                      source + ": no data rows (header only)");
  type_columns(t, options);
  return t;
}

caf::expected<table> read_csv(const std::string& path,
                              const csv_options& options) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::not_found,
                      "cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad())
    return make_error(errc::io_failure, "cannot read '" + path + "'");
  return parse_csv(buf.str(), path, options);
}

} // namespace troupe::tabular
