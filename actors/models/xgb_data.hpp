#pragma once

// Tabular matrices as XGBoost takes them: dense features (NaN = missing),
// labels when there are any, and each column's type from the preprocessor,
// so that categorical columns are split by sets of categories (XGBoost's
// native categorical support) rather than as arbitrary ordinal codes. Every
// DMatrix a trial, a refit or a saved model builds comes from here.

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/models/xgb.hpp"
#include "actors/tabular/dataset.hpp"

namespace troupe::models {

/// One XGBoost feature type per column of `prep`'s matrices: "c" for a
/// categorical column, "q" for a numeric one.
std::vector<std::string>
xgboost_feature_types(const tabular::preprocessor& prep);

/// Whether any column of `prep` is categorical.
bool has_categorical(const tabular::preprocessor& prep);

/// A DMatrix of `m` (with its labels when it has them) whose columns carry
/// the types of `prep` (which encoded `m`). Errors: a column count that
/// differs from prep's, XGBoost's own.
caf::expected<xgb::dmatrix> xgboost_matrix(const tabular::matrix& m,
                                           const tabular::preprocessor& prep);

/// The same with the column types given ("c" or "q" each; empty: all
/// numeric), for matrices a feature pipeline transformed.
caf::expected<xgb::dmatrix>
xgboost_matrix(const tabular::matrix& m, const std::vector<std::string>& types);

} // namespace troupe::models
