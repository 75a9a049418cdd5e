#include "actors/tabular/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>

#include "actors/tabular/csv_stream.hpp"
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

bool is_missing_text(std::string_view v, const csv_options& opts) {
  return v.empty() || std::find(opts.missing.begin(), opts.missing.end(), v) !=
                          opts.missing.end();
}

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
      if (is_missing_text(v, opts)) {
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

namespace {

/// Reads every record of `in` into a table and types its columns.
caf::expected<table> read_table(csv_stream& in, const csv_options& options) {
  table t;
  t.source = in.path();
  for (auto& name : in.header())
    t.columns.push_back(column{name, column_kind::numeric, {}, {}});
  std::vector<std::string> fields;
  size_t line = 0;
  for (;;) {
    auto got = in.next(fields, line);
    if (!got) return got.error();
    if (!*got) break;
    for (size_t i = 0; i < fields.size(); ++i)
      t.columns[i].text.push_back(std::move(fields[i]));
    t.lines.push_back(line);
  }
  if (t.lines.empty())
    return make_error(errc::invalid_argument,
                      t.source + ": no data rows (header only)");
  type_columns(t, options);
  return t;
}

} // namespace

caf::expected<table> parse_csv(const std::string& text,
                               const std::string& source,
                               const csv_options& options) {
  auto in = csv_stream::from_text(text, source, options.delimiter);
  if (!in) return in.error();
  return read_table(*in, options);
}

caf::expected<table> read_csv(const std::string& path,
                              const csv_options& options) {
  auto in = csv_stream::open(path, options.delimiter);
  if (!in) return in.error();
  return read_table(*in, options);
}

caf::expected<table> sample_csv(const std::string& path, size_t rows,
                                uint64_t seed, const csv_options& options) {
  auto in = csv_stream::open(path, options.delimiter);
  if (!in) return in.error();
  // reservoir: (record index, line, fields), then back in file order
  struct kept {
    size_t index, line;
    std::vector<std::string> fields;
  };
  std::vector<kept> sample;
  std::mt19937_64 rng{seed};
  std::vector<std::string> fields;
  size_t line = 0, seen = 0;
  for (;;) {
    auto got = in->next(fields, line);
    if (!got) return got.error();
    if (!*got) break;
    if (sample.size() < rows) {
      sample.push_back({seen, line, fields});
    } else {
      std::uniform_int_distribution<size_t> pick{0, seen};
      auto j = pick(rng);
      if (j < rows) sample[j] = {seen, line, fields};
    }
    ++seen;
  }
  std::sort(sample.begin(), sample.end(),
            [](const kept& a, const kept& b) { return a.index < b.index; });
  table t;
  t.source = in->path();
  for (auto& name : in->header())
    t.columns.push_back(column{name, column_kind::numeric, {}, {}});
  for (auto& k : sample) {
    for (size_t i = 0; i < k.fields.size(); ++i)
      t.columns[i].text.push_back(std::move(k.fields[i]));
    t.lines.push_back(k.line);
  }
  if (t.lines.empty())
    return make_error(errc::invalid_argument,
                      t.source + ": no data rows (header only)");
  type_columns(t, options);
  return t;
}

void normalize_cell(std::string& cell, const csv_options& options) {
  auto v = trim(cell);
  if (is_missing_text(v, options))
    cell.clear();
  else if (v.size() != cell.size())
    cell = std::string{v};
}

} // namespace troupe::tabular
