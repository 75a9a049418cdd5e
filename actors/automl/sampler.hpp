#pragma once

// The interface of search algorithms that propose configurations: random
// search and TPE now, others later. Plain C++, no CAF actors.

#include <random>
#include <string>
#include <vector>

#include "actors/automl/space.hpp"
#include "actors/automl/types.hpp"

namespace troupe::automl {

/// Proposes the configuration of a study's next trial from what the study
/// has seen so far.
///
/// The study actor owns one sampler, its search space, its history and its
/// random generator, and calls `suggest` whenever a slot asks for work; the
/// call is synchronous and cheap (TPE at 1,000 past trials: about 0.13 ms
/// with one parameter, 3 ms with 16; see tests/bench/results/bench_tpe.txt),
/// so an event-based actor may make it in a handler.
///
/// `history` is every trial of the study in any state, oldest first:
/// complete trials with their `value`, pruned and paused ones with their
/// `intermediate` values, failed ones, and pending or running ones (so a
/// sampler can avoid proposing what parallel workers are already trying).
/// Samplers skip trials whose parameters don't fit `space` (a changed space
/// on resume).
///
/// A scheduler that models fidelities (BOHB) asks for a configuration by
/// passing its own history, for instance the trials that reached one budget,
/// each as complete with `value` set to its result at that budget.
///
/// A sampler may cache between calls; an instance serves one study at a time
/// and is not thread-safe. Given equal inputs and an equal generator state,
/// it returns equal configurations.
class sampler {
public:
  virtual ~sampler() = default;

  /// The algorithm's name for logs and summaries ("random", "tpe").
  virtual std::string name() const = 0;

  /// Proposes a configuration of `space`: every active parameter set,
  /// inactive children absent. Draws its randomness from `rng` only.
  virtual config suggest(const search_space& space,
                         const std::vector<trial_record>& history,
                         direction dir, std::mt19937_64& rng) = 0;
};

} // namespace troupe::automl
