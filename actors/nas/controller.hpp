#pragma once

// The reinforcement-learning search strategy (NAS-RL style, with a
// per-decision policy as in ENAS's simplest form): one softmax over the
// options of each decision, trained by REINFORCE with a moving-average
// baseline; the reward of a network is its score (validation accuracy with
// the supernet's weights). A sample over the limits is not evaluated: its
// reward is 0, which teaches the policy the limits. Plain C++.

#include <cstddef>
#include <vector>

#include "actors/nas/sampler.hpp"
#include "actors/nas/strategy.hpp"

namespace troupe::nas {

/// The controller's settings.
struct controller_options {
  /// Evaluations in all.
  size_t budget = 64;
  /// Samples per policy update.
  size_t batch = 4;
  double learning_rate = 0.5;
  /// Weight of the moving-average baseline's past (0: last batch only).
  double baseline_decay = 0.8;
  /// Bonus on the policy's entropy, against an early collapse.
  double entropy_weight = 0.01;
};

/// A softmax policy over each decision of a space.
class controller {
public:
  controller(const search_space& space, const controller_options& opts);

  /// Draws one choice per decision.
  genes sample(std::mt19937_64& rng) const;

  /// One REINFORCE step over a batch of (choices, reward): logits move along
  /// (reward - baseline) x grad log p(choices), inactive decisions excluded;
  /// the baseline then moves toward the batch's mean reward.
  void update(const std::vector<genes>& batch,
              const std::vector<double>& rewards);

  /// Probability of each option of decision i.
  std::vector<double> probabilities(size_t i) const;

  /// The most probable choices.
  genes mode() const;

  double baseline() const { return baseline_; }

private:
  const search_space* space_;
  controller_options opts_;
  std::vector<std::vector<double>> logits_;
  double baseline_ = 0;
  bool has_baseline_ = false;
};

/// Runs the controller's search: it samples, evaluates the samples within
/// the limits, and updates the policy, until `budget` evaluations (each
/// distinct network evaluated once, as in evolve). Returns the best network
/// evaluated, always within the sampler's limits (if the policy's samples
/// are all over the limits for 50 x budget draws, the rest are drawn by the
/// sampler).
search_result search_rl(sampler& s, const evaluator& eval,
                        const controller_options& opts);

} // namespace troupe::nas
