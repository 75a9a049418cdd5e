#pragma once

// What the servable files (servable.cpp, model_format.cpp, row_encoder.cpp,
// decision.cpp, xgb_servable.cpp, ensemble_servable.cpp, torch_plugin.cpp,
// sparse_servable.cpp)
// share: message helpers,
// the load-time checks and each format's loader. Internal to actors/models.

#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/models/servable.hpp"
#include "actors/models/sparse_model.hpp"
#include "actors/models/stacking.hpp"
#include "actors/tabular/model_dir.hpp"

namespace troupe::models::detail {

constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();

/// Rows of zeros the checks at load run the model on (two, so that a model
/// ignoring the batch dimension shows).
constexpr size_t probe_rows = 2;

/// A troupe::errc::invalid_argument error: bad input from the caller.
caf::error invalid(std::string msg);

/// A models::errc::bad_model error: a model file that cannot be loaded or
/// does not fit its spec.
caf::error bad_model(std::string msg);

/// `v` in shortest round-trip form ("3", "2.5").
std::string shortest(double v);

/// "a, b, c".
std::string join(const std::vector<std::string>& xs);

/// The first non-finite score, as an error naming the row.
caf::error check_finite(const std::string& where, const std::vector<float>& s,
                        size_t outputs);

/// What the spec's task asks of a model's outputs, for messages.
std::string task_text(const tabular::preprocessor& p);

/// Reads the feature spec an XGBoost or TorchScript model of format `f`
/// needs (model_format.cpp).
caf::expected<tabular::preprocessor> load_spec(model_format f,
                                               const std::string& spec);

/// ".json" or ".ubj" (in any case): the formats XGBoost loads by extension
/// (xgb_servable.cpp).
bool xgb_extension(const std::string& path);

/// Loads an XGBoost model file and checks it against `prep`
/// (xgb_servable.cpp).
caf::expected<std::unique_ptr<servable>>
load_xgboost(model_format f, const std::string& where,
             const std::string& model_file, tabular::preprocessor prep,
             const load_options& opts);

/// Loads the members of an ensemble model directory (model_dir.hpp) and
/// serves them combined as saved models combine them: by `stack` when the
/// ensemble is stacked, their weighted average otherwise
/// (ensemble_servable.cpp).
caf::expected<std::unique_ptr<servable>>
load_ensemble(const std::string& dir, const tabular::preprocessor& prep,
              const std::vector<tabular::ensemble_member>& members,
              std::shared_ptr<const stacker> stack, const load_options& opts);

/// Loads a TorchScript file through the plugin and checks it against `prep`
/// (torch_plugin.cpp).
caf::expected<std::unique_ptr<servable>> load_torch(const std::string& where,
                                                    tabular::preprocessor prep,
                                                    const load_options& opts);

/// Serves the sparse model (sparse_model.hpp) read from a sparse-lr job's
/// directory `dir`, or names the directory in the model's error
/// (sparse_servable.cpp).
caf::expected<std::unique_ptr<servable>>
load_sparse(const std::string& dir, caf::expected<sparse_model> model);

} // namespace troupe::models::detail
