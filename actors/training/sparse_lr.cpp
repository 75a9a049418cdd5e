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

/// A minibatch's keys -> their positions: open addressing over a power of
/// two at least twice the keys (a minibatch's few thousand keys fit in
/// cache; sorting them, or std::unordered_map's nodes, cost most of a step).
class key_index {
public:
  explicit key_index(size_t keys) {
    size_t cap = 16;
    while (cap < 2 * keys + 1)
      cap <<= 1;
    mask_ = cap - 1;
    slots_.assign(cap, empty);
  }

  /// The position of `key`, or `next` after storing it there.
  uint32_t find_or_add(uint64_t key, uint32_t next) {
    for (size_t i = mix_key(key) & mask_;; i = (i + 1) & mask_) {
      auto& s = slots_[i];
      if (s.pos == empty_pos) {
        s = {key, next};
        return next;
      }
      if (s.key == key) return s.pos;
    }
  }

  /// The position of `key`, or -1.
  int64_t find(uint64_t key) const {
    for (size_t i = mix_key(key) & mask_;; i = (i + 1) & mask_) {
      auto& s = slots_[i];
      if (s.pos == empty_pos) return -1;
      if (s.key == key) return s.pos;
    }
  }

private:
  static constexpr uint32_t empty_pos = UINT32_MAX;
  struct slot {
    uint64_t key;
    uint32_t pos;
  };
  static constexpr slot empty{0, empty_pos};
  std::vector<slot> slots_;
  size_t mask_ = 0;
};

size_t occurrences(const std::vector<sparse_row>& rows, size_t begin,
                   size_t end) {
  size_t n = 0;
  for (size_t r = begin; r < end && r < rows.size(); ++r)
    n += rows[r].keys.size();
  return n;
}

} // namespace

std::vector<uint64_t> keys_of(const std::vector<sparse_row>& rows, size_t begin,
                              size_t end) {
  std::vector<uint64_t> keys{bias_key};
  key_index index{occurrences(rows, begin, end) + 1};
  index.find_or_add(bias_key, 0);
  for (size_t r = begin; r < end && r < rows.size(); ++r)
    for (auto k : rows[r].keys)
      if (index.find_or_add(k, static_cast<uint32_t>(keys.size())) ==
          keys.size())
        keys.push_back(k);
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
  key_index index{keys.size()};
  for (size_t i = 0; i < keys.size(); ++i)
    index.find_or_add(keys[i], static_cast<uint32_t>(i));
  sparse_gradient out;
  out.keys = keys;
  out.grads.assign(keys.size(), 0.f);
  std::vector<double> sums(keys.size(), 0.0);
  auto bias = index.find(bias_key);
  std::vector<size_t> at;
  for (size_t r = begin; r < end && r < rows.size(); ++r) {
    auto& row = rows[r];
    double margin = bias < 0 ? 0 : weights[static_cast<size_t>(bias)];
    at.clear();
    for (auto k : row.keys) {
      auto i = index.find(k);
      if (i < 0)
        return make_error(errc::invalid_argument,
                          "row " + std::to_string(r) + " has key " +
                              std::to_string(k) + ", which was not pulled");
      at.push_back(static_cast<size_t>(i));
      margin += weights[static_cast<size_t>(i)];
    }
    auto p = sigmoid(margin);
    double y = row.label;
    auto eps = 1e-15;
    out.loss -= y * std::log(std::max(p, eps)) +
                (1 - y) * std::log(std::max(1 - p, eps));
    auto g = p - y;
    if (bias >= 0) sums[static_cast<size_t>(bias)] += g;
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
