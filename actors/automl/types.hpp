#pragma once

// Vocabulary shared by the AutoML pieces: parameter values, configurations,
// trials and what a search algorithm is told about them. Plain C++, no CAF.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace troupe::automl {

/// One hyperparameter value: a float, an integer or a category.
using param_value = std::variant<double, int64_t, std::string>;

/// A configuration: parameter name -> value. Inactive conditional
/// parameters are absent.
using config = std::map<std::string, param_value>;

/// Identifies a trial within a study (dense, from 0).
using trial_id = uint64_t;

/// Whether smaller or larger objective values are better.
enum class direction { minimize, maximize };

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
};

/// Renders a value for logs and leaderboards ("0.1", "7", "gbtree").
std::string to_string(const param_value& v);

} // namespace troupe::automl
