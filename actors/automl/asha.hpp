#pragma once

// Asynchronous successive halving (ASHA; Li et al., "A System for Massively
// Parallel Hyperparameter Tuning", MLSys 2020).
//
// Rungs sit at the budgets r·η^k below R (r = min_resource, the grace
// period). Two formulations:
//
// - asha_mode::stop (Ray Tune's ASHAScheduler, the CLI default): trials train
//   on without pausing. When a trial first reports at or past a rung, its
//   result is recorded there and it goes on only if it ranks in the top
//   max(1, ⌊n/η⌋) of the n results recorded at that rung so far, itself
//   included; otherwise it stops. No checkpoints are needed, which is why
//   the CLI uses it. Early trials pass easily; the rule tightens as the rung
//   fills.
// - asha_mode::promote (the paper's get_job): every trial pauses when it
//   reaches its rung. When a slot frees, next() promotes, from the highest
//   rung down, a paused trial in the top ⌊n/η⌋ of its rung that was not yet
//   promoted, resuming it to the next rung's budget (R from the last rung);
//   only when there is none does it start a new trial. When all n results
//   of a rung are in before anyone asks for work, exactly the top ⌊n/η⌋ are
//   promoted. If next() names the trial that just paused, the study may go
//   on from the model in memory.
//
// Ties rank the earlier trial id first. ASHA never answers wait or done: the
// study's trial or time budget ends the search.
//
// Multi-objective studies (on_result_objectives with two or more values):
// a rung ranks its results by non-dominated sorting (pareto.hpp): NDS rank,
// then crowding distance (larger first), then trial id; "the top 1/η" is
// taken in that order. In stop mode a trial whose result no recorded result
// dominates (each trial's latest rung result, or its final one once
// complete) is on the current front and is never stopped, whatever its
// place in the rung.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "actors/automl/trial_scheduler.hpp"

namespace troupe::automl {

/// Which ASHA formulation to run.
enum class asha_mode { stop, promote };

/// Asynchronous successive halving with one bracket.
class asha : public trial_scheduler {
public:
  struct options : budget_options {
    asha_mode mode = asha_mode::stop;
  };

  /// Requires valid budget options (see validate()).
  explicit asha(options opts);

  std::string_view name() const override { return "asha"; }
  void on_trial_add(trial_id id, const config& params,
                    int64_t bracket) override;
  decision on_result(trial_id id, uint64_t step, double value) override;
  void on_complete(trial_id id, double value) override;
  void on_error(trial_id id) override;
  decision on_result_objectives(trial_id id, uint64_t step,
                                const std::vector<double>& values) override;
  void on_complete_objectives(trial_id id,
                              const std::vector<double>& values) override;
  work next() override;

  /// The rung budgets r·η^k < R, lowest first.
  const std::vector<uint64_t>& rungs() const { return milestones_; }

  /// How many results are recorded at rung k (over every group).
  size_t recorded(size_t k) const;

  /// How many trials were promoted out of rung k (promote mode).
  size_t promoted(size_t k) const;

private:
  enum class state { running, paused, stopped, complete, failed };

  struct trial_info {
    state st = state::running;
    /// promote mode: the rung the trial trains toward.
    size_t rung = 0;
    /// Its group: a CASH configuration's family, "" otherwise. Trials are
    /// ranked only against their own group's at a rung: families reach
    /// their quality at different fidelities (a boosted model at 9 rounds
    /// is far from its best, a k-NN model is at it), so one ranking would
    /// stop every slow starter.
    std::string group;
  };

  struct rung {
    /// (loss, id), best first.
    std::set<std::pair<double, trial_id>> ranked;
    std::map<trial_id, double> results;
    std::set<trial_id> promoted;
    /// Multi-objective: every result's losses, by trial.
    std::map<trial_id, std::vector<double>> losses;
  };

  trial_info& info(trial_id id);
  /// The rungs of `id`'s group.
  std::vector<rung>& rungs_of(trial_id id);
  uint64_t budget_of(size_t k) const;
  decision on_result_stop(trial_id id, trial_info& t, uint64_t step,
                          double loss);
  decision on_result_promote(trial_id id, trial_info& t, uint64_t step,
                             double loss);
  void record(size_t k, trial_id id, double loss);
  /// Rung k's trials of a group best first: by loss, or
  /// (multi-objective) by NDS.
  std::vector<trial_id> ranked_ids(const std::vector<rung>& rungs,
                                   size_t k) const;
  /// Whether no recorded result of another trial dominates `losses`.
  bool on_front(trial_id id, const std::vector<double>& losses) const;

  options opts_;
  std::vector<uint64_t> milestones_;
  /// Each group's rungs.
  std::map<std::string, std::vector<rung>> rungs_;
  std::map<trial_id, trial_info> trials_;
  /// Multi-objective: each trial's latest recorded losses (a rung result,
  /// or its final result once complete); failed trials are dropped.
  std::map<trial_id, std::vector<double>> latest_;
};

} // namespace troupe::automl
