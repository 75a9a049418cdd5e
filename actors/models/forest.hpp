#pragma once

// An XGBoost tree ensemble compiled for prediction on the CPU, as Triton's
// FIL backend and Treelite do: the trees of a gbtree model, read from its
// JSON form, laid out as flat node arrays (a node's children side by side)
// and walked without the C API's per-call costs (XGBoost parses two JSON
// documents and allocates on every in-place prediction, about 8 us of a
// 1-row call of a 100-tree model against about 1.5 us of tree walking).
//
// It reproduces XGBoost's arithmetic: per row, a float sum that starts from
// the base margin and adds each tree's leaf in tree order, a feature that is
// NaN takes its node's default branch, a value goes left when value <
// split; then the objective's transform (sigmoid, softmax, exp or none).
// A categorical split (XGBoost's native categorical support) sends a
// category in its set right and every other value left, a negative one or
// one past the set's range included, as XGBoost's Decision does.
// Plain C++, no CAF actors, no XGBoost calls.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::models {

/// XGBoost's JSON model text made valid JSON: XGBoost writes the bare
/// literals NaN, Infinity and -Infinity (a categorical split's condition is
/// NaN), which JSON has none of; outside strings they become null.
std::string valid_model_json(std::string_view model_json);

/// A compiled gbtree model. Supports numeric and categorical splits, scalar
/// leaves, and the objectives whose margin and transform it knows:
/// reg:squarederror, reg:linear, reg:squaredlogerror, reg:pseudohubererror,
/// reg:absoluteerror, binary:logitraw (none); reg:logistic,
/// binary:logistic (sigmoid, logit base); count:poisson, reg:gamma,
/// reg:tweedie (exp, log base); multi:softprob (softmax). Anything else is
/// refused with the reason, and the caller keeps XGBoost.
class forest {
public:
  /// Compiles the JSON model `model_json` (XGBoosterSaveModelToBuffer with
  /// format json). Errors name what is not supported or not well formed
  /// ("tree 12: node 40's left child 900 is out of range").
  static caf::expected<forest> compile(std::string_view model_json);

  /// Features a row has.
  size_t features() const { return features_; }
  /// Outputs per row: num_class for multi:softprob, 1 otherwise.
  size_t groups() const { return groups_; }
  size_t trees() const { return roots_.size(); }
  /// The objective it was compiled for.
  const std::string& objective() const { return objective_; }

  /// Predicts `rows` rows of features() floats (row-major, NaN = missing)
  /// into `out` (rows x groups() floats): what XGBoost's in-place
  /// prediction with all trees gives.
  void predict(const float* x, size_t rows, float* out) const;

  /// `rows` rows that reach many of its leaves, for checking it against
  /// XGBoost: each value is one of its feature's split thresholds, the
  /// float just below one, or NaN (0 for a feature no split uses); for a
  /// feature of categorical splits, a category of one of its sets, one just
  /// past the largest, -1, or NaN.
  std::vector<float> probe_rows(size_t rows, uint64_t seed) const;

  /// Whether any split is categorical.
  bool has_categorical() const { return !cats_.empty(); }

  /// A flat node. A split's children are nodes_[left] and nodes_[left + 1].
  struct node {
    /// A numeric split's threshold, or a leaf's value; a categorical
    /// split's offset into cats_, as the float's bits.
    float value;
    /// The feature; bit 31: NaN goes left; bit 30: categorical;
    /// leaf_mark: a leaf
    uint32_t feature;
    uint32_t left; ///< the left child, from the root (the right follows)
  };
  static constexpr uint32_t leaf_mark = 0x7fffffffu;
  static constexpr uint32_t default_left_bit = 0x80000000u;
  static constexpr uint32_t categorical_bit = 0x40000000u;
  static constexpr uint32_t feature_mask = 0x3fffffffu;

private:
  enum class transform { none, sigmoid, exp, softmax };

  forest() = default;

  /// Adds every tree's leaf for rows [0, n) of the block at `x` to `acc`.
  template <bool Categorical>
  void accumulate(const float* x, size_t n, float* acc) const;

  /// Whether a categorical split at `offset` into cats_ sends `v` (not NaN)
  /// right: `v` is a category of its set.
  bool in_set(uint32_t offset, float v) const;

  std::vector<node> nodes_;
  std::vector<uint32_t> roots_;     ///< per tree, its root's index in nodes_
  std::vector<uint32_t> groups_of_; ///< per tree, the output it adds to
  std::vector<float> base_;         ///< per output, the starting margin
  /// Categorical splits' sets: at each split's offset, the number of
  /// 32-bit words n, then n words of bits (bit c: category c is in the set).
  std::vector<uint32_t> cats_;
  size_t features_ = 0;
  size_t groups_ = 1;
  transform transform_ = transform::none;
  std::string objective_;
};

} // namespace troupe::models
