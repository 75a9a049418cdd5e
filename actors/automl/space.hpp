#pragma once

// Search spaces: the hyperparameters a study tunes, their ranges and the
// conditions under which they exist. Plain C++, no CAF actors; errors are
// caf::expected values whose messages name the parameter (and, for files,
// the file and line).
//
// A user file overrides the default space of a model family. It is JSON or
// TOML, told apart by the extension (`.json`, `.toml`). Its top level has two
// optional keys:
//
//   params  a table of parameters by name. A name already in the default
//           space replaces that parameter entirely; a new name adds one.
//   remove  a list of parameter names to drop from the default space.
//
// Each parameter has a `type` and the keys that type takes:
//
//   type = "float"        low, high (numbers, low < high), log (bool,
//                         default false; log needs low > 0)
//   type = "int"          low, high (integers, inclusive, low < high), log
//                         (bool; log needs low >= 1)
//   type = "categorical"  choices (a non-empty list of distinct strings)
//
// and, for a conditional parameter, `parent` (a categorical parameter) and
// `when` (one choice of the parent, or a list of them): the parameter exists
// only while the parent is active and takes one of those values. Unknown keys
// are errors. Removing a parameter that others are conditioned on is an
// error unless they are removed (or replaced) too.
//
// Example (TOML) for the xgboost family:
//
//   remove = ["alpha"]
//
//   [params.eta]                  # narrower learning rate
//   type = "float"
//   low = 0.01
//   high = 0.2
//   log = true
//
//   [params.grow_policy]          # a new parameter
//   type = "categorical"
//   choices = ["depthwise", "lossguide"]
//
//   [params.max_leaves]           # only when grow_policy is lossguide
//   type = "int"
//   low = 8
//   high = 256
//   log = true
//   parent = "grow_policy"
//   when = "lossguide"
//
// The same in JSON:
//
//   {"remove": ["alpha"],
//    "params": {
//      "eta": {"type": "float", "low": 0.01, "high": 0.2, "log": true},
//      "grow_policy": {"type": "categorical",
//                      "choices": ["depthwise", "lossguide"]},
//      "max_leaves": {"type": "int", "low": 8, "high": 256, "log": true,
//                     "parent": "grow_policy", "when": ["lossguide"]}}}

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/automl/types.hpp"

namespace troupe::automl {

/// What values a parameter takes.
enum class param_kind : uint8_t {
  /// A double in [low, high].
  real,
  /// An int64_t in [low, high], both inclusive.
  integer,
  /// One string of `choices`.
  categorical,
};

/// Name of a kind as written in space files: "float", "int", "categorical".
std::string to_string(param_kind kind);

/// A parameter exists only while `parent` is active and takes one of
/// `values`.
struct param_condition {
  std::string parent;
  std::vector<std::string> values;

  friend bool operator==(const param_condition& x, const param_condition& y) {
    return x.parent == y.parent && x.values == y.values;
  }
};

/// One hyperparameter: its name, kind, range and condition.
struct param_spec {
  std::string name;
  param_kind kind = param_kind::real;
  /// Bounds of real and integer parameters (integral for integers).
  double low = 0;
  double high = 1;
  /// Whether real and integer parameters are sampled on a log scale.
  bool log = false;
  /// Choices of categorical parameters.
  std::vector<std::string> choices;
  /// Set for conditional parameters.
  std::optional<param_condition> when;

  /// A float parameter in [low, high], log-scaled if `log`.
  static param_spec real(std::string name, double low, double high,
                         bool log = false);
  /// An integer parameter in [low, high] (inclusive), log-scaled if `log`.
  static param_spec integer(std::string name, int64_t low, int64_t high,
                            bool log = false);
  /// A categorical parameter.
  static param_spec categorical(std::string name,
                                std::vector<std::string> choices);
  /// This parameter, made conditional on `parent` taking one of `values`.
  param_spec only_if(std::string parent, std::vector<std::string> values) const;

  /// Index of `choice` among `choices`, or nullopt.
  std::optional<size_t> choice_index(const std::string& choice) const;

  friend bool operator==(const param_spec& x, const param_spec& y) {
    return x.name == y.name && x.kind == y.kind && x.low == y.low &&
           x.high == y.high && x.log == y.log && x.choices == y.choices &&
           x.when == y.when;
  }
};

/// Checks one parameter on its own: bounds, log scale, choices.
caf::error validate(const param_spec& spec);

/// A uniform double in [0, 1) from the top 53 bits of one draw. Unlike
/// std::uniform_real_distribution, gives the same numbers on every
/// standard library, so a seed means the same study everywhere.
inline double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

/// Draws one value of `spec` uniformly (log-uniformly for log parameters).
/// Log integers are drawn on [low - 0.5, high + 0.5] in log space and
/// rounded, as Optuna does, so every integer has a fair share.
param_value sample_value(const param_spec& spec, std::mt19937_64& rng);

/// A validated set of parameters, parents ordered before their children.
class search_space {
public:
  /// An empty space (suggests empty configurations).
  search_space() = default;

