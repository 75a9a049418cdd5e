#pragma once

// Model families as the trial runners see them: building a trainable for a
// family and configuration, and the training data, read once per process
// and shared by every trial that trains on it.
//
// Families:
//   xgboost    gradient-boosted trees (xgb_trainable.cpp); steps are rounds.
//   linear, knn, rf, mlp, ...
//              estimator families (estimator.hpp) behind the feature
//              pipeline (estimator_trainable.cpp); a study's steps map to
//              each family's own (epochs, forests).
//   quadratic  a synthetic trainable for tests and overhead benchmarks: no
//              data; at step s it reports (x-0.3)^2 + (y-0.7)^2 + 1/s, after
//              sleeping `sleep_ms` per step. Its checkpoint is the step.

#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "actors/models/trainable.hpp"
#include "actors/tabular/dataset.hpp"

namespace troupe::models {

/// The dataset of a CSV file and target, read and encoded once per process
/// (the file's size and modification time are part of the key). `task` ""
/// lets the preprocessor infer it. Thread-safe.
caf::expected<std::shared_ptr<const dataset>>
shared_dataset(const std::string& path, const std::string& target,
               const std::string& task);

/// Whether trials of `family` (a study's family text) read the data.
bool family_needs_data(const std::string& family);

/// A trainable of `family` (a study's family text: one name, or several
/// separated by commas for a CASH search, see model_choice.hpp) for `cfg`.
/// `ctx.data` may be null for families without data.
caf::expected<std::unique_ptr<trainable>>
make_trainable(const std::string& family, const train_context& ctx,
               const config& cfg, double sleep_ms);

/// The objective of the quadratic family at a step (for tests).
double quadratic_value(const config& cfg, uint64_t step);

} // namespace troupe::models
