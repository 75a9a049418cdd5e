#include "actors/tabular/stats.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "runtime/errors.hpp"

namespace troupe::tabular {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

const char* to_string(value_type t) {
  switch (t) {
  case value_type::unknown:
    return "unknown";
  case value_type::integer:
    return "integer";
  case value_type::floating:
    return "float";
  case value_type::string:
    return "string";
  }
  return "unknown";
}

bool from_string(std::string_view text, value_type& out) {
  for (auto t : {value_type::unknown, value_type::integer, value_type::floating,
                 value_type::string})
    if (text == to_string(t)) {
      out = t;
      return true;
    }
  return false;
}

std::string cell::to_text() const {
  if (!text.empty() || what == kind::missing || what == kind::text)
    return std::string{text};
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), number);
  return ec == std::errc{} ? std::string(buf, end) : std::to_string(number);
}

cell classify(std::string_view raw) {
  cell c;
  auto v = trim(raw);
  c.text = v;
  if (v.empty()) return c;
  c.what = cell::kind::text;
  auto digits = v;
  if (digits.front() == '+') {
    digits.remove_prefix(1);
    if (!digits.empty() && (digits.front() == '+' || digits.front() == '-'))
      return c;
  }
  double x = 0;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), x);
  if (ec != std::errc{} || end != digits.data() + digits.size() ||
      !std::isfinite(x))
    return c;
  c.number = x;
  c.what = digits.find_first_of(".eE") == std::string_view::npos
               ? cell::kind::integer
               : cell::kind::floating;
  return c;
}

// -- row_sink -----------------------------------------------------------------

row_sink::row_sink(size_t columns) : seen_(columns, 0) {}

void row_sink::begin_row(uint64_t line) {
  std::fill(seen_.begin(), seen_.end(), 0);
  line_ = line;
}

void row_sink::put(size_t col, const cell& c) {
  if (col >= seen_.size() || seen_[col]) return;
  seen_[col] = 1;
  on_cell(col, c);
}

void row_sink::add_text(size_t col, std::string_view text) {
  put(col, classify(text));
}

void row_sink::add_number(size_t col, double value) {
  cell c;
  if (!std::isnan(value)) {
    c.what = cell::kind::floating;
    c.number = value;
  }
  put(col, c);
}

void row_sink::add_integer(size_t col, int64_t value) {
  cell c;
  c.what = cell::kind::integer;
  c.number = static_cast<double>(value);
  put(col, c);
}

void row_sink::add_missing(size_t col) {
  put(col, cell{});
}

void row_sink::add_numbers(const double* values, size_t n, size_t first_col) {
  for (size_t i = 0; i < n; ++i)
    add_number(first_col + i, values[i]);
}

void row_sink::end_row() {
  for (size_t col = 0; col < seen_.size(); ++col)
    if (!seen_[col]) put(col, cell{});
  ++rows_;
}

void row_sink::add_row(const std::vector<std::string_view>& cells,
                       uint64_t line) {
  begin_row(line);
  for (size_t i = 0; i < cells.size(); ++i)
    add_text(i, cells[i]);
  end_row();
}

void row_sink::add_row(const std::vector<std::string>& cells, uint64_t line) {
  begin_row(line);
  for (size_t i = 0; i < cells.size(); ++i)
    add_text(i, cells[i]);
  end_row();
}

void row_sink::add_row(const std::vector<double>& values, uint64_t line) {
  begin_row(line);
  add_numbers(values.data(), values.size());
  end_row();
}

// -- statistics ---------------------------------------------------------------

size_t histogram::bin_of(double v) const {
  return std::lower_bound(edges.begin(), edges.end(), v) - edges.begin();
}

uint64_t column_stats::singletons() const {
  uint64_t n = 0;
  for (auto& [value, count] : domain)
    n += count == 1 ? 1 : 0;
  return n;
}

