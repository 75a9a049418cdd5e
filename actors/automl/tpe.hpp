#pragma once

// The Tree-structured Parzen Estimator (Bergstra et al., "Algorithms for
// Hyper-Parameter Optimization", NIPS 2011), with Optuna's TPESampler
// defaults. Plain C++, no CAF actors.
//
// How a suggestion is made:
//
// 1. Start-up. While fewer than `n_startup_trials` trials are finished
//    (complete, pruned, or paused with an intermediate value), the
//    configuration is drawn at random.
// 2. Split. The finished trials are ranked, best first:
//      - complete trials with a value, by value (a NaN value is ignored);
//        in a multi-objective study (complete trials carry secondary
//        objectives), by their place in non-dominated order instead:
//        non-dominated rank, then crowding distance, then id (pareto.hpp),
//        as MOTPE (Ozaki et al., GECCO 2020) splits them, except that the
//        last rank that fits is cut by crowding rather than by hypervolume
//        contribution;
//      - then pruned and paused trials that reported intermediate values:
//        first by their last reported step, later steps ranking better, then
//        by the value at that step (NaN worst), as Optuna ranks them;
//      - then pruned trials that reported nothing.
//    The best gamma(N) of the N finished trials form the good set, the rest
//    the bad set. Failed trials are ignored.
// 3. Constant liar. Pending and running trials (and paused ones that
//    reported nothing) join the bad set as if they had finished with the
//    worst value seen, so a worker is steered away from what the others are
//    trying. They never enter the good set and do not count in N. (Optuna's
//    `constant_liar` also ranks them last but counts them in N; not counting
//    them keeps the good set the same however many workers are busy.) Off:
//    they are ignored.
// 4. Per parameter, in the order of the space (parents first), for those
//    active given the values chosen so far: l(x) is fitted to the good
//    trials where the parameter is active and g(x) to the bad ones (so
//    conditional parameters are modelled only where they exist).
//      - float and int: a mixture of truncated Gaussians in the parameter's
//        (log for log parameters) scale, one at each observation plus a
//        prior at the middle of the range with sigma = the range. Each
//        observation's sigma is the larger gap to its sorted neighbours
//        (bounds included, outermost ones use their inner gap), clipped to
//        [range / min(100, n + 2), range] (Optuna's "magic clip"). Ints use
//        [low - 0.5, high + 0.5] and probability mass over each integer's
//        cell.
//      - categorical: each observation is a kernel putting 1 + w/(n+1) on
//        its choice and w/(n+1) on every other (w the prior weight),
//        normalised, and the prior a uniform kernel.
//      - Mixture weights are Optuna's default: 1 each for up to 25
//        observations; beyond that the oldest n - 25 ramp linearly from 1/n
//        up to 1. The prior weighs `prior_weight`.
//    `n_ei_candidates` values are drawn from l, and the one with the highest
//    l(x) / g(x) is taken.
// 5. Maximising ranks by the negated value; nothing else changes.

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "actors/automl/sampler.hpp"

namespace troupe::automl {

/// Optuna's default good-set size: min(ceil(0.1 n), 25).
size_t default_gamma(size_t n);

/// Optuna's default mixture weights for n observations, oldest first.
std::vector<double> default_weights(size_t n);

/// Settings of TPE; the defaults are Optuna's except for the constant liar.
struct tpe_options {
  /// Trials drawn at random before the model is used.
  size_t n_startup_trials = 10;
  /// Values drawn from l(x) per parameter, of which the best is taken.
  size_t n_ei_candidates = 24;
  /// Weight of the prior component (positive).
  double prior_weight = 1.0;
  /// Clip sigmas from below by range / min(100, n + 2); otherwise by 1e-12.
  bool consider_magic_clip = true;
  /// Let the outermost observations' sigmas reach to the bounds.
  bool consider_endpoints = false;
  /// Count pending and running trials as bad (see above).
  bool constant_liar = true;
  /// Good-set size given the number of finished trials; empty means
  /// `default_gamma`.
  std::function<size_t(size_t)> gamma;
};

/// How TPE divides a study's trials; indices into the history, oldest first.
struct tpe_split {
  std::vector<size_t> good;
  std::vector<size_t> bad;
  /// Finished trials: complete, pruned, and paused with values.
  size_t finished = 0;
};

/// Splits `history` into good and bad trials by the rules above.
tpe_split split_trials(const std::vector<trial_record>& history, direction dir,
                       const tpe_options& opts = {});

/// Independent TPE: each parameter modelled on its own.
class tpe_sampler : public sampler {
public:
  explicit tpe_sampler(tpe_options opts = {});
  ~tpe_sampler() override;
  tpe_sampler(tpe_sampler&&) noexcept;
  tpe_sampler& operator=(tpe_sampler&&) noexcept;

  std::string name() const override { return "tpe"; }

  config suggest(const search_space& space,
                 const std::vector<trial_record>& history, direction dir,
                 std::mt19937_64& rng) override;

  const tpe_options& options() const { return opts_; }

private:
  struct workspace;
  /// Reads the good and bad trials' parameters into the workspace.
  void extract(const search_space& space,
               const std::vector<trial_record>& history);

  tpe_options opts_;
  /// Buffers reused across calls, so a suggestion allocates little.
  std::unique_ptr<workspace> ws_;
};

} // namespace troupe::automl
