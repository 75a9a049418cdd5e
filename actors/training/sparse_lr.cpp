#include "actors/training/sparse_lr.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

#include "runtime/errors.hpp"

namespace troupe::training {

namespace {

double sigmoid(double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}

} // namespace

std::vector<uint64_t> keys_of(const std::vector<sparse_row>& rows, size_t begin,
                              size_t end) {
  std::vector<uint64_t> keys{bias_key};
  for (size_t r = begin; r < end && r < rows.size(); ++r)
    keys.insert(keys.end(), rows[r].keys.begin(), rows[r].keys.end());
  std::sort(keys.begin() + 1, keys.end());
  keys.erase(std::unique(keys.begin() + 1, keys.end()), keys.end());
  keys.erase(std::remove(keys.begin() + 1, keys.end(), bias_key), keys.end());
  return keys;
}

caf::expected<sparse_gradient> gradient(const std::vector<sparse_row>& rows,
                                        size_t begin, size_t end,
                                        const std::vector<uint64_t>& keys,
                                        const std::vector<float>& weights) {
  if (keys.size() != weights.size())
    return make_error(errc::invalid_argument,
                      std::to_string(keys.size()) + " keys were pulled with " +
                          std::to_string(weights.size()) + " weights");
  std::unordered_map<uint64_t, size_t> index;
  index.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i)
    index.emplace(keys[i], i);
  sparse_gradient out;
  out.keys = keys;
  out.grads.assign(keys.size(), 0.f);
  std::vector<double> sums(keys.size(), 0.0);
  auto bias = index.find(bias_key);
  for (size_t r = begin; r < end && r < rows.size(); ++r) {
    auto& row = rows[r];
    double margin = bias == index.end() ? 0 : weights[bias->second];
    std::vector<size_t> at;
    at.reserve(row.keys.size());
    for (auto k : row.keys) {
      auto i = index.find(k);
      if (i == index.end())
        return make_error(errc::invalid_argument,
                          "row " + std::to_string(r) + " has key " +
                              std::to_string(k) + ", which was not pulled");
      at.push_back(i->second);
      margin += weights[i->second];
    }
    auto p = sigmoid(margin);
    double y = row.label;
    auto eps = 1e-15;
    out.loss -= y * std::log(std::max(p, eps)) +
                (1 - y) * std::log(std::max(1 - p, eps));
    auto g = p - y;
    if (bias != index.end()) sums[bias->second] += g;
    for (auto i : at)
      sums[i] += g;
    ++out.rows;
  }
  for (size_t i = 0; i < sums.size(); ++i)
    out.grads[i] = static_cast<float>(sums[i]);
  return out;
}

float predict(const sparse_table& table, const sparse_row& row) {
  return predict_with(row, [&](uint64_t k) { return table.weight(k); });
}

caf::error train_in_process(sparse_table& table,
                            const std::vector<sparse_row>& rows, size_t batch,
                            size_t epochs) {
  if (batch == 0)
    return make_error(errc::invalid_argument, "batch size 0: must be >= 1");
  for (size_t e = 0; e < epochs; ++e)
    for (size_t b = 0; b < rows.size(); b += batch) {
      auto end = std::min(rows.size(), b + batch);
      auto keys = keys_of(rows, b, end);
      auto g = gradient(rows, b, end, keys, table.pull(keys));
      if (!g) return g.error();
      if (auto err = table.push(g->keys, g->grads)) return err;
    }
  return caf::none;
}

} // namespace troupe::training
