#pragma once

// Shared pieces of the feature-pipeline tests: preprocessors described in a
// few words, matrices from rows, bitwise comparison of floats, and a
// categorical column of pure noise with many levels.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/tabular/dataset.hpp"

namespace troupe::tabular::test {

/// A feature of a preprocessor: a name and, for a categorical one, its
/// categories.
struct column_spec {
  std::string name;
  std::vector<std::string> categories; // empty: numeric
  bool categorical = false;
};

inline column_spec numeric_column(std::string name) {
  return {std::move(name), {}, false};
}

inline column_spec categorical_column(std::string name,
                                      std::vector<std::string> categories) {
  return {std::move(name), std::move(categories), true};
}

/// A preprocessor with these features, for `task` with `classes` (class
/// names; empty for regression).
inline preprocessor make_prep(const std::vector<column_spec>& cols,
                              task_kind task,
                              std::vector<std::string> classes = {"0", "1"}) {
  if (task == task_kind::regression) classes.clear();
  nlohmann::json j{{"format", "troupe.preprocessor"},
                   {"version", 1},
                   {"target", "y"},
                   {"task", to_string(task)},
                   {"target_numeric", false},
                   {"classes", classes},
                   {"features", nlohmann::json::array()}};
  for (auto& c : cols) {
    nlohmann::json f{{"name", c.name},
                     {"kind", c.categorical ? "categorical" : "numeric"}};
    if (c.categorical) f["categories"] = c.categories;
    j["features"].push_back(f);
  }
  auto p = preprocessor::from_json(j);
  REQUIRE(p);
  return std::move(*p);
}

/// A matrix of these rows and labels.
inline matrix make_matrix(const std::vector<std::vector<float>>& rows,
                          std::vector<float> labels = {}) {
  matrix m;
  m.rows = rows.size();
  m.cols = rows.empty() ? 0 : rows[0].size();
  for (auto& r : rows) {
    REQUIRE(r.size() == m.cols);
    m.values.insert(m.values.end(), r.begin(), r.end());
  }
  m.labels = std::move(labels);
  for (size_t c = 0; c < m.cols; ++c)
    m.feature_names.push_back("f" + std::to_string(c));
  return m;
}

/// Column `c` of `m`.
inline std::vector<float> column_of(const matrix& m, size_t c) {
  std::vector<float> out;
  for (size_t r = 0; r < m.rows; ++r)
    out.push_back(m.at(r, c));
  return out;
}

/// Whether two float vectors are equal bit for bit (NaN included).
inline bool same_bits(const std::vector<float>& a,
                      const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() ||
          std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

/// Binary labels that are fair coin flips and one categorical column of
/// uniformly drawn levels, independent of them: nothing to learn.
struct noise_data {
  size_t levels;
  matrix m;
  preprocessor prep;

  noise_data(size_t levels, size_t rows, uint64_t seed) : levels(levels) {
    std::vector<std::string> names;
    for (size_t i = 0; i < levels; ++i)
      names.push_back("L" + std::to_string(100000 + i)); // sorted bytewise
    prep = make_prep({categorical_column("noise", names)}, task_kind::binary);
    std::mt19937_64 rng{seed};
    m.rows = rows;
    m.cols = 1;
    m.feature_names = {"noise"};
    for (size_t r = 0; r < rows; ++r) {
      m.values.push_back(static_cast<float>(rng() % levels));
      m.labels.push_back(static_cast<float>(rng() % 2));
    }
  }
};

} // namespace troupe::tabular::test
