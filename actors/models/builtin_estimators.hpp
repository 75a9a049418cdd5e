#pragma once

// The built-in estimator families (actors/models/estimator.hpp), each
// defined in its own file and registered by builtin_families() in
// estimator.cpp:
//
//   linear  linear regression (squared loss), logistic regression (binary)
//           and multinomial softmax regression (multiclass) with an
//           elastic-net penalty, trained by FISTA; one step is one epoch.
//           Parameters: alpha (penalty strength, >= 0), l1_ratio (0..1).
//   knn     k-nearest neighbours by brute force; one step stores the
//           training rows. Parameters: n_neighbors (>= 1; more than the
//           training rows: all of them), weights (uniform | distance),
//           metric (manhattan | euclidean).
//   rf      XGBoost random forests; each step grows one forest of trees in
//           a single round and predictions average the forests.
//           Parameters: max_depth (0 = unlimited, else 1..64),
//           min_child_weight (>= 0), subsample (0..1], colsample_bynode
//           (0..1], lambda (>= 0), trees_per_step (1..1024).
//
// Parameters a configuration leaves out take their defaults; a name the
// family does not know is an error naming it (troupe::errc::
// invalid_argument, as are bad values and matrices that do not fit). Each
// family saves an estimator as a Cap'n Proto struct of
// schemas/estimators.capnp; loading bytes that are no such message fails
// with troupe::errc::malformed_message, a message whose content does not fit
// (another version, task, class count or sizes) with models::errc::bad_model.

#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

#include "actors/models/estimator.hpp"

namespace troupe::models {

/// The `linear` family (linear_family.cpp).
estimator_family linear_family();

/// The `knn` family (knn_family.cpp).
estimator_family knn_family();

/// The `rf` family (rf_family.cpp).
estimator_family rf_family();

/// A saved linear estimator's coefficients on the standardized scale:
/// outputs x features, row-major (one output for binary and regression,
/// one per class for multiclass). Errors name what is wrong in `bytes`.
caf::expected<std::vector<double>>
linear_coefficients(const std::vector<uint8_t>& bytes);

} // namespace troupe::models
