#pragma once

// Rows from a planted logistic model over hashed keys, for the parameter
// server's tests: `features` keys with normal weights (the same model for
// every seed), each row `active` distinct ones, its label drawn from the
// model's probability with margin offset `bias`.

#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "actors/training/sparse_lr.hpp"

namespace troupe::training::test {

inline std::vector<sparse_row> planted(size_t n, size_t features, size_t active,
                                       uint64_t seed, double bias = 0,
                                       uint64_t key_mask = ~uint64_t{0}) {
  std::mt19937_64 rng{42};
  std::vector<uint64_t> key(features);
  std::vector<double> w(features);
  std::normal_distribution<double> normal{0, 1};
  for (size_t f = 0; f < features; ++f) {
    key[f] = 1 + (rng() & key_mask);
    w[f] = normal(rng);
  }
  std::mt19937_64 draw{seed};
  std::uniform_int_distribution<size_t> pick{0, features - 1};
  std::uniform_real_distribution<double> unit{0, 1};
  std::vector<sparse_row> rows(n);
  for (auto& r : rows) {
    std::set<size_t> fs;
    while (fs.size() < active)
      fs.insert(pick(draw));
    double margin = bias;
    for (auto f : fs) {
      r.keys.push_back(key[f]);
      margin += w[f];
    }
    r.label = unit(draw) < 1 / (1 + std::exp(-margin)) ? 1.f : 0.f;
  }
  return rows;
}

} // namespace troupe::training::test
