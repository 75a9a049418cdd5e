#pragma once

// Estimators: the model families other than the XGBoost booster (linear
// and logistic models, k-nearest neighbours, XGBoost random forests, LibTorch
// MLPs), each one model that trains in steps of its natural fidelity on an
// encoded matrix, scores rows, and saves itself as bytes. A family registers
// itself in the estimator registry by name; estimator_trainable
// (estimator_trainable.cpp) turns any of them into a trainable (folds, the
// feature pipeline, reports), and saved models and servables load members
// of any registered family from their bytes. Plain C++, no CAF actors.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/tabular/dataset.hpp"
#include "actors/tabular/params.hpp"

namespace troupe::models {

/// What an estimator is built for. The matrices it sees have passed the
/// feature pipeline (actors/tabular/pipeline.hpp): for every family but
/// those that take missing values (`takes_nan`), no NaN is left in them.
struct estimator_context {
  tabular::task_kind task = tabular::task_kind::regression;
  /// Classes of a classification task (2 for binary); 0 for regression.
  size_t classes = 0;
  /// The slot's threads.
  size_t threads = 1;
  uint64_t seed = 0;
  /// One XGBoost feature type per input column ("q" or "c"), for families
  /// that split categories natively; empty: all numeric.
  std::vector<std::string> feature_types;
};

/// The number of scores per row a task gives: 1 for binary (P(class 1)) and
/// regression (the value), the number of classes for multiclass.
size_t score_width(const estimator_context& ctx);

/// One model of a family, trained step by step.
class estimator {
public:
  virtual ~estimator();

  /// Trains one more step (an epoch, a batch of trees) on `train`, which is
  /// the same matrix (features and labels) at every call of one estimator:
  /// the first call may precompute what it needs from it. It uses at most
  /// ctx.threads threads.
  virtual caf::error fit_step(const tabular::matrix& train) = 0;

  /// Steps trained so far.
  virtual uint64_t steps() const = 0;

  /// The scores of every row of `m` as metrics take them: rows x
  /// score_width(ctx) floats, row-major (P(class 1); class probabilities
  /// summing to 1; values). Errors: a column count that differs from the
  /// training matrix's.
  virtual caf::expected<std::vector<float>>
  predict(const tabular::matrix& m) const = 0;

  /// The model (with its step count) as bytes in its family's format;
  /// the family's `load` reads it back into an estimator that predicts the
  /// same scores and can train on.
  virtual caf::expected<std::vector<uint8_t>> save() const = 0;
};

/// A model family built from estimators.
struct estimator_family {
  /// Its name in configurations, model.json and `--families`.
  std::string name;
  /// Its steps at a study's full budget (max_resource maps to this many
  /// steps; smaller budgets to proportionally fewer, at least 1).
  uint64_t max_steps = 1;
  /// Whether it takes NaN cells itself (the pipeline may then leave them).
  bool takes_nan = false;
  /// Whether it splits categorical columns natively (feature_types "c").
  bool native_categorical = false;
  /// A fresh estimator for a configuration of the family's own parameters
  /// (names without the "family." prefix). Errors name a bad parameter.
  std::function<caf::expected<std::unique_ptr<estimator>>(
      const tabular::config& cfg, const estimator_context& ctx)>
      make;
  /// An estimator from save()'s bytes. Errors name what is wrong in them.
  std::function<caf::expected<std::unique_ptr<estimator>>(
      const std::vector<uint8_t>& bytes, const estimator_context& ctx)>
      load;
};

/// Adds a family to the process-wide registry (a later family registers
/// itself beside the built-ins); an error if the name is taken.
caf::error register_estimator_family(estimator_family family);

/// The family named `name`, or an error listing the known ones. The
/// built-ins (linear, knn, rf, and mlp where LibTorch is present) are
/// registered at first use.
caf::expected<const estimator_family*>
find_estimator_family(const std::string& name);

/// The registered estimator families' names, sorted.
std::vector<std::string> estimator_families();

/// The steps of `family` that a study budget of `resource` (of
/// `max_resource`) buys: ceil(resource * max_steps / max_resource), at least
/// 1 and at most max_steps.
uint64_t family_steps(const estimator_family& family, uint64_t resource,
                      uint64_t max_resource);

} // namespace troupe::models
