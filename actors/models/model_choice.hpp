#pragma once

// What a configuration chooses: the model family, the family's own
// parameters and the feature pipeline's. A study of one family proposes
// that family's parameters by their plain names ("eta") beside the
// pipeline's ("fe.impute"); a CASH study over several families proposes
// "family" too, and each family's parameters under its prefix
// ("linear.alpha", "xgboost.eta"). Plain C++.

#include <string>

#include <caf/expected.hpp>

#include "actors/tabular/params.hpp"
#include "actors/tabular/pipeline.hpp"

namespace troupe::models {

/// A configuration taken apart.
struct model_choice {
  std::string family;
  /// The family's parameters, without prefix.
  tabular::config params;
  /// The "fe.*" keys, as they were.
  tabular::config fe;
};

/// The separator between a family's name and its parameter in CASH
/// configurations.
inline constexpr char family_separator = '.';

/// The key of the family choice in CASH configurations.
inline constexpr const char* family_key = "family";

/// Takes `cfg` apart. `family` is the study's family: one name, or several
/// separated by commas (a CASH study, whose configurations name theirs
/// under "family"). Errors: a CASH configuration without "family", or with
/// one the study does not search; a parameter of another family.
caf::expected<model_choice> split_choice(const tabular::config& cfg,
                                         const std::string& family);

/// The families of a study's family text ("xgboost", "linear,knn"), in
/// order, without blanks; empty names are dropped.
std::vector<std::string> family_list(const std::string& family);

/// Whether a study's family text names several families (a CASH search).
bool is_cash(const std::string& family);

} // namespace troupe::models
