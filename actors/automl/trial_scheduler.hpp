#pragma once

// Trial schedulers: early stopping and budget allocation for a study, modelled
// on Ray Tune's TrialScheduler. Plain C++, no CAF, no clock: deterministic
// state machines a study actor drives.
//
// The protocol, seen from the study:
//
//   loop while a slot is free:
//     work w = sched.next();
//     start  -> id = new trial; params = w.params or the study's sampler;
//               sched.on_trial_add(id, params, w.bracket);
//               train from scratch to w.budget
//     resume -> load w.id's checkpoint; train it on to w.budget
//     wait   -> leave the slot idle until a report, completion or failure
//     done   -> the scheduler has no more work (finite Hyperband only)
//   on each report (step, value): decision d = sched.on_result(id, step, v)
//     proceed -> keep training, up to d.budget (report there at the latest)
//     pause   -> save a checkpoint, free the slot (the trial may be resumed)
//     stop    -> end the trial as pruned, free the slot
//   a trial that reaches max_resource (or ends on its own) -> on_complete;
//   a trial that crashes, or whose checkpoint is lost     -> on_error.
//   after each call, take_pruned() names paused trials the scheduler has
//   since given up on: mark them pruned, drop their checkpoints.
//
// Fidelity ("step", "budget", "resource") is the model's natural budget:
// boosting rounds or epochs. Reports may come at any steps; schedulers only
// need one at each budget they hand out. A report at a step >= max_resource
// is the trial's last: the answer is proceed and the study completes it.

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "actors/automl/types.hpp"

namespace troupe::automl {

/// What a trial does after a report.
enum class action { proceed, pause, stop };

/// A scheduler's answer to one report.
struct decision {
  action what = action::proceed;
  /// With proceed: the step to train to, reporting there at the latest.
  uint64_t budget = 0;
};

/// What a free slot should run next.
struct work {
  enum class kind { start, resume, wait, done };
  kind what = kind::start;
  /// resume: the paused trial to resume from its checkpoint.
  trial_id id = 0;
  /// start, resume: the step to train to (and report at).
  uint64_t budget = 0;
  /// start: the Hyperband bracket to pass to on_trial_add (-1: none).
  int64_t bracket = -1;
  /// start: the configuration to use (BOHB); empty: the study samples one.
  std::optional<config> params;
  /// start: begin from a copy of this paused trial's checkpoint (PBT's
  /// exploit) instead of from scratch.
  std::optional<trial_id> from;
};

/// Budget settings shared by the resource-aware schedulers.
struct budget_options {
  /// Whether smaller or larger reported values are better.
  direction dir = direction::minimize;
  /// r: the smallest budget (ASHA's grace period, Hyperband's r).
  uint64_t min_resource = 1;
  /// R: the full budget; a trial that reaches it is complete.
  uint64_t max_resource = 81;
  /// η: the reduction factor (keep the top 1/η at each rung), >= 2.
  uint64_t eta = 3;
};

/// Decides, for a study, which trials go on, pause or stop, and what a free
/// slot runs next.
class trial_scheduler {
public:
  virtual ~trial_scheduler() = default;

  /// The scheduler's CLI name ("asha", "hyperband", ...).
  virtual std::string_view name() const = 0;

  /// Tells of a new trial, started as answered by next() (bracket from the
  /// work item; -1 lets the scheduler choose).
  virtual void on_trial_add(trial_id id, const config& params,
                            int64_t bracket) = 0;

  /// Judges an intermediate result of a running trial at `step`.
  virtual decision on_result(trial_id id, uint64_t step, double value) = 0;

  /// Tells that a trial finished: it reached max_resource or ended on its
  /// own, with final `value`.
  virtual void on_complete(trial_id id, double value) = 0;

  /// Tells that a trial failed or was removed; it never runs again.
  virtual void on_error(trial_id id) = 0;

