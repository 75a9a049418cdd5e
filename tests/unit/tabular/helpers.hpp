#pragma once

// Shared pieces of the validation tests: the shared datasets as rows of
// text, seeded random halves, and CSV files written back out (row i of a
// written file is on line i + 2).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "actors/tabular/csv.hpp"
#include "actors/tabular/stats.hpp"

namespace troupe::tabular::test {

inline std::string dataset(const std::string& file) {
  return TROUPE_SOURCE_DIR "/tests/data/" + file;
}

/// A CSV file as text cells ("" = missing).
struct rows {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> cells;

  size_t col(const std::string& name) const {
    auto it = std::find(header.begin(), header.end(), name);
    REQUIRE(it != header.end());
    return static_cast<size_t>(it - header.begin());
  }
  /// The line a row has once written by write_csv.
  static uint64_t line_of(size_t row) { return row + 2; }
};

inline rows load(const std::string& file) {
  auto t = tabular::read_csv(dataset(file));
  REQUIRE(t);
  rows out;
  for (auto& c : t->columns)
    out.header.push_back(c.name);
  out.cells.resize(t->rows());
  for (size_t r = 0; r < t->rows(); ++r)
    for (auto& c : t->columns)
      out.cells[r].push_back(c.text[r]);
  return out;
}

/// Splits rows into two random halves (order kept within each), with a
/// Fisher-Yates shuffle of our own so the split is the same everywhere.
inline std::pair<rows, rows> halves(const rows& all, uint64_t seed) {
  std::vector<size_t> idx(all.cells.size());
  for (size_t i = 0; i < idx.size(); ++i)
    idx[i] = i;
  std::mt19937_64 rng{seed};
  for (size_t i = idx.size(); i > 1; --i)
    std::swap(idx[i - 1], idx[rng() % i]);
  auto mid = idx.size() / 2;
  std::sort(idx.begin(), idx.begin() + mid);
  std::sort(idx.begin() + mid, idx.end());
  rows a{all.header, {}}, b{all.header, {}};
  for (size_t i = 0; i < idx.size(); ++i)
    (i < mid ? a : b).cells.push_back(all.cells[idx[i]]);
  return {a, b};
}

/// `k` distinct row indexes in [0, n), ascending, chosen with `seed`,
/// skipping those for which `skip` holds.
template <class Skip>
std::vector<size_t> pick(size_t n, size_t k, uint64_t seed, Skip skip) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < n; ++i)
    if (!skip(i)) idx.push_back(i);
  REQUIRE(idx.size() >= k);
  std::mt19937_64 rng{seed};
  for (size_t i = 0; i < k; ++i)
    std::swap(idx[i], idx[i + rng() % (idx.size() - i)]);
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

inline std::vector<size_t> pick(size_t n, size_t k, uint64_t seed) {
  return pick(n, k, seed, [](size_t) { return false; });
}

inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (auto c : s)
    out += c == '"' ? std::string{"\"\""} : std::string{c};
  return out + "\"";
}

inline void write_csv(const std::string& path, const rows& r) {
  std::ofstream out{path};
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i)
      out << (i ? "," : "") << csv_field(cells[i]);
    out << '\n';
  };
  line(r.header);
  for (auto& c : r.cells)
    line(c);
  REQUIRE(out.good());
}

/// Feeds rows into a sink, row i as line i + 2 (as if written out).
inline void feed_rows(const rows& r, row_sink& sink) {
  for (size_t i = 0; i < r.cells.size(); ++i)
    sink.add_row(r.cells[i], rows::line_of(i));
}

/// The statistics of rows.
inline dataset_stats profile_rows(const rows& r,
                                  const profile_options& options = {}) {
  profile_builder b{r.header, options};
  feed_rows(r, b);
  return b.finish();
}

} // namespace troupe::tabular::test
