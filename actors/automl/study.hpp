#pragma once

// A study's search state as a plain class: the spec, the sampler, the trial
// scheduler, every trial and what runs where. The study actor
// (service.hpp) adapts messages to it; tests drive it directly with a
// clock they control. It records every change as journal events, which the
// actor appends to the study journal after each call.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <caf/expected.hpp>

#include "actors/automl/family_gate.hpp"
#include "actors/automl/journal.hpp"
#include "actors/automl/sampler.hpp"
#include "actors/automl/space_file.hpp"
#include "actors/automl/study_spec.hpp"
#include "actors/automl/trial_scheduler.hpp"
#include "runtime/envelope.hpp"

namespace troupe::automl {

/// A trial placed on a slot: what the runner gets.
struct trial_assignment {
  trial_id id = 0;
  uint32_t attempt = 0;
  config params;
  uint64_t budget = 0;
  /// Empty: train from scratch.
  std::vector<uint8_t> checkpoint;
  std::string node;
  uint32_t slot = 0;
};

/// How a trial left its slot (mirrors schema::TrialEnd::Outcome).
enum class trial_outcome { finished, paused, failed, cancelled };

/// The study's overall state.
enum class study_phase { running, stopping, finished };

/// Counters for progress bars and status replies.
struct study_counts {
  uint64_t total = 0;
  uint64_t complete = 0;
  uint64_t running = 0;
  uint64_t pending = 0;
  uint64_t paused = 0;
  uint64_t pruned = 0;
  uint64_t failed = 0;
  uint64_t requeued = 0;
};

/// One trial as the study keeps it.
struct trial_info {
  trial_record rec;
  /// Steps trained so far (from reports).
  uint64_t steps = 0;
  /// The last reported value, NaN if none.
  double last = std::numeric_limits<double>::quiet_NaN();
  /// Multi-objective studies: the secondary objectives of the last report.
  std::vector<double> last_secondary;
  std::string node;
  uint32_t slot = 0;
  uint32_t attempt = 0;
  /// Whether it was ever re-queued (a trial is re-queued at most once per
  /// loss of its node or of the study's process).
  uint64_t requeues = 0;
  /// The budget of its current assignment.
  uint64_t budget = 0;
  /// What its current assignment started from (to re-queue it as it was).
  std::vector<uint8_t> start_checkpoint;
  /// Paused trials: the state to resume from.
  std::vector<uint8_t> checkpoint;
  /// Paused trials waiting for their checkpoint to be resumed to `budget`.
  std::optional<uint64_t> resume_to;
  std::string message;

  /// Its final value, or the last reported one (NaN if none).
  double score() const { return rec.value ? *rec.value : last; }
  /// The secondary objectives of score() (empty if not measured).
  const std::vector<double>& secondary() const {
    return rec.value ? rec.secondary_value : last_secondary;
  }
};

/// A study's search state.
class study_core {
public:
  /// Builds the sampler, scheduler and space of `spec`, and, when `replay`
  /// is given, takes over its trials: finished ones are kept (and fed to
  /// resource-aware schedulers that can take them: asha, median), running
  /// and paused ones are re-queued once to start again from scratch.
  static caf::expected<std::unique_ptr<study_core>>
  make(const study_spec& spec, const replayed_study* replay, int64_t now_ms);

  const study_spec& spec() const { return spec_; }
  study_phase phase() const { return phase_; }
  direction dir() const { return dir_; }

  /// Work for a free slot on `node`; nullopt if there is none now (the
  /// scheduler waits, the budget is spent, or the study is stopping).
  std::optional<trial_assignment> place(const std::string& node, uint32_t slot,
                                        int64_t now_ms);

  /// Whether place() could give work now.
  bool wants_slots(int64_t now_ms) const;

  /// Seeds the study's next new trials with `configs` (a warm start), in
  /// order, before the sampler proposes any. Configurations that do not fit
  /// the space (another space, a removed parameter) are skipped. Returns
  /// how many were taken.
  size_t add_seeds(const std::vector<config>& configs);

  /// Configurations seeded and not yet started.
  size_t seeds_left() const { return seeds_.size(); }

  /// While held, the study starts nothing and wants no slot (its warm start
  /// is being looked up).
  void hold(bool on) { held_ = on; }
  bool held() const { return held_; }

  /// A running trial reported `value` at `step`; the answer is the
  /// scheduler's (or stop/complete). Stale attempts are told to stop.
  struct answer {
    enum kind { proceed, pause, stop, complete } what = proceed;
    uint64_t budget = 0;
  };
  /// In a multi-objective study `secondary` holds the secondary objectives
  /// at `step` (spec().objectives' order); a report without them, or with
  /// one that is not finite, fails the trial.
  answer on_report(trial_id id, uint32_t attempt, uint64_t step, double value,
                   int64_t now_ms, const std::vector<double>& secondary = {});

  /// A trial left its slot. Stale attempts are ignored (returns false).
  /// `secondary`: a multi-objective study's secondary objectives of the
  /// model `value` was measured on (a finished trial); when absent, those of
  /// its last report are kept.
  bool on_end(trial_id id, uint32_t attempt, trial_outcome outcome,
              uint64_t steps, double value, std::vector<uint8_t> checkpoint,
              const std::string& message, int64_t now_ms,
              const std::vector<double>& secondary = {});

