#pragma once

// Ensemble selection (Caruana et al., 2004, as auto-sklearn builds its
// ensembles): from the out-of-fold predictions of candidate models, start
// with the best one and greedily add, with replacement, the model whose
// addition makes the averaged predictions score best, for a number of
// rounds; the ensemble is the round that scored best, each model weighted
// by how often it was picked. Averaging out-of-fold predictions scores the
// ensemble on rows no member trained on, so a model that was only lucky on
// its folds gains little weight: selection does not reward noise the way
// picking the single best CV score does. Plain C++, no CAF actors.

#include <cstddef>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::models {

/// One candidate: its out-of-fold predictions, rows x groups floats as the
/// metric takes them (P(y=1) for binary, class probabilities for
/// multiclass, values for regression); NaN marks a row it has no
/// prediction for (a holdout's training rows).
struct ensemble_candidate {
  std::vector<float> oof;
};

/// What selection chose.
struct ensemble_choice {
  /// Per candidate, its weight (picks / picks in all); they sum to 1.
  std::vector<double> weights;
  /// The metric of the weighted average on the rows every candidate
  /// predicts, and of the best single candidate on the same rows.
  double score = 0;
  double best_single = 0;
  size_t best_index = 0;
  /// Rounds run, and the round whose ensemble was kept.
  size_t rounds = 0;
  size_t kept_round = 0;
  /// Rows scored: those every candidate predicts, every k-th of them past
  /// max_selection_rows.
  size_t rows = 0;
};

/// The ensemble's scores: per value, the sum over members in order of
/// weight x score, in double, rounded to float once; a single member's
/// scores as they are. Every prediction path (saved models, servables)
/// combines members with it, so that they agree bit for bit.
std::vector<float>
weighted_average(const std::vector<std::vector<float>>& scores,
                 const std::vector<double>& weights);

/// The rows (of `n`) that every one of `scores` predicts (each n x groups
/// values, NaN where it has none), ascending; past `cap` rows, an even
/// sample of them (every k-th). Selection and stacking score on these.
std::vector<size_t> rows_every_candidate_predicts(
    const std::vector<const std::vector<float>*>& scores, size_t n,
    size_t groups, size_t cap);

/// The most rows selection scores: each round evaluates the metric once per
/// candidate, so larger data is scored on an even sample of its rows.
inline constexpr size_t max_selection_rows = 200000;

/// Selects an ensemble of `candidates` for labels `y` under metric `metric`
/// (see tabular/metrics.hpp; `classes` 0 for regression, 2 for binary).
/// Errors: no candidates, predictions of another length than y x groups,
/// no row that every candidate predicts, an unknown metric.
caf::expected<ensemble_choice>
select_ensemble(const std::vector<ensemble_candidate>& candidates,
                const std::vector<float>& y, const std::string& metric,
                size_t classes, size_t rounds = 50);

} // namespace troupe::models
