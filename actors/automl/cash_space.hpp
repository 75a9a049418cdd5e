#pragma once

// The spaces of whole pipelines: an estimator family's parameters with the
// feature pipeline's (tabular/pipeline.hpp), and CASH (combined algorithm
// selection and hyper-parameter optimisation, as Auto-WEKA and
// auto-sklearn search): one conditional space over families x
// preprocessing x hyper-parameters. Its root is "family"; each family's
// parameters sit under "<family>." and exist only while that family is
// chosen (their own conditions kept, parents renamed); the pipeline's "fe.*"
// parameters exist for the families that take a pipeline (those that are
// not tree ensembles with native categorical splits and missing values).
// Plain C++.

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/automl/space.hpp"

namespace troupe::automl {

/// The families `--families all` (the default) searches: xgboost and every
/// registered estimator family that has a default space, in that order.
std::vector<std::string> all_families();

/// Resolves a `--families` text ("all", "xgboost", "xgboost,linear"):
/// names checked against all_families() (and "quadratic", alone), repeats
/// removed; the result as the study's family text ("xgboost,linear").
/// Errors name the unknown family and list the known ones.
caf::expected<std::string> resolve_families(const std::string& text);

/// The feature pipeline's parameters: fe.impute, fe.encoding, fe.scaling,
/// fe.transform, fe.crosses and fe.select.
std::vector<param_spec> pipeline_params();

/// Whether `family` trains behind a feature pipeline (an estimator family
/// that is not a tree ensemble taking NaN and categories itself).
bool takes_pipeline(const std::string& family);

/// The default space of a study's family text: one family's (with
/// pipeline_params() when it takes a pipeline), or the CASH space of
/// several.
caf::expected<search_space> family_space(const std::string& family);

} // namespace troupe::automl
