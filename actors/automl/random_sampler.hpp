#pragma once

// Random search: every configuration drawn uniformly from the space.

#include "actors/automl/sampler.hpp"

namespace troupe::automl {

/// Draws each configuration uniformly (log-uniformly on log scales) and
/// independently of the history: the baseline every other sampler must beat,
/// and TPE's start-up phase.
class random_sampler : public sampler {
public:
  std::string name() const override { return "random"; }

  config suggest(const search_space& space,
                 const std::vector<trial_record>& history, direction dir,
                 std::mt19937_64& rng) override;
};

} // namespace troupe::automl
