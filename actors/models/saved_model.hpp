#pragma once

// A trained model saved as a model directory (actors/tabular/model_dir.hpp)
// and loaded back for predicting: the XGBoost refit of a configuration, the
// atomic save, and the predictions it makes on new tables. Plain C++, no CAF
// actors; errors are caf::expected values.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

#include "actors/models/member.hpp"
#include "actors/models/stacking.hpp"
#include "actors/models/xgb.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/tabular/dataset.hpp"
#include "actors/tabular/model_dir.hpp"

namespace troupe::models {

using tabular::config;
using tabular::dataset;
using tabular::model_info;
using tabular::prediction_table;
using tabular::preprocessor;
using tabular::table;

/// Trains the final XGBoost model of configuration `cfg` on every row of
/// `data` for `rounds` rounds, with the parameters a trial of `cfg` trains
/// with (xgboost_params). Errors: no rounds, no rows, a bad parameter.
caf::expected<xgb::booster> refit_xgboost(const dataset& data,
                                          const config& cfg, uint64_t rounds,
                                          size_t threads, uint64_t seed);

/// Saves a model directory `dir` (the format of
/// actors/tabular/model_dir.hpp). The files are
/// written and synced into `dir.tmp-<pid>` next to it, which then takes the
/// place of `dir` in one rename: an existing model directory is replaced
/// (atomically swapped where the file system allows), a crash leaves either
/// the old model or the new one, never a mix. Parent directories are created.
/// Errors: `dir` exists and is not a directory, an I/O failure (the temporary
/// directory is removed).
caf::error save_model(const std::string& dir, const xgb::booster& model,
                      const preprocessor& prep, const model_info& info);

/// One member of an ensemble to save: its booster and what model.json says
/// of it (file and rounds are filled in by save_ensemble).
struct saved_member {
  const xgb::booster* model = nullptr;
  tabular::ensemble_member info;
};

/// Saves an ensemble as a model directory (the format of
/// actors/tabular/model_dir.hpp), as save_model saves one model: the
/// members ordered by weight, heaviest first (model.ubj), weights
/// normalized to sum to 1; `info`'s config, rounds and trial become the
/// first member's. Errors: no members, a member without a model or a
/// positive weight, those of save_model.
caf::error save_ensemble(const std::string& dir,
                         const std::vector<saved_member>& members,
                         const preprocessor& prep, const model_info& info);

/// A member of any family to save (see save_members).
struct member_to_save {
  const fitted_member* model = nullptr;
  tabular::ensemble_member info;
};

/// Saves a model of any family, or an ensemble of any families, in the
/// members layout of actors/tabular/model_dir.hpp: each member's bytes
/// (member-K.ubj or member-K.bin, heaviest first), its family and its
/// pipeline; weights normalized to sum to 1; `info`'s config, rounds and
/// trial become the first member's. With `stack`, a stacker over the
/// members in their order (models/stacking.hpp), the members keep that
/// order and the stacker is saved beside them (stacker.bin). Errors: no
/// members, a member without a model or a positive weight, a stacker over
/// another number of members, those of save_model.
caf::error save_members(const std::string& dir,
                        const std::vector<member_to_save>& members,
                        const preprocessor& prep, const model_info& info,
                        const stacking_choice* stack = nullptr);

/// A model directory loaded for predicting.
class saved_model {
public:
  /// Loads a model directory written by save_model, save_ensemble or
  /// save_members (estimator families must be registered). Errors
  /// name the directory and the missing or bad file, or the mismatch between
  /// them.
  static caf::expected<saved_model> load(const std::string& dir);

  /// Encodes the features of `t` with the saved preprocessor (columns found
  /// by name, extra columns such as the target ignored) and predicts every
  /// row (an ensemble: the weighted average of its members' scores). Errors: a
  /// feature column missing from `t` (naming it and t.source), a numeric
  /// feature's cell that is not a number.
  caf::expected<prediction_table> predict(const table& t) const;

  const std::string& dir() const { return dir_; }
  const model_info& info() const { return info_; }
  const preprocessor& prep() const { return prep_; }
  /// The first member's booster (an XGBoost model's); an ensemble has
  /// members() of them.
  const xgb::booster& booster() const { return *members_.front().booster(); }
  const std::vector<fitted_member>& members() const { return members_; }
  /// Each member's weight (1 for a single model).
  const std::vector<double>& weights() const { return weights_; }
  /// A stacked ensemble's meta-model; null: the weighted average.
  const std::shared_ptr<const stacker>& stack() const { return stacker_; }

  /// The scores of an encoded matrix: rows x outputs (an ensemble's
  /// members combined by combine_members).
  caf::expected<std::vector<float>> scores(const tabular::matrix& m) const;

private:
  saved_model(std::string dir, std::vector<fitted_member> m,
              std::vector<double> w, preprocessor p, model_info i,
              std::shared_ptr<const stacker> st = nullptr)
      : dir_(std::move(dir)), members_(std::move(m)), weights_(std::move(w)),
        prep_(std::move(p)), info_(std::move(i)), stacker_(std::move(st)) {}

  std::string dir_;
  std::vector<fitted_member> members_;
  std::vector<double> weights_;
  preprocessor prep_;
  model_info info_;
  std::shared_ptr<const stacker> stacker_;
};

} // namespace troupe::models
