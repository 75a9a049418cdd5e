#pragma once

// From a table to what a model trains on: the target and the task, features
// encoded as a dense float matrix (NaN = missing, as XGBoost takes it), a
// preprocessor that repeats the encoding on new data and travels with a saved
// model as JSON, and seeded train/test and k-fold splits. Plain C++, no CAF
// actors; errors are caf::expected values.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

#include "actors/tabular/csv.hpp"

namespace troupe::tabular {

/// What a model predicts.
enum class task_kind { binary, multiclass, regression };

/// "binary", "multiclass" or "regression".
std::string to_string(task_kind x);

/// Parses the names that to_string gives.
caf::expected<task_kind> parse_task_kind(const std::string& text);

inline bool is_classification(task_kind x) {
  return x != task_kind::regression;
}

/// Features and labels as the trainer hands them to a model.
struct matrix {
  size_t rows = 0;
  size_t cols = 0;
  /// rows * cols features, row-major; NaN where a value is missing.
  std::vector<float> values;
  /// One label per row: a class index 0..K-1 or a regression value. Empty
  /// for unlabeled data.
  std::vector<float> labels;
  /// cols names, in column order.
  std::vector<std::string> feature_names;

  float at(size_t row, size_t col) const { return values[row * cols + col]; }
  const float* row(size_t r) const { return values.data() + r * cols; }
};

/// The rows `which` of `m` (features and labels), in that order.
matrix take_rows(const matrix& m, const std::vector<size_t>& which);

/// Turns tables into matrices the same way every time: the target column and
/// its classes, and each feature column's encoding.
///
/// - Numeric columns pass through as floats.
/// - Categorical columns become ordinal codes 0..m-1 in the sorted (bytewise)
///   order of the categories seen when fitting; a missing cell, and a
///   category not seen when fitting, become NaN.
/// - A column with no values when fitting is dropped.
/// - Columns are found by name; extra columns are ignored.
class preprocessor {
public:
  /// One feature column and its encoding.
  struct feature {
    std::string name;
    column_kind kind = column_kind::numeric;
    /// Categorical only: the categories, code = index.
    std::vector<std::string> categories;
  };

  /// Learns the target's task and classes and the features' encodings from
  /// `t`. Rows whose target is missing are left out. Task inference, unless
  /// `task` overrides it:
  /// - a categorical target is binary with 2 classes, multiclass with more;
  /// - a numeric target is binary with exactly 2 distinct values, multiclass
  ///   when all values are integers and there are 3 to 20 distinct ones, and
  ///   regression otherwise.
  /// Classes are sorted (numerically for a numeric target, bytewise for
  /// strings) and numbered 0..K-1. Errors: an unknown target (the message
  /// lists the columns), a target with a single value, a task that the target
  /// cannot have. Notes for the user go to `warnings`.
  static caf::expected<preprocessor> fit(const table& t,
                                         const std::string& target,
                                         std::optional<task_kind> task,
                                         std::vector<std::string>& warnings);

  /// Encodes the features of `t`, one matrix row per table row, labels left
  /// empty. Errors name a missing feature column, or a numeric feature's cell
  /// that is not a number (file:line:column). Unseen categories are counted
  /// in `warnings` when it is given.
  caf::expected<matrix>
  transform(const table& t, std::vector<std::string>* warnings = nullptr) const;

  /// Encodes features and labels of `t`, which must hold the target column;
  /// rows whose target is missing are dropped (counted in `warnings`). A class
  /// not seen when fitting is an error.
  caf::expected<matrix>
  transform_labeled(const table& t, std::vector<std::string>& warnings) const;

  /// The JSON form: {"format": "troupe.preprocessor", "version": 1, "target",
  /// "task", "target_numeric", "classes", "features": [{"name", "kind",
  /// "categories"?}]}.
  nlohmann::json to_json() const;
  static caf::expected<preprocessor> from_json(const nlohmann::json& j);

  /// Writes to_json() to a file / reads it back.
  caf::error save(const std::string& path) const;
  static caf::expected<preprocessor> load(const std::string& path);

  const std::string& target() const { return target_; }
  task_kind task() const { return task_; }
  /// Class names, index = label; empty for regression. A numeric target's
  /// classes are written in shortest round-trip form ("1", "2.5").
  const std::vector<std::string>& classes() const { return classes_; }
  const std::vector<feature>& features() const { return features_; }
  std::vector<std::string> feature_names() const;

private:
  /// Builds the category -> code maps from features_.
  void index();
  /// The class index of row `r`'s target, or an error naming the cell.
  caf::expected<float> label_of(const table& t, const column& c, size_t col,
                                size_t r) const;

  std::string target_;
  task_kind task_ = task_kind::regression;
  bool target_numeric_ = true;
  std::vector<std::string> classes_;
  std::vector<double> class_values_; // numeric targets: classes_ as numbers
  std::vector<feature> features_;
  std::vector<std::unordered_map<std::string, float>> codes_;
};

/// A table made ready for training.
struct dataset {
  /// Encoded features with their labels.
  matrix X;
  task_kind task = task_kind::regression;
  /// Class names, index = label; empty for regression.
  std::vector<std::string> classes;
  /// The fitted encoding, to save with the model.
  preprocessor prep;
  /// The table's warnings, then the preprocessor's.
  std::vector<std::string> warnings;
};

/// Fits a preprocessor on `t` and encodes `t` with it (see preprocessor::fit).
caf::expected<dataset> make_dataset(const table& t, const std::string& target,
                                    std::optional<task_kind> task = {});

/// Row indices split in two, each list ascending.
struct split_indices {
  std::vector<size_t> train;
  std::vector<size_t> test;
};

/// A seeded split of labels.size() rows, `test_fraction` of them to test.
/// For classification each class is split on its own (stratified), and a
/// class with at least 2 rows gets at least one on each side. The same seed
/// gives the same split on every platform (mt19937_64, own shuffle).
caf::expected<split_indices> train_test_split(const std::vector<float>& labels,
                                              task_kind task, uint64_t seed,
                                              double test_fraction = 0.25);

/// Seeded k-fold splits: fold i's test rows are disjoint from the other
/// folds' and together they cover every row once; fold sizes differ by at
/// most one. Stratified for classification (rows of each class are dealt to
/// the folds in turn). Error when k < 2 or k > rows.
caf::expected<std::vector<split_indices>>
k_fold(const std::vector<float>& labels, task_kind task, size_t k,
       uint64_t seed);

} // namespace troupe::tabular
