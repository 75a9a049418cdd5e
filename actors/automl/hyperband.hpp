#pragma once

// Hyperband (Li et al., "Hyperband: A Novel Bandit-Based Approach to
// Hyperparameter Optimization", JMLR 2018) and BOHB (Falkner et al., "BOHB:
// Robust and Efficient Hyperparameter Optimization at Scale", ICML 2018).
//
// With s_max = ⌊log_η(R/r)⌋, one Hyperband iteration runs brackets s = s_max
// down to 0. Bracket s starts n = ⌈(s_max+1)·η^s/(s+1)⌉ configurations at
// budget R·η^(-s) (rounded, at least 1) and runs successive halving: rung i
// holds n_i = ⌊n/η^i⌋ trials at budget R·η^(i-s). A trial that reaches its
// rung's budget pauses until every other live trial of the rung has
// reported; then the top ⌊n_i/η⌋ (by loss, ties to the earlier id) go on to
// the next rung and the rest stop. The last trial to report is told proceed
// or stop at once; the promoted paused ones are handed out by next() as
// resume items, the others show up in take_pruned(). Trials that fail, or
// end before their rung's budget, leave the rung: they never block it and
// are never promoted; a rung left with no results ends its bracket.
//
// Concurrency: next() hands out resumes first (oldest promotion first), then
// new trials for the bracket being filled. Once a bracket has all its trials,
// the next bracket starts filling, so several brackets run at once when
// there are slots to spare. With `iterations` = 0 the brackets cycle forever
// and next() never answers wait; otherwise, once the last bracket is filled,
// next() answers wait until all brackets finish, then done.
//
// BOHB is the same schedule; only new configurations differ (see bohb).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "actors/automl/trial_scheduler.hpp"

namespace troupe::automl {

/// The successive-halving schedule of one bracket.
struct bracket_plan {
  /// s: the bracket's index, s_max down to 0.
  int s = 0;
  /// n_i: trials in each rung.
  std::vector<uint64_t> sizes;
  /// r_i: each rung's budget, the last being R.
  std::vector<uint64_t> budgets;
};

/// Synchronous Hyperband with pausing and resuming.
class hyperband : public trial_scheduler {
public:
  struct options : budget_options {
    /// Hyperband iterations (all brackets each); 0: without end.
    uint64_t iterations = 0;
  };

  /// Requires valid budget options (see validate()).
  explicit hyperband(options opts);

  /// The brackets of one iteration, s = s_max first.
  static std::vector<bracket_plan> plan(const budget_options& opts);

  std::string_view name() const override { return "hyperband"; }
  void on_trial_add(trial_id id, const config& params,
                    int64_t bracket) override;
  decision on_result(trial_id id, uint64_t step, double value) override;
  void on_complete(trial_id id, double value) override;
  void on_error(trial_id id) override;
  work next() override;
  std::vector<trial_id> take_pruned() override;

  /// The bracket a trial belongs to (-1: none).
  int64_t bracket_of(trial_id id) const;

  /// The s of a bracket (work::bracket).
  int s_of(int64_t bracket) const;

protected:
  /// A new configuration for a start item; empty: the study samples one.
  virtual std::optional<config> propose() { return std::nullopt; }

  /// A trial's result at a rung's budget, as reported.
  virtual void observe(trial_id, uint64_t /*budget*/, double /*value*/) {}

private:
  enum class state { running, paused, queued, stopped, complete, failed };

  struct trial_info {
    int64_t bracket = -1;
    size_t rung = 0;
    state st = state::running;
  };

  struct rung {
    uint64_t budget = 0;
    uint64_t planned = 0;
    std::set<trial_id> members;
    std::map<trial_id, double> results;
    /// Members that failed or ended before the budget.
    std::set<trial_id> gone;
    bool closed = false;
  };

  struct bracket {
    int s = 0;
    uint64_t n = 0;
    uint64_t added = 0;
    std::vector<rung> rungs;
    bool finished = false;
  };

  /// The bracket taking new trials, opened if needed; -1 when none may.
  int64_t filling();
  void leave_rung(trial_id id, trial_info& t);
  /// Closes a full rung, promoting its best; returns whether `reporter`
  /// (if a member) was promoted and now runs on.
  bool try_close(int64_t b, size_t i, std::optional<trial_id> reporter);

  options opts_;
  std::vector<bracket_plan> plan_;
  std::map<int64_t, bracket> brackets_;
  int64_t next_bracket_ = 0;
  std::map<trial_id, trial_info> trials_;
  std::deque<std::pair<trial_id, uint64_t>> resumes_;
  std::vector<trial_id> pruned_;
};

/// BOHB: Hyperband's brackets with configurations from a model. A new
/// configuration comes from the random source with probability
/// random_fraction, and always until some budget has min_observations
/// results; otherwise from the model source, fitted on the results at the
/// largest such budget. The draw is seeded, so runs repeat.
class bohb : public hyperband {
public:
  struct options : hyperband::options {
    /// ρ: the share of configurations drawn at random (BOHB: 1/3).
    double random_fraction = 1.0 / 3.0;
    /// Results a budget needs before the model is used (BOHB: dims + 1;
    /// the study should pass that).
    size_t min_observations = 10;
    uint64_t seed = 0;
  };

  /// Requires valid budget options and both sources.
  bohb(options opts, config_sources sources);

  std::string_view name() const override { return "bohb"; }
  void on_trial_add(trial_id id, const config& params,
                    int64_t bracket) override;

  /// How many results each budget has.
  std::map<uint64_t, size_t> observation_counts() const;

protected:
  std::optional<config> propose() override;
  void observe(trial_id id, uint64_t budget, double value) override;

private:
  double random_fraction_;
  size_t min_observations_;
  config_sources sources_;
  std::mt19937_64 rng_;
  std::map<trial_id, config> params_;
  std::map<uint64_t, std::vector<trial_record>> observations_;
};

} // namespace troupe::automl
