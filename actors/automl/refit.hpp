#pragma once

// The end of a study: the best configuration refitted on all the training
// data, saved with its preprocessing, scored on the test file, and the JSON
// summary. Runs on a detached thread of the study actor.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/automl/study.hpp"

namespace troupe::automl {

/// What the refit produced.
struct refit_result {
  std::string model_dir;            ///< OUT/STUDY/best ("" for no model)
  std::optional<double> test_score; ///< when the spec has a test file
  /// The ensemble selection (members, weights, out-of-fold scores), as the
  /// summary's "ensemble"; null when the study selects none.
  nlohmann::json ensemble;
  /// What the study's warm start seeded, as the summary's "warm_start";
  /// null when it had none.
  nlohmann::json warm_start;
};

/// A trial the refit may put into the ensemble: its configuration, the
/// step its out-of-fold predictions were taken at (the rounds it is refit
/// with) and those predictions.
struct refit_candidate {
  trial_id trial = 0;
  config params;
  uint64_t rounds = 0;
  double cv_score = 0;
  std::vector<float> oof;
};

/// Refits `params` for `rounds` steps on all of spec.data_path, saves the
/// model to `out_dir`/best and scores it on spec.test_path if given.
/// With spec.ensemble > 1 and two or more `candidates` (best first), it
/// selects an ensemble from their out-of-fold predictions
/// (models/ensemble.hpp); when the ensemble scores better out of fold than
/// the best candidate alone, its members are refit and saved as the model
/// instead. Families without a model (quadratic) return an empty result.
caf::expected<refit_result>
refit_best(const study_spec& spec, const config& params, uint64_t rounds,
           double cv_score, trial_id trial, const std::string& out_dir,
           size_t threads, const std::vector<refit_candidate>& candidates = {});

/// The summary of a finished study (written to OUT/STUDY/summary.json):
/// spec, counts, the best trial (config, rounds, CV score), the test score,
/// the model directory and the top of the leaderboard; "objectives" (the
/// metric, then the secondary ones) and, for a multi-objective study,
/// "pareto_front" (each member's objectives by name; null otherwise), each
/// leaderboard row's "objectives", and the refitted trial (the front's best
/// metric) as "best" with "chosen_by".
nlohmann::json study_summary(const study_core& core, const refit_result& r,
                             int64_t elapsed_ms, const std::string& error);

} // namespace troupe::automl
