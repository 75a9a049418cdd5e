#include "actors/training/sparse_table.hpp"

#include <cmath>

#include "runtime/errors.hpp"

namespace troupe::training {

std::string to_string(sparse_optimizer x) {
  return x == sparse_optimizer::ftrl ? "ftrl" : "adagrad";
}

caf::expected<sparse_optimizer> parse_sparse_optimizer(const std::string& x) {
  if (x == "ftrl") return sparse_optimizer::ftrl;
  if (x == "adagrad") return sparse_optimizer::adagrad;
  return make_error(errc::invalid_argument,
                    "unknown optimizer '" + x + "' (expected ftrl or adagrad)");
}

caf::error sparse_params::check() const {
  auto bad = [](const std::string& what, double v, const std::string& rule) {
    return make_error(errc::invalid_argument,
                      what + " = " + std::to_string(v) + ": must be " + rule);
  };
  if (!(alpha > 0) || !std::isfinite(alpha)) return bad("alpha", alpha, "> 0");
  if (!(beta >= 0) || !std::isfinite(beta)) return bad("beta", beta, ">= 0");
  if (!(l1 >= 0) || !std::isfinite(l1)) return bad("l1", l1, ">= 0");
  if (!(l2 >= 0) || !std::isfinite(l2)) return bad("l2", l2, ">= 0");
  return caf::none;
}

uint64_t first_key_of(uint32_t s, uint32_t shards) {
  if (s == 0 || shards == 0) return 0;
  // the smallest key k with k * shards >= s * 2^64
  auto num = static_cast<unsigned __int128>(s) << 64;
  return static_cast<uint64_t>((num + shards - 1) / shards);
}

double sparse_table::weight_of(const state& s) const {
  if (params_.optimizer == sparse_optimizer::adagrad) return s.z;
  if (std::abs(s.z) <= params_.l1) return 0;
  auto sign = s.z < 0 ? -1.0 : 1.0;
  return -(s.z - sign * params_.l1) /
         ((params_.beta + std::sqrt(s.n)) / params_.alpha + params_.l2);
}

const sparse_table::state* sparse_table::find(uint64_t key) const {
  if (slots_.empty()) return nullptr;
  auto mask = slots_.size() - 1;
  for (size_t i = mix_key(key) & mask;; i = (i + 1) & mask) {
    auto& x = slots_[i];
    if (x.s.n < 0) return nullptr;
    if (x.key == key) return &x.s;
  }
}

sparse_table::state& sparse_table::at(uint64_t key) {
  if (2 * (size_ + 1) > slots_.size()) grow();
  auto mask = slots_.size() - 1;
  for (size_t i = mix_key(key) & mask;; i = (i + 1) & mask) {
    auto& x = slots_[i];
    if (x.s.n < 0) {
      x.key = key;
      x.s = state{};
      ++size_;
      return x.s;
    }
    if (x.key == key) return x.s;
  }
}

void sparse_table::grow() {
  auto old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : 2 * old.size(), slot{});
  size_ = 0;
  for (auto& x : old)
    if (x.s.n >= 0) at(x.key) = x.s;
}

float sparse_table::weight(uint64_t key) const {
  auto* s = find(key);
  return s ? static_cast<float>(weight_of(*s)) : 0.f;
}

std::vector<float> sparse_table::pull(const std::vector<uint64_t>& keys) const {
  std::vector<float> out;
  out.reserve(keys.size());
  for (auto k : keys)
    out.push_back(weight(k));
  return out;
}

caf::error sparse_table::push(const std::vector<uint64_t>& keys,
                              const std::vector<float>& grads) {
  if (keys.size() != grads.size())
    return make_error(errc::invalid_argument,
                      "a push of " + std::to_string(keys.size()) +
                          " keys carries " + std::to_string(grads.size()) +
                          " gradients");
  for (size_t i = 0; i < keys.size(); ++i) {
    double g = grads[i];
    if (!std::isfinite(g))
      return make_error(errc::invalid_argument,
                        "a push carries a non-finite gradient for key " +
                            std::to_string(keys[i]));
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    double g = grads[i];
    auto& s = at(keys[i]);
    if (params_.optimizer == sparse_optimizer::adagrad) {
      g += params_.l2 * s.z;
      s.n += g * g;
      s.z -= params_.alpha * g / (std::sqrt(s.n) + 1e-12);
      continue;
    }
    auto w = weight_of(s);
    auto sigma = (std::sqrt(s.n + g * g) - std::sqrt(s.n)) / params_.alpha;
    s.z += g - sigma * w;
    s.n += g * g;
  }
  return caf::none;
}

size_t sparse_table::bytes() const {
  return slots_.size() * sizeof(slot);
}

std::vector<sparse_table::entry> sparse_table::entries() const {
  std::vector<entry> out;
  out.reserve(size_);
  for (auto& x : slots_)
    if (x.s.n >= 0) out.push_back({x.key, x.s.z, x.s.n});
  return out;
}

void sparse_table::weights(std::vector<uint64_t>& keys,
                           std::vector<float>& out) const {
  keys.reserve(keys.size() + size_);
  out.reserve(out.size() + size_);
  for (auto& x : slots_)
    if (x.s.n >= 0) {
      keys.push_back(x.key);
      out.push_back(static_cast<float>(weight_of(x.s)));
    }
}

void sparse_table::restore(const std::vector<entry>& xs) {
  for (auto& e : xs)
    at(e.key) = {e.z, e.n};
}

} // namespace troupe::training