  /// Multi-objective studies: judges a result with every objective's value,
  /// `values[0]` the metric as reported (its direction is
  /// budget_options::dir), then the secondary objectives (minimized). The
  /// default judges by the metric alone; ASHA ranks by non-dominated sort.
  virtual decision on_result_objectives(trial_id id, uint64_t step,
                                        const std::vector<double>& values) {
    return on_result(id, step, values.empty() ? std::nan("") : values[0]);
  }

  /// Multi-objective studies: on_complete with every objective's value.
  virtual void on_complete_objectives(trial_id id,
                                      const std::vector<double>& values) {
    on_complete(id, values.empty() ? std::nan("") : values[0]);
  }

  /// Chooses what a free slot runs next.
  virtual work next() = 0;

  /// Paused trials the scheduler has stopped since the last call.
  virtual std::vector<trial_id> take_pruned() { return {}; }

  /// Whether a resumed trial's last checkpoint is kept (PBT copies it into
  /// the children that exploit the trial while it trains on).
  virtual bool keeps_checkpoints() const { return false; }
};

/// The scheduler for `--scheduler none`: every trial trains to max_resource
/// in arrival order; never pauses, never stops.
class fifo_scheduler : public trial_scheduler {
public:
  explicit fifo_scheduler(uint64_t max_resource)
      : max_resource_(max_resource) {}

  std::string_view name() const override { return "none"; }
  void on_trial_add(trial_id, const config&, int64_t) override {}
  decision on_result(trial_id, uint64_t, double) override {
    return {action::proceed, max_resource_};
  }
  void on_complete(trial_id, double) override {}
  void on_error(trial_id) override {}
  work next() override {
    work w;
    w.budget = max_resource_;
    return w;
  }

private:
  uint64_t max_resource_;
};

/// Where BOHB gets new configurations. The scheduler decides which source
/// to call; the sources own the search space and the model.
struct config_sources {
  /// Draws a configuration uniformly from the search space.
  std::function<config()> random;
  /// Proposes a configuration from a model (TPE) fitted on `observations`:
  /// the trials with a result at `budget`, the largest budget that has
  /// enough of them. Each record is complete, its value the result at that
  /// budget as reported (not negated for maximize).
  std::function<config(uint64_t budget,
                       const std::vector<trial_record>& observations)>
      model;
  /// A configuration near `c` (PBT's explore).
  std::function<config(const config& c, std::mt19937_64& rng)> perturb;
};

/// Maps a reported value to a loss: smaller is better whatever the
/// direction; NaN is worse than anything.
inline double to_loss(direction dir, double value) {
  if (std::isnan(value)) return std::numeric_limits<double>::infinity();
  return dir == direction::minimize ? value : -value;
}

/// Maps a multi-objective result to losses: the metric through to_loss, the
/// secondary objectives as they are (minimized); NaN is worse than anything.
inline std::vector<double> to_losses(direction dir,
                                     const std::vector<double>& values) {
  std::vector<double> out;
  out.reserve(values.size());
  for (size_t k = 0; k < values.size(); ++k)
    out.push_back(k == 0 ? to_loss(dir, values[k])
                  : std::isnan(values[k])
                      ? std::numeric_limits<double>::infinity()
                      : values[k]);
  return out;
}

/// Names of an action and a work kind, for logs and tests.
std::string to_string(action x);
std::string to_string(work::kind x);

/// Checks budget settings: 1 <= min_resource <= max_resource, eta >= 2.
/// The error names the field and the value.
caf::error validate(const budget_options& opts);

/// Makes the scheduler the CLI names: "asha" (the stop-based variant),
/// "hyperband", "bohb" (needs both sources), "median" or "none". Other
/// settings take their defaults. Errors name the bad name or setting.
caf::expected<std::unique_ptr<trial_scheduler>>
make_scheduler(std::string_view name, const budget_options& opts,
               config_sources sources = {}, uint64_t seed = 0);

} // namespace troupe::automl
