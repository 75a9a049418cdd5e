#pragma once

// Population-based training (Jaderberg et al., 2017), as Ray Tune's PBT
// scheduler does it: a population of trials trains in intervals of
// min_resource steps and pauses at the end of each (so a checkpoint
// exists); before a paused member goes on, if its last value is in the
// population's bottom quantile it is replaced: the study prunes it and
// starts a child from a top-quantile member's checkpoint (exploit) with
// that member's configuration perturbed (explore). Plain C++, no CAF.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "actors/automl/trial_scheduler.hpp"

namespace troupe::automl {

class pbt : public trial_scheduler {
public:
  struct options : budget_options {
    /// Trials training at once (the population).
    size_t population = 8;
    /// The bottom and top share of the population that exploits and is
    /// copied.
    double quantile = 0.25;
    uint64_t seed = 0;
  };

  /// `perturb` explores: a configuration near its argument.
  pbt(options o,
      std::function<config(const config&, std::mt19937_64&)> perturb);

  std::string_view name() const override { return "pbt"; }
  void on_trial_add(trial_id id, const config& params,
                    int64_t bracket) override;
  decision on_result(trial_id id, uint64_t step, double value) override;
  void on_complete(trial_id id, double value) override;
  void on_error(trial_id id) override;
  work next() override;
  std::vector<trial_id> take_pruned() override;
  bool keeps_checkpoints() const override { return true; }

  /// Children started so far: child -> the member it copied.
  const std::map<trial_id, trial_id>& parents() const { return parents_; }

private:
  struct member {
    config params;
    uint64_t step = 0;   ///< steps trained (its last report)
    double loss = NAN;   ///< its last value, as a loss
    bool paused = false; ///< waiting at an interval's end, checkpointed
    uint64_t saved = 0;  ///< the step of its last checkpoint (0: none)
    bool alive = true;   ///< in the population
  };

  /// The alive members with a value, best first.
  std::vector<trial_id> ranking() const;

  options opts_;
  std::function<config(const config&, std::mt19937_64&)> perturb_;
  std::mt19937_64 rng_;
  std::map<trial_id, member> members_;
  std::map<trial_id, trial_id> parents_;
  /// The child next() handed out and on_trial_add is about to tell of.
  std::optional<std::pair<trial_id, uint64_t>> pending_; // (parent, step)
  std::vector<trial_id> pruned_;
  size_t alive_ = 0;
};

} // namespace troupe::automl
