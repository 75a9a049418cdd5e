#pragma once

// Failures of the shared model layer (actors/models), in the "models" error
// category. Bad input from a caller stays troupe::errc::invalid_argument;
// these codes say that XGBoost, LibTorch, a model file or the compiled
// forest failed.
// Numbers never change once released; new codes take new numbers.

#include <cstdint>
#include <string>

#include "runtime/errors.hpp"

namespace troupe::models {

/// Error codes of the model layer, carried as caf::error values in the
/// "models" category.
enum class errc : uint8_t {
  none = 0,
  /// An XGBoost C API call failed (the message holds XGBGetLastError()).
  xgboost_failure = 1,
  /// A model file or directory cannot be read, or does not fit what it is
  /// loaded as (features, objective, task, rounds).
  bad_model = 2,
  /// The compiled forest refuses a model it cannot evaluate exactly; the
  /// caller falls back to XGBoost.
  unsupported = 3,
  /// LibTorch failed in the torch plugin (the message holds its reason),
  /// for instance an MLP whose training diverged.
  torch_failure = 4,
};

/// Name of an error code ("xgboost_failure").
std::string to_string(errc x);

} // namespace troupe::models

namespace troupe {

template <>
struct error_category_of<models::errc> {
  static constexpr caf::atom_value value = caf::atom("models");
  static std::string name(uint8_t code) {
    return models::to_string(static_cast<models::errc>(code));
  }
};

} // namespace troupe
