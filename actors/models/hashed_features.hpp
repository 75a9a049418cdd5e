#pragma once

// Prophet's feature extraction for sparse models: every column becomes
// hashed keys, so a model over billions of features is a sparse table
// (training/sparse_table.hpp) and new values need no refit. A shared layer:
// training jobs hash with it, and serving replays it (sparse_model.hpp).
//
// - A categorical column: one key per value ("column=value").
// - A text column (a categorical column whose cells hold several words on
//   average): one key per lower-cased alphanumeric token.
// - A numeric column: one key per quantile bucket; the cut points are
//   learnt when fitting (at most `buckets` buckets, fewer for columns with
//   few distinct values).
// - A missing cell: the column's own "missing" key.
// - Crosses of column pairs: one key per pair of their keys (text columns
//   are not crossed).
// Keys lie in [1, 2^bits): 0 is the bias (sparse_lr.hpp). The fitted
// transform is saved as JSON and replayed row by row at serving, so that
// training and serving hash alike.

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/tabular/csv.hpp"

namespace troupe::models {

/// The key every row carries: the model's bias.
inline constexpr uint64_t bias_key = 0;

/// One example: the keys of its active features (each with value 1; a key
/// may repeat, adding up) and its label, 0 or 1.
struct sparse_row {
  std::vector<uint64_t> keys;
  float label = 0;
};

/// P(label = 1) of a row whose keys weigh `weight(key)` (0 for unknown
/// keys): the sigmoid of the bias and the row's keys.
template <class Weight>
float predict_with(const sparse_row& row, Weight&& weight) {
  double margin = weight(bias_key);
  for (auto k : row.keys)
    margin += weight(k);
  return static_cast<float>(margin >= 0
                                ? 1 / (1 + std::exp(-margin))
                                : std::exp(margin) / (1 + std::exp(margin)));
}

struct hashing_options {
  /// The key space is 2^bits (1..64).
  uint32_t bits = 24;
  /// At most this many quantile buckets per numeric column (2..1024).
  uint32_t buckets = 16;
  /// Column pairs to cross, by name.
  std::vector<std::pair<std::string, std::string>> crosses;
  /// A categorical column is text when its cells hold at least this many
  /// tokens on average.
  double text_tokens = 3;
};

class hashed_transform {
public:
  /// One input column and how it is hashed.
  struct column_spec {
    std::string name;
    enum class hashing { categorical, text, numeric };
    hashing how = hashing::categorical;
    /// numeric: ascending cut points (bucket = how many are <= the value)
    std::vector<double> cuts;
  };

  /// Learns the columns (all but `target`) of `t`, and the label's classes:
  /// the target must be binary (two distinct values: numbers 0/1, or two
  /// categories, the larger bytewise being positive). Errors name the
  /// option, column or cross that is wrong.
  static caf::expected<hashed_transform> fit(const tabular::table& t,
                                             const std::string& target,
                                             const hashing_options& options);

  /// The rows of `t` as keys and labels (label 0 where `t` has no target
  /// column, or its cell is missing: such rows are dropped when
  /// `labeled`). Errors name a missing input column.
  caf::expected<std::vector<sparse_row>> transform(const tabular::table& t,
                                                   bool labeled = true) const;

  /// The rows of the CSV file at `path`, hashed as its records stream by
  /// (cells seen as read_csv keeps them) so that only their keys are held:
  /// for files too large to read as a table. As transform, a row whose
  /// target cell is missing is dropped; a target that is neither class of
  /// the fit is an error naming the file and line.
  caf::expected<std::vector<sparse_row>>
  transform_file(const std::string& path) const;

  /// The keys of one row given as cells by column (missing: "").
  std::vector<uint64_t> keys(const std::vector<std::string>& cells) const;

  /// The same keys grouped by input column: out[c] holds column c's keys
  /// and those of the crosses whose first column is c (the bias is not
  /// among them). For serving, which sums each column's weights.
  void column_keys(const std::vector<std::string>& cells,
                   std::vector<std::vector<uint64_t>>& out) const;

  const std::vector<column_spec>& columns() const { return columns_; }
  const std::string& target() const { return target_; }
  /// The label text read as 1.
  const std::string& positive() const { return positive_; }
  /// The label text read as 0.
  const std::string& negative() const { return negative_; }

  nlohmann::json to_json() const;
  static caf::expected<hashed_transform> from_json(const nlohmann::json& j);

private:
  /// Each column's token for a cell (numeric: its bucket), before hashing;
  /// text columns give several.
  void tokens(size_t col, const std::string& cell,
              std::vector<std::string>& out) const;
  uint64_t key_of(const std::string& piece) const;

  std::vector<column_spec> columns_;
  std::vector<std::pair<size_t, size_t>> crosses_;
  std::string target_;
  std::string positive_, negative_;
  uint32_t bits_ = 24;
};

} // namespace troupe::models
