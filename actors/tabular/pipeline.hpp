#pragma once

// Feature engineering as part of the search: the steps between the
// preprocessor's encoded matrix (numeric values, categorical ordinal codes,
// NaN = missing) and a model family, each chosen by a configuration:
//
//   fe.impute     none | mean | median | most_frequent (numeric columns;
//                 a categorical column's missing cells become a level of
//                 their own: code m after the m levels for ordinal, a
//                 column for one-hot, a level for target; native leaves
//                 them NaN)
//   fe.encoding   native | ordinal | onehot | target  (categorical columns;
//                 target: the mean label per level, smoothed toward the
//                 global mean; on the training rows it is computed out of
//                 fold, so that a row's own label never encodes it, and
//                 smoothed toward the mean of all training rows, the same
//                 constant for every row)
//   fe.scaling    none | standard | minmax | quantile (numeric columns)
//   fe.transform  none | log (sign(x) * log1p(|x|) on numeric columns whose
//                 training skewness |skew| > 1)
//   fe.crosses    k in 0..8: pairwise products and ratios of the k numeric
//                 columns most informative about the label
//   fe.select     fraction in (0, 1]: the share of columns kept, ranked by
//                 their information about the label
//
// Numeric cells go through log, imputation, then scaling; crosses are
// computed from the logged, imputed values and scaled like numeric columns;
// a target encoding has 1 column (binary: P(class 1); regression: the mean)
// or one per class (multiclass), m-estimate smoothed with weight 10, and a
// level not seen in training gets the training prior. Output columns, in
// order: each input column's (numeric: 1 "name"; categorical: native and
// ordinal 1 "name", one-hot one "name=category" per level seen in training,
// "name=<missing>" included, target "name" or "name[class]"), then the
// crosses "a*b" and "a/b"; selection keeps some of them in that order.
// Information about the label is r^2 for regression and the correlation
// ratio eta^2 for classification, over the rows where a column is not NaN.
//
// A pipeline is fitted on a training matrix (with labels) and then replays
// exactly on any matrix the same preprocessor encoded: at trial time, at
// refit, in `troupe predict` and in `troupe serve`. Each row is transformed
// on its own, so one row alone gives the same bits as in a batch. It
// travels with a saved model as JSON ("troupe.pipeline", version 1, with
// every fitted statistic). Plain C++, no CAF actors; errors are
// caf::expected values naming the parameter and the value. A fitted
// pipeline is immutable: copies share it and threads may transform at once.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/tabular/dataset.hpp"
#include "actors/tabular/params.hpp"

namespace troupe::tabular {

namespace fe {
struct fitted;
} // namespace fe

/// The pipeline's choices (see the list above).
struct pipeline_options {
  std::string impute = "none";
  std::string encoding = "native";
  std::string scaling = "none";
  std::string transform = "none";
  uint32_t crosses = 0;
  double select = 1.0;
  /// One-hot encoding gives a column more levels than this one ordinal
  /// column instead.
  uint32_t max_onehot_levels = 32;
  /// Folds of the out-of-fold target encoding on training rows.
  uint32_t target_folds = 5;

  /// The options a configuration chooses: its "fe.*" keys (others are
  /// ignored), defaults for keys it lacks. Errors name the key and value.
  static caf::expected<pipeline_options> from_config(const config& cfg);
};

/// A fitted feature pipeline.
class feature_pipeline {
public:
  /// The identity pipeline (passes matrices through).
  feature_pipeline() = default;

  /// Fits the pipeline on `train` (which has labels; `prep` encoded it and
  /// gives each column's kind) and returns it with `train` transformed:
  /// target encodings of the training rows out of fold (seeded by `seed`).
  /// `classes`: 2 for binary, the classes for multiclass (labels are class
  /// indices), ignored for regression. Errors: options out of range (naming
  /// the fe.* key), a column count other than prep's, labels missing, not
  /// finite or no class index.
  static caf::expected<std::pair<feature_pipeline, matrix>>
  fit_transform(const matrix& train, const preprocessor& prep, task_kind task,
                size_t classes, const pipeline_options& opts, uint64_t seed);

  /// `m` (encoded by the same preprocessor) transformed as the fitted
  /// pipeline transforms new rows. Labels are kept. Errors: a column count
  /// that differs from the one fitted on.
  caf::expected<matrix> transform(const matrix& m) const;

  /// The serving path: `rows` x `cols` row-major values (NaN = missing)
  /// transformed into `out`, which holds rows x output_cols() values (rows
  /// x cols for the default identity pipeline, which copies). The same bits
  /// as transform, without a matrix or its names. Errors: `cols` other than
  /// the count fitted on.
  caf::error transform_into(const float* in, size_t rows, size_t cols,
                            float* out) const;

  /// Output columns; 0 for the default identity pipeline (which passes any
  /// width through).
  size_t output_cols() const { return types_.size(); }

  /// Each output column's XGBoost feature type: "c" for a categorical
  /// column left native, "q" otherwise.
  const std::vector<std::string>& feature_types() const { return types_; }

  /// Each output column's name (as transform's matrices carry them); empty
  /// for the default identity pipeline.
  const std::vector<std::string>& feature_names() const { return names_; }

  /// Whether the pipeline changes nothing: the default one, or one fitted
  /// with options that leave every column as it is (native, no imputation,
  /// scaling, transform, crosses or selection).
  bool identity() const { return identity_; }

  /// The JSON form, and back (errors name the bad field).
  nlohmann::json to_json() const;
  static caf::expected<feature_pipeline> from_json(const nlohmann::json& j);

private:
  explicit feature_pipeline(std::shared_ptr<const fe::fitted> steps);

  /// The fitted steps (pipeline_steps.hpp); null for the identity pipeline
  /// made by the default constructor. Immutable once fitted, so copies
  /// share it and threads may transform at once.
  std::shared_ptr<const fe::fitted> steps_;
  bool identity_ = true;
  std::vector<std::string> types_;
  std::vector<std::string> names_;
};

} // namespace troupe::tabular
