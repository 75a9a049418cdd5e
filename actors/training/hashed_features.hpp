#pragma once

// Prophet's feature extraction for sparse models: every column becomes
// hashed keys, so a model over billions of features is a sparse table
// (sparse_table.hpp) and new values need no refit.
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

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/tabular/csv.hpp"
#include "actors/training/sparse_lr.hpp"

namespace troupe::training {

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

  /// The keys of one row given as cells by column (missing: "").
  std::vector<uint64_t> keys(const std::vector<std::string>& cells) const;

  const std::vector<column_spec>& columns() const { return columns_; }
  const std::string& target() const { return target_; }
  /// The label text read as 1.
  const std::string& positive() const { return positive_; }

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

} // namespace troupe::training
