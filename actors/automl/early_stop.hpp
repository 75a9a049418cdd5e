#pragma once

// Early stopping inside a trial: a trial whose validation metric has not
// improved for `patience` steps ends, keeping its best step (the refit
// trains that many rounds) and its best value. Its rounds then follow its
// learning rate: a fast learner stops early, a slow one trains on up to the
// study's max_resource. Plain C++, no CAF actors.

#include <cstdint>
#include <limits>

namespace troupe::automl {

class early_stop {
public:
  /// `patience` 0: never stops.
  early_stop(uint64_t patience, bool maximize)
      : patience_(patience), maximize_(maximize) {}

  /// Records the metric at `step` (steps increase); true once the best step
  /// is `patience` or more steps behind. NaN never improves, and a trial
  /// that has only seen NaN does not stop.
  bool observe(uint64_t step, double value) {
    if (value == value && // not NaN
        (!seen_ || (maximize_ ? value > best_ : value < best_))) {
      best_ = value;
      best_step_ = step;
      seen_ = true;
    }
    return seen_ && patience_ > 0 && step >= best_step_ + patience_;
  }

  bool seen() const { return seen_; }
  double best() const { return best_; }
  uint64_t best_step() const { return best_step_; }

private:
  uint64_t patience_;
  bool maximize_;
  bool seen_ = false;
  double best_ = std::numeric_limits<double>::quiet_NaN();
  uint64_t best_step_ = 0;
};

} // namespace troupe::automl
