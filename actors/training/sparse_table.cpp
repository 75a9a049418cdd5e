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

float sparse_table::weight(uint64_t key) const {
  auto i = state_.find(key);
  return i == state_.end() ? 0.f : static_cast<float>(weight_of(i->second));
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
    auto& s = state_[keys[i]];
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
  // a node per entry (key, state, next pointer, cached hash) and a bucket
  // pointer per bucket
  return state_.size() *
             (sizeof(uint64_t) + sizeof(state) + 2 * sizeof(void*)) +
         state_.bucket_count() * sizeof(void*);
}

std::vector<sparse_table::entry> sparse_table::entries() const {
  std::vector<entry> out;
  out.reserve(state_.size());
  for (auto& [k, s] : state_)
    out.push_back({k, s.z, s.n});
  return out;
}

void sparse_table::restore(const std::vector<entry>& xs) {
  for (auto& e : xs)
    state_[e.key] = {e.z, e.n};
}

} // namespace troupe::training
