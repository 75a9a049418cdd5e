#pragma once

// The model-directory format every family reads and writes: what a saved
// model is (model.json), and the predictions it makes on a table as CSV.
// Plain C++, no CAF actors; errors are caf::expected values.
//
// A saved model is a directory holding
//
//   model.ubj          the XGBoost booster (UBJSON)
//   preprocessor.json  the encoding of the features (preprocessor::to_json)
//   model.json         what the model is, as metadata:
//                      {"format": "troupe.model", "version": 1,
//                       "family": "xgboost", "task", "target",
//                       "classes": [...], "metric",
//                       "config": {param: value, ...}, "rounds",
//                       "cv_score" (or null), "study", "trial" (or null),
//                       "xgboost_version", "created" (UTC, ISO 8601),
//                       "ensemble" (optional, see below)}
//
// and is written whole or not at all (models::save_model). An ensemble
// (models::save_ensemble) holds its members' boosters as model.ubj (the
// first member, the heaviest) and member-1.ubj, member-2.ubj, ...; model.json
// lists them under "ensemble": [{"file", "weight", "rounds", "config",
// "cv_score" (or null), "trial" (or null)}], weights summing to 1, and its
// prediction is the weighted average of the members' (probabilities or
// values); its own "config", "rounds" and "trial" are the first member's.
//
// A model of another family (linear, knn, rf, mlp: models/estimator.hpp),
// or one whose features pass a feature pipeline (tabular/pipeline.hpp), is
// saved as a list of members even when it has one: "family" names the
// family (or "ensemble" when members differ), and each member of
// "ensemble" adds "family" and "pipeline" (the fitted pipeline's JSON, or
// null) to the fields above; its file is member-K.ubj (an XGBoost booster)
// or member-K.bin (the family's own bytes), K from 0, and model.ubj is then
// absent.
//
// A stacked ensemble (models/stacking.hpp) is a members-layout ensemble
// whose model.json adds "stacker": {"family": "linear", "file":
// "stacker.bin", "alpha"}: the meta-model that combines the members'
// scores, in the order "ensemble" lists them, instead of their weights
// (which then only say that the members count alike).

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/tabular/dataset.hpp"
#include "actors/tabular/params.hpp"

namespace troupe::tabular {

/// The files of a model directory.
inline constexpr const char* model_file = "model.ubj";
inline constexpr const char* preprocessor_file = "preprocessor.json";
inline constexpr const char* model_info_file = "model.json";

/// One member of an ensemble model.
struct ensemble_member {
  std::string file; ///< its model in the model directory
  /// Its family ("xgboost" unless the model uses the members layout).
  std::string family = "xgboost";
  /// Its fitted feature pipeline's JSON; null: none.
  nlohmann::json pipeline;
  double weight = 0;
  uint64_t rounds = 0;
  config params;
  std::optional<double> cv_score;
  std::optional<uint64_t> trial;
};

/// What model.json says about a model.
struct model_info {
  /// The model family ("xgboost", an estimator family's name, or
  /// "ensemble" for members of several families).
  std::string family = "xgboost";
  /// Task, target and classes: save_model writes the preprocessor's, load
  /// reads them back (and checks them against the preprocessor).
  task_kind task = task_kind::regression;
  std::string target;
  std::vector<std::string> classes;
  /// The metric the study optimized, and the model's cross-validated score.
  std::string metric;
  std::optional<double> cv_score;
  /// The configuration the model was trained with.
  config params;
  /// Boosting rounds; save_model writes the booster's count.
  uint64_t rounds = 0;
  /// Where the model comes from.
  std::string study;
  std::optional<uint64_t> trial;
  /// Filled by save_model when empty: the XGBoost library version and the
  /// current time ("2024-05-01T12:00:00Z").
  std::string xgboost_version;
  std::string created;
  /// An ensemble's members (empty: a single XGBoost model).
  std::vector<ensemble_member> ensemble;
  /// A stacked ensemble's meta-model ({"family", "file", "alpha"}); null:
  /// the members' weighted average.
  nlohmann::json stacker;

  /// Whether the model uses the members layout (see above): a family other
  /// than XGBoost, or a member with a feature pipeline.
  bool members_layout() const;
};

/// The model.json form of `info` (format, version and all fields).
nlohmann::json to_json(const model_info& info);

/// Reads model.json's content; errors name the bad field.
caf::expected<model_info> model_info_from_json(const nlohmann::json& j);

/// Predictions for the rows of a table, in the same order.
///
/// Columns, as written by write_predictions:
/// - binary: `prediction`, the class name (class 1 when its probability is
///   at least 0.5, else class 0), and `p_<class 1>`, the probability of
///   class 1 (e.g. `p_pos`);
/// - multiclass: `prediction`, the most probable class name (the first on
///   ties), and one `p_<class>` column per class, in class order;
/// - regression: `prediction`, the predicted value.
struct prediction_table {
  /// The column names, `prediction` first.
  std::vector<std::string> columns;
  /// The `prediction` column: a class name, or a regression value as text
  /// in shortest round-trip form.
  std::vector<std::string> prediction;
  /// The booster's output, row-major: one value per row (the regression
  /// value, or the probability of class 1) or one per row and class
  /// (multiclass). For classification these are the `p_` columns.
  std::vector<float> scores;
  /// Things to tell the user (values of categories not seen in training).
  std::vector<std::string> warnings;

  size_t rows() const { return prediction.size(); }
};

/// Writes `p` as CSV: a header row, then one row per prediction; fields
/// quoted as RFC 4180 asks when they hold a comma, a quote or a line break;
/// numbers in shortest round-trip form, so read_csv gives back the same
/// floats.
void write_predictions(std::ostream& out, const prediction_table& p);

/// A float in its shortest round-trip form ("0.1", "3").
std::string shortest(float v);

} // namespace troupe::tabular