const column_stats* dataset_stats::find(std::string_view name) const {
  for (auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

value_type infer_type(uint64_t integers, uint64_t floats, uint64_t texts) {
  if (texts > 0) return value_type::string;
  if (floats > 0) return value_type::floating;
  if (integers > 0) return value_type::integer;
  return value_type::unknown;
}

histogram quantile_bins(const std::vector<double>& sorted, size_t bins) {
  histogram h;
  auto n = sorted.size();
  if (n == 0 || bins == 0) return h;
  for (size_t k = 1; k < bins; ++k) {
    auto rank = (k * n + bins - 1) / bins; // ceil(k n / bins), 1-based
    auto e = sorted[std::max<size_t>(rank, 1) - 1];
    if (h.edges.empty() || e > h.edges.back()) h.edges.push_back(e);
  }
  h.fractions.assign(h.edges.size() + 1, 0.0);
  for (auto v : sorted)
    h.fractions[h.bin_of(v)] += 1.0;
  for (auto& f : h.fractions)
    f /= double(n);
  return h;
}

profile_builder::profile_builder(std::vector<std::string> columns,
                                 const profile_options& options)
    : row_sink(columns.size()), names_(std::move(columns)),
      state_(names_.size()), options_(options), rng_(options.seed) {}

void profile_builder::add_numeric(column_state& s, double v) {
  ++s.numeric;
  if (s.numeric == 1) {
    s.min = s.max = v;
  } else {
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  }
  auto delta = v - s.mean;
  s.mean += delta / double(s.numeric);
  s.m2 += delta * (v - s.mean);
  // Algorithm R: the i-th value replaces a random slot with chance k / i.
  if (s.reservoir.size() < options_.sample_size) {
    s.reservoir.push_back(v);
  } else if (options_.sample_size > 0) {
    auto j = rng_() % s.numeric;
    if (j < options_.sample_size) s.reservoir[j] = v;
  }
}

void profile_builder::add_cell(size_t col, const cell& c) {
  if (col >= state_.size()) return;
  auto& s = state_[col];
  switch (c.what) {
  case cell::kind::missing:
    ++s.missing;
    return;
  case cell::kind::integer:
    ++s.integers;
    add_numeric(s, c.number);
    break;
  case cell::kind::floating:
    ++s.floats;
    add_numeric(s, c.number);
    break;
  case cell::kind::text:
    ++s.texts;
    break;
  }
  // Only cells given as text are counted by value: typed numbers have no
  // text, and a wide float group must not pay for a frequency table.
  if (c.text.empty() || s.high_cardinality) return;
  auto it = s.domain.find(c.text);
  if (it != s.domain.end()) {
    ++it->second;
  } else if (s.domain.size() < options_.max_domain) {
    s.domain.emplace(std::string{c.text}, 1);
  } else {
    s.domain.clear();
    s.high_cardinality = true;
  }
}

dataset_stats profile_builder::finish() const {
  dataset_stats out;
  out.rows = rows();
  out.columns.reserve(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) {
    auto& s = state_[i];
    column_stats c;
    c.name = names_[i];
    c.type = infer_type(s.integers, s.floats, s.texts);
    c.missing = s.missing;
    c.integers = s.integers;
    c.floats = s.floats;
    c.texts = s.texts;
    c.count = s.integers + s.floats + s.texts;
    if (s.numeric > 0) {
      c.min = s.min;
      c.max = s.max;
      c.mean = s.mean;
      c.stddev = s.numeric > 1 ? std::sqrt(s.m2 / double(s.numeric - 1)) : 0.0;
      c.sample = s.reservoir;
      std::sort(c.sample.begin(), c.sample.end());
      auto n = c.sample.size();
      if (n <= 100) {
        c.quantiles = c.sample;
      } else {
        for (size_t k = 0; k < 100; ++k)
          c.quantiles.push_back(c.sample[(2 * k + 1) * n / 200]);
      }
      c.bins = quantile_bins(c.sample, options_.bins);
    }
    c.high_cardinality = s.high_cardinality;
    c.domain.assign(s.domain.begin(), s.domain.end());
    std::stable_sort(c.domain.begin(), c.domain.end(),
                     [](auto& a, auto& b) { return a.second > b.second; });
    out.columns.push_back(std::move(c));
  }
  return out;
}

caf::error check_column_names(const std::vector<std::string>& columns) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].empty())
      return make_error(errc::invalid_argument,
                        "column " + std::to_string(i + 1) + " has no name");
    if (!seen.insert(columns[i]).second)
      return make_error(errc::invalid_argument,
                        "duplicate column name '" + columns[i] + "'");
  }
  return caf::none;
}

caf::expected<dataset_stats> profile(const std::vector<std::string>& columns,
                                     const row_source& source,
                                     const profile_options& options) {
  if (auto err = check_column_names(columns)) return err;
  profile_builder builder{columns, options};
  while (source(builder)) {
    // each call fed one row
  }
  return builder.finish();
}

} // namespace troupe::tabular
