#pragma once

// A trainable: one model configuration training on one dataset in steps of
// its natural budget (boosting rounds, epochs), reporting the validation
// metric as it goes, and able to save and restore its state so a paused or
// re-queued trial continues where it stopped. Model families implement it;
// a trial runner drives it on a detached thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/tabular/dataset.hpp"
#include "actors/tabular/params.hpp"
#include "actors/tabular/pipeline.hpp"

namespace troupe::models {

// The tabular vocabulary models are trained on.
using tabular::config;
using tabular::dataset;
using tabular::matrix;
using tabular::param_value;
using tabular::task_kind;
using tabular::to_string;

/// How a trial validates its model.
struct validation {
  /// 0 or 1: holdout with `holdout_fraction` of the rows; >= 2: k-fold, the
  /// metric averaged over the folds.
  size_t folds = 0;
  double holdout_fraction = 0.25;
  uint64_t seed = 0;
};

/// Called after each evaluated step with (step, metric value); returning
/// false stops training there (the scheduler paused or pruned the trial, or
/// the study was stopped).
using report_fn = std::function<bool(uint64_t step, double value)>;

class trainable {
public:
  virtual ~trainable();

  /// Trains from the steps already done up to `budget` steps, evaluating
  /// every `every` steps and at the end. Returns the last metric value.
  virtual caf::expected<double> train_to(uint64_t budget, uint64_t every,
                                         const report_fn& report) = 0;

  /// Steps trained so far.
  virtual uint64_t steps() const = 0;

  /// The state to continue from, as bytes.
  virtual caf::expected<std::vector<uint8_t>> checkpoint() const = 0;

  /// Continues from a checkpoint of the same configuration and data.
  virtual caf::expected<void> restore(const std::vector<uint8_t>& bytes) = 0;

  /// Out-of-fold predictions of the model as it was after `step` steps
  /// (<= steps()): rows x groups floats in the data's row order, each row
  /// predicted by the fold model that did not train on it, as the metric
  /// takes them (P(y=1), class probabilities, values); NaN for rows that no
  /// fold validates (a holdout's training rows). Ensembles are selected from
  /// them. Families without data: an error (the default).
  virtual caf::expected<std::vector<float>> out_of_fold(uint64_t step) const;

  /// A secondary objective of a multi-objective study, measured on the
  /// model as it was after `step` steps (<= steps()); smaller is better:
  /// - "latency": microseconds per row to predict the validation rows (the
  ///   median of a few timings, one thread as trained);
  /// - "model-size": bytes of the serialized model (the mean over the
  ///   folds' models).
  /// Families that cannot measure `name`: an error naming it (the default).
  virtual caf::expected<double> objective(const std::string& name,
                                          uint64_t step) const;
};

/// What a model family needs to build trainables.
struct train_context {
  const dataset* data = nullptr; ///< must outlive the trainable
  std::string metric;            ///< see metrics.hpp
  validation valid;
  size_t threads = 1; ///< the slot's size
  /// The study's full budget in steps: estimator families map a budget of
  /// it to their own steps (family_steps); 0: budgets are their own steps.
  uint64_t max_resource = 0;
  /// Checked before every step: once true, train_to returns at once (a stop
  /// or pause message reached the trial's runner).
  const std::atomic<bool>* cancel = nullptr;
};

/// Builds the XGBoost trainable for `cfg` (parameters of the "xgboost"
/// search space). Errors name a bad parameter value.
caf::expected<std::unique_ptr<trainable>>
make_xgboost_trainable(const train_context& ctx, const config& cfg);

/// The row splits a trial validates on: `valid.folds` >= 2 k-fold splits,
/// else one seeded holdout split (both stratified for classification).
caf::expected<std::vector<tabular::split_indices>>
validation_splits(const dataset& data, const validation& valid);

struct estimator_family;

/// Builds the trainable of an estimator family (estimator.hpp) for its own
/// parameters `params` behind a feature pipeline of options `fe`
/// (pipeline_for adapts them to the family). Errors name a bad parameter.
caf::expected<std::unique_ptr<trainable>> make_estimator_trainable(
    const train_context& ctx, const estimator_family& family,
    const tabular::config& params, const tabular::pipeline_options& fe);

/// XGBoost parameters for a configuration and task (objective, num_class,
/// nthread, tree_method, seed and every tuned parameter), as name/value text.
caf::expected<std::vector<std::pair<std::string, std::string>>>
xgboost_params(const config& cfg, task_kind task, size_t classes,
               size_t threads, uint64_t seed);

} // namespace troupe::models
