#pragma once

// Vocabulary shared by the AutoML pieces: trials and what a search algorithm is
// told about them. Plain C++, no CAF.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "actors/tabular/metrics.hpp"
#include "actors/tabular/params.hpp"

namespace troupe::automl {

// Configurations and their values come from the tabular layer, the metric
// direction from its metrics.
using tabular::config;
using tabular::direction;
using tabular::param_value;
using tabular::to_json;
using tabular::to_string;

/// Identifies a trial within a study (dense, from 0).
using trial_id = uint64_t;

/// Life cycle of a trial.
enum class trial_state { pending, running, paused, complete, pruned, failed };

/// What a sampler learns about one trial.
struct trial_record {
  trial_id id = 0;
  config params;
  trial_state state = trial_state::pending;
  /// Objective at each reported step (fidelity: boosting rounds, epochs).
  std::map<uint64_t, double> intermediate;
  /// Final objective, for complete trials.
  std::optional<double> value;
  /// Multi-objective studies: the secondary objectives (study_spec::
  /// objectives, minimized) at each reported step, and of the final value.
  std::map<uint64_t, std::vector<double>> secondary;
  std::vector<double> secondary_value;
};

} // namespace troupe::automl
