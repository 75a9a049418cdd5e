#include "actors/models/sparse_model.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/errors.hpp"

namespace troupe::models {

namespace {

caf::error bad(const std::string& what) {
  return make_error(errc::invalid_argument, what);
}

} // namespace

sparse_model::sparse_model(hashed_transform transform,
                           const std::vector<uint64_t>& keys,
                           const std::vector<float>& weights)
    : transform_(std::move(transform)) {
  for (size_t i = 0; i < keys.size() && i < weights.size(); ++i)
    if (weights[i] != 0.f) weights_[keys[i]] = weights[i];
}

bool sparse_model::is_sparse_json(const nlohmann::json& j) {
  return j.is_object() && j.value("format", "") == sparse_model_format;
}

namespace {

/// DIR/model.json parsed, when it is a file that holds JSON.
std::optional<nlohmann::json> model_json(const std::string& dir) {
  std::error_code ec;
  auto file = std::filesystem::path{dir} / "model.json";
  if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;
  std::ifstream in{file, std::ios::binary};
  std::ostringstream buf;
  buf << in.rdbuf();
  auto j = nlohmann::json::parse(buf.str(), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

} // namespace

bool sparse_model::is_sparse_dir(const std::string& dir) {
  auto j = model_json(dir);
  return j && is_sparse_json(*j);
}

caf::expected<std::optional<sparse_model>>
sparse_model::load_dir(const std::string& dir) {
  auto j = model_json(dir);
  if (!j || !is_sparse_json(*j)) return std::optional<sparse_model>{};
  auto m = from_json(*j, dir + "/model.json");
  if (!m) return m.error();
  return std::optional<sparse_model>{std::move(*m)};
}

caf::expected<sparse_model> sparse_model::from_json(const nlohmann::json& j,
                                                    const std::string& where) {
  if (!is_sparse_json(j))
    return bad(where + ": not a " + std::string{sparse_model_format} +
               " document");
  if (j.value("version", 0) != 1)
    return bad(where + ": version " +
               j.value("version", nlohmann::json{}).dump() + " is not 1");
  if (!j.contains("transform")) return bad(where + ": no \"transform\"");
  auto t = hashed_transform::from_json(j["transform"]);
  if (!t) return bad(where + ": " + describe(t.error()));
  std::vector<uint64_t> keys;
  std::vector<float> weights;
  try {
    keys = j.at("keys").get<std::vector<uint64_t>>();
    weights = j.at("weights").get<std::vector<float>>();
  } catch (const nlohmann::json::exception& e) {
    return bad(where + ": " + e.what());
  }
  if (keys.size() != weights.size())
    return bad(where + ": " + std::to_string(keys.size()) + " keys but " +
               std::to_string(weights.size()) + " weights");
  for (size_t i = 0; i < weights.size(); ++i)
    if (!std::isfinite(weights[i]))
      return bad(where + ": the weight of key " + std::to_string(keys[i]) +
                 " is not a finite number");
  return sparse_model{std::move(*t), keys, weights};
}

caf::expected<sparse_model> sparse_model::load(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) return make_error(errc::not_found, "cannot open '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  auto j = nlohmann::json::parse(buf.str(), nullptr, false);
  if (j.is_discarded()) return bad(path + ": not valid JSON");
  return from_json(j, path);
}

nlohmann::json sparse_model::to_json() const {
  std::vector<uint64_t> keys;
  keys.reserve(weights_.size());
  for (auto& [k, w] : weights_)
    keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  nlohmann::json ws = nlohmann::json::array();
  for (auto k : keys)
    ws.push_back(weights_.at(k));
  return {{"format", sparse_model_format},
          {"version", 1},
          {"transform", transform_.to_json()},
          {"keys", std::move(keys)},
          {"weights", std::move(ws)}};
}

float sparse_model::predict(const std::vector<std::string>& cells) const {
  sparse_row row;
  row.keys = transform_.keys(cells);
  return predict_with(row, [&](uint64_t k) { return weight(k); });
}

} // namespace troupe::models