  /// The study gave slot (node, slot) back: its running trial is
  /// re-queued; returns it (empty if none ran there).
  std::vector<trial_id> slot_lost(const std::string& node, uint32_t slot,
                                  const std::string& why, int64_t now_ms);

  /// `node` is gone: its running trials go back to the queue, each exactly
  /// once per loss. Returns them.
  std::vector<trial_id> node_lost(const std::string& node, int64_t now_ms);

  /// Stops the study: no new trials; returns the running trials (to be sent
  /// a stop message). Idempotent.
  std::vector<trial_id> stop(const std::string& why, int64_t now_ms);

  /// Whether the time budget is spent at `now_ms`.
  bool budget_spent(int64_t now_ms) const;

  /// Checks the time budget: past it, stops the study (see stop()).
  std::vector<trial_id> tick(int64_t now_ms);

  /// The journal events recorded since the last call.
  std::vector<trial_event> take_events();

  /// Trials by id.
  const std::vector<trial_info>& trials() const { return trials_; }
  study_counts counts() const;

  /// The best trial: the best complete one, else the best last value of any.
  std::optional<trial_id> best() const;
  /// The step at which the best trial had its best value (for a refit).
  uint64_t best_step(trial_id id) const;

  /// Trial ids ordered best first (trials with a value only).
  std::vector<trial_id> leaderboard() const;

  /// Whether the study has secondary objectives (spec().objectives).
  bool multi() const { return multi_objective(spec_); }

  /// A multi-objective study's Pareto front: the complete trials with every
  /// objective measured that no other such trial dominates, best metric
  /// first. Empty for a single-objective study.
  std::vector<trial_id> pareto_front() const;

  /// The trial a study refits: in a multi-objective study the front's best
  /// on the metric, else best().
  std::optional<trial_id> chosen() const;

  /// The trials an ensemble is selected from: the `n` best of those whose
  /// out-of-fold predictions are kept (`has`), and in a CASH study also the
  /// `per_family` best of each family, so that selection can mix families.
  std::vector<trial_id> ensemble_pool(size_t n,
                                      const std::function<bool(trial_id)>& has,
                                      size_t per_family = 3) const;

  /// Why the study stopped ("" while running).
  const std::string& stop_reason() const { return stop_reason_; }

  int64_t started_ms() const { return started_ms_; }

private:
  study_core() = default;
  std::optional<trial_assignment> place_work(const std::string& node,
                                             uint32_t slot, int64_t now_ms);
  void emit(trial_event ev);
  trial_id add_trial(config params, int64_t now_ms);
  trial_assignment assign(trial_info& t, uint64_t budget,
                          std::vector<uint8_t> from, const std::string& node,
                          uint32_t slot, int64_t now_ms);
  void end_trial(trial_info& t, trial_state st, const std::string& message,
                 int64_t now_ms);
  /// Records a re-queue: a new attempt, pending, a `requeued` event.
  void mark_requeued(trial_info& t, const std::string& node,
                     const std::string& why, int64_t now_ms);
  /// Leaderboard order: complete trials first, then by loss, then by id.
  std::tuple<int, double, trial_id> rank_key(const trial_info& t) const;
  /// Puts a running trial back in the queue (or ends it while stopping).
  void requeue(trial_info& t, const std::string& node, const std::string& why,
               int64_t now_ms);
  void drop_pruned(int64_t now_ms);
  /// {value, secondary...}: what a multi-objective scheduler judges.
  std::vector<double>
  objective_values(double value, const std::vector<double>& secondary) const;
  /// Why `secondary` is not a full, finite set of the spec's secondary
  /// objectives at `step`; "" when it is.
  std::string check_secondary(const std::vector<double>& secondary,
                              uint64_t step) const;
  void maybe_finish(int64_t now_ms);
  bool can_start_new() const;
  bool terminal(const trial_info& t) const;

  study_spec spec_;
  direction dir_ = direction::minimize;
  search_space space_;
  std::unique_ptr<sampler> sampler_;
  /// CASH: keeps clearly losing families from getting trials.
  std::unique_ptr<family_gate> gate_;
  std::unique_ptr<trial_scheduler> sched_;
  std::unique_ptr<sampler> bohb_model_;
  std::mt19937_64 rng_;
  std::vector<trial_info> trials_;
  /// For the sampler: every trial's record, index = id (kept in sync).
  std::vector<trial_record> history_;
  /// Trials to start before any new one (re-queued at resume).
  std::deque<trial_id> requeued_;
  /// Trials to place as they are (re-queued after a node loss, or paused
  /// trials whose checkpoint arrived after the scheduler resumed them).
  std::deque<trial_id> ready_;
  std::vector<trial_event> events_;
  /// Warm-start configurations to start before sampling.
  std::deque<config> seeds_;
  bool held_ = false;
  study_phase phase_ = study_phase::running;
  std::string stop_reason_;
  int64_t started_ms_ = 0;
  bool sched_done_ = false;
  /// place() found nothing to run; wants_slots() stays false until a
  /// report, an end or a node loss changes what the study could run.
  bool idle_ = false;
};

std::string to_string(study_phase x);
std::string to_string(trial_state x);

} // namespace troupe::automl
