#pragma once

// What defines a study: study_spec, its Cap'n Proto form (schema::StudySpec,
// which the journal stores and the service receives) and its checks. Plain
// C++ and Cap'n Proto, no CAF actors.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/dataset_store.hpp"
#include "runtime/envelope.hpp"

namespace troupe::automl {

/// Everything that defines a study (the C++ form of schema::StudySpec).
struct study_spec {
  std::string id;
  /// Model family: "xgboost", or the synthetic "quadratic" (tests, benches).
  std::string family = "xgboost";
  std::string data_path;
  std::string target;
  std::string test_path;
  /// The training and test CSVs by content, uploaded to the head's dataset
  /// cache (runtime/dataset_cache.hpp); an empty hash: read the path where
  /// the study runs (one machine, or a shared file system).
  dataset_ref data;
  dataset_ref test;
  /// "" until the data is read: then binary | multiclass | regression.
  std::string task;
  std::string metric;
  bool maximize = false;
  /// Secondary objectives of a multi-objective study, after the metric, each
  /// minimized: "latency" (microseconds per row to predict the validation
  /// rows) or "model-size" (bytes of the serialized model). Empty: the
  /// study has one objective, the metric. Stored as the StudySpec option
  /// "objectives" ("latency,model-size").
  std::vector<std::string> objectives;
  std::string sampler = "tpe";
  std::string scheduler = "asha";
  uint64_t budget_ms = 0;  ///< wall-clock budget, 0 = none
  uint64_t max_trials = 0; ///< trial budget, 0 = none
  uint64_t seed = 0;
  /// The user's space file text (JSON or TOML, see space_format); empty:
  /// the family's default space.
  std::string space;
  std::string space_format = "json";
  int64_t created_ms = 0;
  /// Validation: 0/1 holdout, >= 2 k-fold.
  uint32_t folds = 3;
  /// Fidelity: steps (boosting rounds) of a full trial, the smallest rung,
  /// the reduction factor and the report interval.
  uint64_t max_resource = 729;
  uint64_t min_resource = 9;
  uint64_t eta = 3;
  uint64_t every = 9;
  /// Early stopping inside a trial: it ends, keeping its best step, once
  /// its validation metric has not improved for this many steps (checked
  /// at its reports); 0 = never. A full trial's rounds then adapt to its
  /// learning rate instead of stopping at max_resource's cap.
  uint64_t patience = 45;
  /// Ensemble selection over the out-of-fold predictions of this many of
  /// the best trials (Caruana's, with replacement); 0 or 1: the single best
  /// trial is the model.
  uint32_t ensemble = 20;
  /// How the ensemble is built from those trials: "caruana" (greedy
  /// selection, a weighted average), or "stacking" (a linear meta-model over
  /// them, models/stacking.hpp, kept when it scores better out of fold than
  /// Caruana's ensemble and the best single trial).
  std::string ensemble_method = "caruana";
  /// Warm start: a new study seeds its first trials with the best
  /// configurations of past studies in the journal (warm_start.hpp), of its
  /// parents first.
  bool warm_start = true;
  /// The studies whose data this study's data derives from ("a,b": merged
  /// or subsampled from them).
  std::string derived_from;
  /// Threads per slot.
  uint32_t threads = 1;
  /// Where the best model and the summary go ("" = the service's data
  /// directory / studies / id).
  std::string out_dir;
  /// Synthetic families: milliseconds each step sleeps.
  double sleep_ms = 0;
  /// Fair-share weight (kept so a resumed study keeps it).
  double weight = 1;
  /// Priority among the cluster's consumers of slots (higher first), and
  /// whether higher-priority work may take its slots back (its trials are
  /// then re-queued).
  int priority = 0;
  bool preemptible = false;
  /// Trials run as training jobs (actors/training/job.hpp) on a gang of
  /// slots: a study of the "sparse-lr" family (the parameter server's
  /// workers, plus one shard), or of "mlp" with workers_per_trial >= 2
  /// (data-parallel LibTorch workers). 0: the family's default (sparse-lr
  /// 1; mlp 1, one slot, no job). Stored as the option
  /// "workers_per_trial".
  uint32_t workers_per_trial = 0;
  /// A study of mlp trials run as jobs may train on Fashion-MNIST instead
  /// of a CSV: the directory of its IDX files (as the submitter names it;
  /// the option "images"), and those files by content in the head's cache
  /// (StudySpec.files; empty: read where the jobs run).
  std::string images;
  std::vector<std::pair<std::string, dataset_ref>> files;
};

/// The job family a study's trials run as ("sparse-lr", "mlp"), or "" when
/// each trial trains in its runner on one slot.
std::string trial_job_family(const study_spec& s);

/// Slots in each trial's gang: 1, or a job trial's workers (and a
/// sparse-lr job's one shard).
uint32_t trial_gang_size(const study_spec& s);

/// The secondary objectives a study may have, in their CLI spelling.
const std::vector<std::string>& secondary_objectives();

/// Whether a study has more than one objective.
inline bool multi_objective(const study_spec& s) {
  return !s.objectives.empty();
}

/// Every objective of a study: the metric, then the secondary ones.
std::vector<std::string> objective_names(const study_spec& s);

/// Sets the metric and the secondary objectives of `s` from a list like
/// "auc,latency" (`--objectives`): the first must be a metric, the rest
/// secondary objectives; errors name an unknown or a repeated objective.
/// Whether the task can have the metric is checked where the data is read.
caf::error set_objectives(study_spec& s, const std::string& list);

/// The StudySpec envelope of a spec, and back (errors name the field).
envelope to_envelope(const study_spec& spec);
caf::expected<study_spec> spec_from(const envelope& env);

/// Checks a spec: names, metric, sampler, scheduler, budgets. The error
/// names the field and the value.
caf::error validate(const study_spec& spec);

} // namespace troupe::automl
