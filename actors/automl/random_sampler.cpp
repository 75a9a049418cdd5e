#include "actors/automl/random_sampler.hpp"

namespace troupe::automl {

config random_sampler::suggest(const search_space& space,
                               const std::vector<trial_record>&, direction,
                               std::mt19937_64& rng) {
  return space.sample(rng);
}

} // namespace troupe::automl
