#pragma once

// Stacking (Wolpert, 1992; the "stacked ensembles" of H2O and AutoGluon): a
// linear meta-model learns how to combine the members' scores from their
// out-of-fold predictions, where Caruana's selection (ensemble.hpp) only
// weights an average. The meta-model is the `linear` estimator family
// (linear_family.cpp) with a ridge penalty, on one feature per member and
// score: the logit of P(class 1) for binary tasks, the log of each class
// probability for multiclass (softmax over them: a learned log-linear
// pool), the value for regression. Its own score is cross-fitted: each fold
// of the out-of-fold rows is predicted by a stacker fitted on the others,
// so it is compared with the best single trial and with Caruana's ensemble
// on rows none of its fits saw. Plain C++, no CAF actors.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/models/ensemble.hpp"
#include "actors/models/estimator.hpp"
#include "actors/tabular/dataset.hpp"

namespace troupe::models {

/// The stacker's estimator family, written in model.json.
inline constexpr const char* stacker_family = "linear";

struct stacking_choice;

/// A fitted meta-model over a fixed list of members, in their order.
class stacker {
public:
  /// Fits a stacker with ridge penalty `alpha` on the members' scores
  /// `scores` (each rows x score width, as metrics take them; every value
  /// finite) and labels `y`. Errors: no members, scores of another length
  /// than y x width.
  static caf::expected<stacker>
  fit(const std::vector<std::vector<float>>& scores,
      const std::vector<float>& y, tabular::task_kind task, size_t classes,
      double alpha, uint64_t seed);

  /// A stacker from save()'s bytes, over `members` members.
  static caf::expected<stacker> load(const std::vector<uint8_t>& bytes,
                                     tabular::task_kind task, size_t classes,
                                     size_t members);

  /// The combined scores of the members' scores `each` (in the members'
  /// order, each rows x width): rows x width, as metrics take them. Errors:
  /// another number of members than the stacker's, unequal lengths.
  caf::expected<std::vector<float>>
  combine(const std::vector<std::vector<float>>& each) const;

  caf::expected<std::vector<uint8_t>> save() const { return model_->save(); }

  size_t members() const { return members_; }

private:
  friend caf::expected<stacking_choice>
  select_stacker(const std::vector<ensemble_candidate>&,
                 const std::vector<float>&, const std::string&,
                 tabular::task_kind, size_t, uint64_t, size_t);

  stacker(std::shared_ptr<const estimator> m, estimator_context ctx,
          size_t members)
      : model_(std::move(m)), ctx_(std::move(ctx)), members_(members) {}

  std::shared_ptr<const estimator> model_;
  estimator_context ctx_;
  size_t members_ = 0;
};

/// What stacking selection chose.
struct stacking_choice {
  /// Fitted on every scored row with the chosen penalty.
  std::shared_ptr<const stacker> model;
  double alpha = 0;
  /// The metric of the cross-fitted stacker on the scored rows.
  double score = 0;
  /// Rows scored: those every candidate predicts, an even sample of them
  /// past max_stacking_rows.
  size_t rows = 0;
};

/// The most rows the stacker is fitted and scored on.
inline constexpr size_t max_stacking_rows = 20000;

/// Fits stackers over every one of `candidates` (in their order) with a
/// few ridge penalties, cross-fitted over `folds` folds of the rows every
/// candidate predicts, and keeps the penalty whose cross-fitted score is
/// best under `metric`. Errors: fewer than two candidates, those of
/// select_ensemble's inputs, an unknown metric.
caf::expected<stacking_choice>
select_stacker(const std::vector<ensemble_candidate>& candidates,
               const std::vector<float>& y, const std::string& metric,
               tabular::task_kind task, size_t classes, uint64_t seed,
               size_t folds = 5);

/// The ensemble's scores from its members' scores: the stacker's when there
/// is one, weighted_average's otherwise. Every prediction path (saved
/// models, servables) combines members with it.
caf::expected<std::vector<float>>
combine_members(const std::vector<std::vector<float>>& each,
                const std::vector<double>& weights, const stacker* stack);

} // namespace troupe::models
