#pragma once

// A trained sparse logistic regression, as a sparse-lr training job writes
// it (model.json): the hashed transform its rows went through
// (hashed_features.hpp) and every non-zero weight by key, the bias under
// bias_key. Serving loads it from a job's output directory
// (servable::load with model_format::troupe) and predicts raw rows through
// the same transform, so that training and serving hash alike.
//
//   {"format": "troupe.sparse_lr", "version": 1, "transform": {...},
//    "keys": [k, ...], "weights": [w, ...]}

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

#include "actors/models/hashed_features.hpp"

namespace troupe::models {

/// The "format" of a sparse model's JSON.
inline constexpr const char* sparse_model_format = "troupe.sparse_lr";

class sparse_model {
public:
  /// The weights of `keys` (zeros are left out).
  sparse_model(hashed_transform transform, const std::vector<uint64_t>& keys,
               const std::vector<float>& weights);

  /// Reads a model from its JSON; `where` names it in errors, which say
  /// what is wrong (a key without a weight, a bad transform, ...).
  static caf::expected<sparse_model> from_json(const nlohmann::json& j,
                                               const std::string& where);
  /// Reads model.json at `path`.
  static caf::expected<sparse_model> load(const std::string& path);
  /// Whether `j` claims to be a sparse model (its "format").
  static bool is_sparse_json(const nlohmann::json& j);
  /// Whether `dir` is a directory whose model.json is a sparse model's.
  static bool is_sparse_dir(const std::string& dir);
  /// The sparse model of directory `dir` (its model.json, read once), or
  /// nullopt when that is no sparse model's. Errors: a sparse model.json
  /// that is bad.
  static caf::expected<std::optional<sparse_model>>
  load_dir(const std::string& dir);

  /// The JSON form above, keys ascending.
  nlohmann::json to_json() const;

  const hashed_transform& transform() const { return transform_; }
  /// The weight of `key` (0 for a key never stored).
  float weight(uint64_t key) const {
    auto w = weights_.find(key);
    return w == weights_.end() ? 0.f : w->second;
  }
  /// Non-zero weights stored.
  size_t size() const { return weights_.size(); }

  /// P(label = 1) of one row given as cells by input column (missing: "").
  float predict(const std::vector<std::string>& cells) const;

private:
  hashed_transform transform_;
  std::unordered_map<uint64_t, float> weights_;
};

} // namespace troupe::models
