#pragma once

// A trained model of any family behind its fitted feature pipeline: what a
// refit trains on all the rows, a saved model holds one or more of (the
// members of an ensemble), and `troupe predict` and `troupe serve` score
// rows with. XGBoost members are boosters (fast paths: the compiled forest,
// in-place prediction); the other families are estimators
// (estimator.hpp). Plain C++, no CAF actors.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/models/estimator.hpp"
#include "actors/models/xgb.hpp"
#include "actors/tabular/dataset.hpp"
#include "actors/tabular/pipeline.hpp"

namespace troupe::models {

/// The pipeline options a family trains with: the search's choices, where
/// "none" imputation becomes "median" for a family that takes no NaN and
/// "native" encoding becomes "onehot" for one that cannot split categories.
tabular::pipeline_options pipeline_for(const estimator_family& family,
                                       tabular::pipeline_options opts);

/// What an estimator of `data`'s task sees behind `pipe`.
estimator_context estimator_context_of(const tabular::dataset& data,
                                       const tabular::feature_pipeline& pipe,
                                       size_t threads, uint64_t seed);

/// The same, from a saved model's preprocessor.
estimator_context estimator_context_of(const tabular::preprocessor& prep,
                                       const tabular::feature_pipeline& pipe,
                                       size_t threads, uint64_t seed);

/// One trained model and its pipeline.
class fitted_member {
public:
  /// An XGBoost booster without a pipeline.
  static fitted_member of_booster(xgb::booster b);

  /// An estimator of `family` behind `pipeline`.
  static fitted_member of_estimator(std::string family,
                                    tabular::feature_pipeline pipeline,
                                    std::unique_ptr<estimator> model);

  /// A member read back from its bytes (an XGBoost member's UBJSON, an
  /// estimator's save()) and its pipeline's JSON (null: none). Errors name
  /// the family and what is wrong.
  static caf::expected<fitted_member>
  from_bytes(const std::string& family, const nlohmann::json& pipeline,
             const std::vector<uint8_t>& bytes,
             const tabular::preprocessor& prep, size_t threads);

  const std::string& family() const { return family_; }
  const tabular::feature_pipeline& pipeline() const { return pipeline_; }
  /// XGBoost members: the booster; null otherwise.
  const xgb::booster* booster() const { return booster_.get(); }
  /// The family's steps (an XGBoost member's rounds).
  uint64_t steps() const;

  /// The scores of rows encoded by `prep`: rows x outputs, as metrics take
  /// them.
  caf::expected<std::vector<float>> scores(const tabular::matrix& m,
                                           const tabular::preprocessor& prep,
                                           size_t threads = 1) const;

  /// The model's bytes (UBJSON for XGBoost, the family's own otherwise),
  /// and the file extension they are saved under (".ubj", ".bin").
  caf::expected<std::vector<uint8_t>> bytes() const;
  std::string extension() const;

private:
  std::string family_ = "xgboost";
  tabular::feature_pipeline pipeline_;
  std::shared_ptr<xgb::booster> booster_;
  std::shared_ptr<estimator> model_;
};

/// Trains the final model of configuration `cfg` (as split_choice reads it
/// against the study's `family` text) on every row of `data` for `steps`
/// study steps of `max_resource` (an estimator family trains
/// family_steps() of its own; XGBoost trains `steps` rounds). Errors: no
/// steps, no rows, a bad parameter.
caf::expected<fitted_member> refit_member(const tabular::dataset& data,
                                          const std::string& family,
                                          const tabular::config& cfg,
                                          uint64_t steps, uint64_t max_resource,
                                          size_t threads, uint64_t seed);

} // namespace troupe::models
