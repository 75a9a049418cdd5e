#pragma once

// CASH's family pruning: a family that is clearly losing stops receiving
// trials, as auto-sklearn's and FLAML's searches stop spending on hopeless
// learners. A family is dropped once it and the leading family (the one
// whose best trial is best) each have `min_trials` trials with a value,
// and its best value is worse than the leader's median trial value: even
// its best trial would sit in the leader's worse half. Values are each
// trial's final value, or its best intermediate one for trials that
// stopped early (pruned trials count at the fidelity they reached, which
// only makes a family look worse than it is when it is already behind at
// every fidelity). The leader is never dropped. Plain C++.

#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "actors/automl/space.hpp"
#include "actors/automl/types.hpp"

namespace troupe::automl {

class family_gate {
public:
  /// A gate over the CASH space's "family" parameter (an empty `families`
  /// lets everything through: a single-family study).
  family_gate(std::vector<std::string> families, direction dir,
              size_t min_trials = 8);

  /// The families dropped after `history`.
  std::set<std::string> dropped(const std::vector<trial_record>& history) const;

  /// A configuration of a family still searched: `draw` proposes (up to
  /// `tries` times); if it keeps proposing dropped families, a uniform
  /// draw of `space` restricted to the live families is taken.
  config choose(const std::function<config()>& draw,
                const std::vector<trial_record>& history,
                const search_space& space, std::mt19937_64& rng,
                size_t tries = 16) const;

private:
  std::vector<std::string> families_;
  direction dir_;
  size_t min_trials_;
};

} // namespace troupe::automl
