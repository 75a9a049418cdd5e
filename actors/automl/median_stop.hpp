#pragma once

// The median stopping rule (Golovin et al., "Google Vizier: A Service for
// Black-Box Optimization", KDD 2017), as in Ray Tune's MedianStoppingRule.
//
// A running trial that reports at step t >= grace_period is stopped when its
// best result so far is worse than the median, over the other trials that
// have reached step t, of their running averages (the mean of their results
// at steps in [grace_period, t]). Fewer than min_samples such trials: it goes
// on. With only_completed (Vizier's wording), only completed trials count;
// by default (Ray's) any trial that got that far counts, stopped ones
// included. Failed trials never count. No trial is stopped at a step below
// the grace period or at max_resource, and nothing ever pauses.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "actors/automl/trial_scheduler.hpp"

namespace troupe::automl {

/// Stops trials whose best is worse than the median of the others' averages.
class median_stop : public trial_scheduler {
public:
  struct options {
    direction dir = direction::minimize;
    /// No trial is judged at a step below this.
    uint64_t grace_period = 1;
    /// The full budget; every trial trains to it unless stopped.
    uint64_t max_resource = 81;
    /// Other trials needed at a step before anyone is stopped there.
    size_t min_samples = 3;
    /// Compare with completed trials only (Vizier) instead of all (Ray).
    bool only_completed = false;
  };

  explicit median_stop(options opts) : opts_(opts) {}

  std::string_view name() const override { return "median"; }
  void on_trial_add(trial_id id, const config& params,
                    int64_t bracket) override;
  decision on_result(trial_id id, uint64_t step, double value) override;
  void on_complete(trial_id id, double value) override;
  void on_error(trial_id id) override;
  work next() override;

  /// The median the rule compares with at `step`, for `id` (as a loss:
  /// negated for maximize); empty when too few trials got that far.
  std::optional<double> median_at(trial_id id, uint64_t step) const;

private:
  enum class state { running, stopped, complete, failed };

  struct trial_info {
    state st = state::running;
    double best = 0;
    bool has_result = false;
    uint64_t last_step = 0;
    /// Steps >= grace_period, increasing, and prefix sums of their losses.
    std::vector<uint64_t> steps;
    std::vector<double> sums;
  };

  /// Mean loss over the steps in [grace_period, t]; empty when none.
  std::optional<double> running_mean(const trial_info& t, uint64_t step) const;

  options opts_;
  std::map<trial_id, trial_info> trials_;
};

} // namespace troupe::automl