  /// Validates `params` (each one, unique names, known categorical parents
  /// whose choices include the condition's values, no cycles) and orders
  /// them so that parents come first, keeping the given order otherwise.
  static caf::expected<search_space> make(std::vector<param_spec> params);

  /// The parameters, each parent before its children.
  const std::vector<param_spec>& params() const { return params_; }
  size_t size() const { return params_.size(); }

  /// Index of the parameter named `name`, or nullopt.
  std::optional<size_t> index_of(const std::string& name) const;
  /// The parameter named `name`, or nullptr.
  const param_spec* find(const std::string& name) const;
  /// Index of parameter `i`'s parent, or nullopt for unconditional ones.
  std::optional<size_t> parent_of(size_t i) const { return parents_[i]; }

  /// Whether parameter `i` is active in a configuration built in order:
  /// unconditional parameters always are; a child is when its parent is
  /// present in `c` with one of the condition's values.
  bool is_active(size_t i, const config& c) const;

  /// Draws a configuration uniformly; inactive children are absent.
  config sample(std::mt19937_64& rng) const;

  /// Checks that `c` holds exactly the active parameters, each of its kind
  /// and within its bounds.
  caf::error check(const config& c) const;

  /// A configuration near `c` (PBT's explore): each real or integer value
  /// multiplied by 0.8 or 1.2 (as Ray Tune's PBT does) and
  /// clamped to its bounds, integers rounded; each categorical value
  /// redrawn with probability 0.25 unless `keep_categorical`; children that
  /// become active drawn, those that become inactive dropped.
  config perturb(const config& c, std::mt19937_64& rng,
                 bool keep_categorical = false) const;

  friend bool operator==(const search_space& x, const search_space& y) {
    return x.params_ == y.params_;
  }

private:
  std::vector<param_spec> params_;
  std::vector<std::optional<size_t>> parents_;
};

/// A structural problem of a list of parameters (an unknown or cyclic
/// parent, a condition on a choice the parent lacks), with the parameter to
/// blame.
struct space_problem {
  std::string param;
  std::string message;
};

/// The first structural problem of `ps`, as search_space::make reports it;
/// nullopt if there is none.
std::optional<space_problem> find_space_problem(std::vector<param_spec> ps);

/// Default search spaces by model family. A family adds its space with
/// `add` (a built-in one is listed in `with_builtins`, as "mlp" is with
/// `mlp_space`). Thread-safe.
class space_registry {
public:
  using factory = std::function<caf::expected<search_space>()>;

  /// An empty registry.
  space_registry() = default;
  /// A registry holding every built-in family ("xgboost", ...).
  static space_registry with_builtins();
  /// The process-wide registry, holding the built-ins at first use.
  static space_registry& global();

  space_registry(space_registry&& other) noexcept;
  space_registry& operator=(space_registry&&) = delete;

  /// Adds a family; an error if the name is taken.
  caf::error add(std::string family, factory make_space);
  /// The default space of `family`; the error lists the known families.
  caf::expected<search_space> get(const std::string& family) const;
  /// The families, sorted.
  std::vector<std::string> families() const;

private:
  mutable std::mutex mtx_;
  std::map<std::string, factory> factories_;
};

/// XGBoost's default space: eta, max_depth, min_child_weight, subsample,
/// colsample_bytree, lambda, alpha, booster, and dart's rate_drop and
/// skip_drop.
caf::expected<search_space> xgboost_space();

/// The linear family's default space (actors/models/linear_family.cpp):
/// alpha (penalty strength, log 1e-6..10) and l1_ratio (0..1).
caf::expected<search_space> linear_space();

/// The knn family's default space: n_neighbors (log 1..64), weights
/// (uniform, distance) and metric (manhattan, euclidean).
caf::expected<search_space> knn_space();

/// The rf family's default space: max_depth (4..16), min_child_weight (log
/// 0.01..20), subsample (0.5..0.95) and colsample_bynode (0.1..1).
caf::expected<search_space> rf_space();
/// The mlp estimator family's space (actors/models/mlp_family.hpp):
/// layers 1..3, width 16..256 (log: wider nets cost minutes an epoch on a
/// CPU slot), activation relu|gelu|tanh, dropout
/// 0..0.5, lr 1e-4..3e-2 (log), weight_decay 1e-7..1e-2 (log), batch_size
/// 32..512 (log). Registered as "mlp" where LibTorch is built.
caf::expected<search_space> mlp_space();

/// The "sparse-lr" family's space (trials run as parameter-server jobs,
/// FTRL-Proximal): alpha (log 0.005..1), l1 and l2 (log 1e-3..10).
caf::expected<search_space> sparse_lr_space();

/// The synthetic "quadratic" family's space: x and y, floats in [0, 1].
caf::expected<search_space> quadratic_space();

/// The default space of a study's family text (family_space in
/// cash_space.hpp: one family's, or the CASH space of several), with the
/// space file at `override_path` applied unless it is empty.
caf::expected<search_space> load_space(const std::string& family,
                                       const std::string& override_path = {});

} // namespace troupe::automl
