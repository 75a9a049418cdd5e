#pragma once

// Warm starts from the organisation's own past studies. A finished study
// records in the journal (study_journal::record_meta) its dataset's
// meta-features and its best configurations; a new study of the same family
// and task seeds its first trials with the best configurations of the past
// studies nearest to its dataset in meta-feature space, and first of all
// with those of the studies it names as its parents (--derived-from: a
// merge or a subsample of earlier data). Plain C++, no CAF actors.

#include <cstddef>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/automl/journal.hpp"
#include "actors/automl/study_spec.hpp"
#include "actors/tabular/dataset.hpp"
#include "actors/tabular/params.hpp"

namespace troupe::automl {

/// What describes a dataset for finding similar ones (auto-sklearn's
/// simple meta-features, cheap to compute).
struct meta_features {
  double log_rows = 0;     ///< log10 of the rows
  double log_features = 0; ///< log10 of the feature columns
  double categorical = 0;  ///< share of categorical feature columns
  double missing = 0;      ///< share of missing feature cells
  double minority = 0;     ///< classification: the rarest class's share
  double log_classes = 0;  ///< log10 of the classes (0 for regression)
  double target_skew = 0;  ///< regression: the target's skewness, clipped

  nlohmann::json to_json() const;
  static caf::expected<meta_features> from_json(const nlohmann::json& j);
};

/// The meta-features of a prepared dataset.
meta_features describe_dataset(const tabular::dataset& d);

/// Distance between two datasets' meta-features (Euclidean over the
/// features, each on a scale where 1 is a large difference).
double meta_distance(const meta_features& a, const meta_features& b);

/// What a finished study leaves for later ones.
struct study_record {
  std::string study;
  std::string family;
  std::string task;
  std::string metric;
  bool maximize = false;
  std::vector<std::string> derived_from;
  meta_features features;
  /// Its best configurations, best first, with their CV scores.
  std::vector<std::pair<tabular::config, double>> best;

  nlohmann::json to_json() const;
  static caf::expected<study_record> from_json(const nlohmann::json& j);
};

/// Where seeds come from, for logs and the summary.
struct seed {
  tabular::config params;
  std::string from; ///< the past study
  double distance = 0;
};

/// How many configurations a warm start seeds: as many as TPE draws at
/// random before it models (tpe_options::n_startup_trials), so that past
/// studies' best configurations replace the random initial design, as
/// auto-sklearn's meta-learned initial design replaces SMAC's.
inline constexpr size_t warm_start_seeds = 10;

/// How many best configurations a finished study records.
inline constexpr size_t recorded_best = 10;

/// The configurations a new study of `family` and `task` on a dataset with
/// `features` starts with, at most `limit`: those of the studies in
/// `parents` (by id, any distance) first, then those of the `nearest` past
/// studies closest in meta-feature space (of the same family and task). In
/// each group the studies take turns, best configuration first (a merge of
/// A1 and A2 gets A1's best, A2's best, A1's second, ...), each giving at
/// most `per_study`; duplicates once.
std::vector<seed>
choose_seeds(const std::vector<study_record>& past, const std::string& family,
             const std::string& task, const meta_features& features,
             const std::vector<std::string>& parents, size_t nearest = 3,
             size_t per_study = 3, size_t limit = warm_start_seeds);

/// Parses "a,b" (spaces around names dropped, empty names skipped).
std::vector<std::string> split_names(const std::string& text);

/// The seeds of a new study `spec` from the records in `journal`: reads the
/// study's data (shared_dataset) for its meta-features. Records that do not
/// parse are skipped.
caf::expected<std::vector<seed>> find_seeds(study_journal& journal,
                                            const study_spec& spec);

/// Records a finished study `spec` in `journal`: its data's meta-features
/// and `best` (its best configurations with their CV scores, best first).
caf::error
record_study(study_journal& journal, const study_spec& spec,
             const std::vector<std::pair<tabular::config, double>>& best);

} // namespace troupe::automl
