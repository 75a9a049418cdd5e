#pragma once

// Evolutionary search over a trained supernet (as in Single-Path One-Shot and
// Once-for-All): a population of networks within the limits, the best of
// each generation kept as parents, children made by mutation and by uniform
// crossover, each child brought within the limits. Plain C++.

#include <cstddef>

#include "actors/nas/sampler.hpp"
#include "actors/nas/strategy.hpp"

namespace troupe::nas {

/// Evolution's settings.
struct evolution_options {
  size_t population = 16;
  /// Parents kept from each generation (the best ones).
  size_t parents = 4;
  /// Evaluations in all (the first population included).
  size_t budget = 64;
  /// Probability that a mutation redraws one decision.
  double mutate_prob = 0.15;
  /// Share of children made by crossover (the rest by mutation).
  double crossover_share = 0.5;
};

/// Runs evolution: every candidate it evaluates, and the one it returns, is
/// within the sampler's limits. A network already evaluated is not evaluated
/// again (its score is remembered), and does not count against the budget.
search_result evolve(sampler& s, const evaluator& eval,
                     const evolution_options& opts);

} // namespace troupe::nas
