#pragma once

// The final model of a study: refit on all training rows, saved as a
// directory that `troupe predict` reads back, and the predictions it makes
// on new tables. Plain C++, no CAF actors; errors are caf::expected values.
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
//                       "xgboost_version", "created" (UTC, ISO 8601)}
//
// and is written whole or not at all (see save_model).

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

#include "actors/automl/csv.hpp"
#include "actors/automl/dataset.hpp"
#include "actors/automl/types.hpp"
#include "actors/automl/xgb.hpp"

namespace troupe::automl {

/// Trains the final XGBoost model of configuration `cfg` on every row of
/// `data` for `rounds` rounds, with the parameters a trial of `cfg` trains
/// with (xgboost_params). Errors: no rounds, no rows, a bad parameter.
caf::expected<xgb::booster> refit_xgboost(const dataset& data,
                                          const config& cfg, uint64_t rounds,
                                          size_t threads, uint64_t seed);

/// What model.json says about a model.
struct model_info {
  /// The model family; only "xgboost" is known.
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
  std::optional<trial_id> trial;
  /// Filled by save_model when empty: the XGBoost library version and the
  /// current time ("2024-05-01T12:00:00Z").
  std::string xgboost_version;
  std::string created;
};

/// The model.json form of `info` (format, version and all fields).
nlohmann::json to_json(const model_info& info);

/// A configuration as JSON, each value keeping its type ({"eta": 0.1,
/// "max_depth": 6, "booster": "gbtree"}), and back.
nlohmann::json to_json(const config& cfg);
caf::expected<config> config_from_json(const nlohmann::json& j);

/// Reads model.json's content; errors name the bad field.
caf::expected<model_info> model_info_from_json(const nlohmann::json& j);

/// Saves a model directory `dir` (see the top of this file). The files are
/// written and synced into `dir.tmp-<pid>` next to it, which then takes the
/// place of `dir` in one rename: an existing model directory is replaced
/// (atomically swapped where the file system allows), a crash leaves either
/// the old model or the new one, never a mix. Parent directories are created.
/// Errors: `dir` exists and is not a directory, an I/O failure (the temporary
/// directory is removed).
caf::error save_model(const std::string& dir, const xgb::booster& model,
                      const preprocessor& prep, const model_info& info);

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

/// A model directory loaded for predicting.
class saved_model {
public:
  /// Loads a model directory written by save_model. Errors name the
  /// directory and the missing or bad file, or the mismatch between them.
  static caf::expected<saved_model> load(const std::string& dir);

  /// Encodes the features of `t` with the saved preprocessor (columns found
  /// by name, extra columns such as the target ignored) and predicts every
  /// row. Errors: a feature column missing from `t` (naming it and
  /// t.source), a numeric feature's cell that is not a number.
  caf::expected<prediction_table> predict(const table& t) const;

  const std::string& dir() const { return dir_; }
  const model_info& info() const { return info_; }
  const preprocessor& prep() const { return prep_; }
  const xgb::booster& booster() const { return booster_; }

private:
  saved_model(std::string dir, xgb::booster b, preprocessor p, model_info i)
      : dir_(std::move(dir)), booster_(std::move(b)), prep_(std::move(p)),
        info_(std::move(i)) {}

  std::string dir_;
  xgb::booster booster_;
  preprocessor prep_;
  model_info info_;
};

/// What `troupe predict` is asked to do.
struct predict_options {
  /// A model directory written by save_model (`--model`).
  std::string model_dir;
  /// The CSV file to predict (`--data`).
  std::string data_path;
  /// Where the predictions go as CSV (`--out`); empty for stdout.
  std::string out_path;
};

/// `troupe predict`: loads the model, reads the CSV, predicts every row and
/// writes the predictions (see prediction_table) to `out_path` (replaced
/// whole: written next to it, then renamed) or to `out`. Warnings go to
/// `err` as "troupe predict: warning: ...". Returns 0, or 1 after writing
/// "troupe predict: <what went wrong>" to `err`.
int run_predict(const predict_options& opts, std::ostream& out,
                std::ostream& err);

/// run_predict on std::cout and std::cerr.
int run_predict(const predict_options& opts);

} // namespace troupe::automl
