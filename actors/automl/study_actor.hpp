#pragma once

// The study actor: one per study, spawned by automl.service; it owns the
// study's study_core (study.hpp) and adapts messages to it. It places trials
// on the slots the service grants it, answers the trials' reports with the
// scheduler's decisions, re-queues a lost node's trials, stops at its
// budget, appends every change to the study journal and, when the study
// ends, refits the best configuration off its own thread and writes
// OUT/STUDY/summary.json.

#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/automl/atoms.hpp"
#include "actors/automl/journal.hpp"
#include "actors/automl/refit.hpp"
#include "actors/automl/service.hpp"
#include "actors/automl/study.hpp"
#include "runtime/clock.hpp"
#include "runtime/envelope.hpp"

namespace troupe::automl {

/// A study actor's protocol.
using study_actor = caf::typed_actor<
    /// (grant_atom, node, slot, runner, lease, gang), from the service: a
    /// slot of `node` is the study's under `lease`; `gang` names the nodes
    /// of the lease's every slot, `node` first, comma-separated (a study
    /// whose trials run as jobs leases gangs; "" for one slot). It places a
    /// trial there, (trial_atom, TrialAssignment, this node's dataset
    /// cache, the training service or null) to `runner` (an automl.runner,
    /// see runner.hpp), or gives the slot back to the service
    /// (release_atom).
    caf::reacts_to<grant_atom, std::string, uint32_t, caf::actor, uint64_t,
                   std::string>,
    /// (report_atom, TrialReport), from a running trial -> TrialDecision:
    /// proceed to a budget, pause, stop or complete.
    caf::replies_to<report_atom, envelope>::with<envelope>,
    /// (end_atom, TrialEnd), from a trial: it left its slot (finished,
    /// paused with a checkpoint, failed or cancelled); the slot goes back to
    /// the service with (release_atom, ...).
    caf::reacts_to<end_atom, envelope>,
    /// (lost_atom, node), from the service: the node is gone with its
    /// leases; its running trials are re-queued, once.
    caf::reacts_to<lost_atom, std::string>,
    /// (yield_atom, node, slot, lease), from the service: a preemptible
    /// study gives the slot back for higher-priority work; the trial
    /// running there is cancelled and re-queued (it resumes from its last
    /// checkpoint, if it paused with one, or starts again).
    caf::reacts_to<yield_atom, std::string, uint32_t, uint64_t>,
    /// (halt_atom, why), from the service: the study stops; running trials
    /// are sent (cancel_atom, study, trial) and end pruned.
    caf::reacts_to<halt_atom, std::string>,
    /// (tick_atom), from itself every 100 ms until it has finished: checks
    /// the time budget.
    caf::reacts_to<tick_atom>,
    /// (refit_atom, model_dir, error, has_test, test_score, ensemble), from
    /// its refit: the study has ended; it writes the summary (`ensemble`:
    /// the refit's ensemble selection as JSON text, "" for none) and
    /// finishes (or fails).
    caf::reacts_to<refit_atom, std::string, std::string, bool, double,
                   std::string>,
    /// (seeds_atom, JSON), from its warm start's lookup: the configurations
    /// to start first ({"seeds": [{"config", "from", "distance"}],
    /// "error"}); the study holds its trials until it arrives.
    caf::reacts_to<seeds_atom, std::string>,
    /// (progress_atom, rows) -> StudyStatus with the top `rows` of the
    /// leaderboard (0: none); its state is running | stopping | refitting |
    /// finished | failed.
    caf::replies_to<progress_atom, uint64_t>::with<envelope>>;

/// What a finished study's refit works from.
struct refit_job {
  study_spec spec;
  config params;
  uint64_t rounds = 0;
  double cv_score = 0;
  trial_id trial = 0;
  std::string out_dir;
  size_t threads = 1;
  /// The best trials' out-of-fold predictions, best first, for ensemble
  /// selection (spec.ensemble > 1; empty otherwise).
  std::vector<refit_candidate> candidates;
  /// Where the study is recorded for later warm starts (null: nowhere),
  /// with its best configurations and CV scores, best first.
  std::shared_ptr<study_journal> journal;
  std::vector<std::pair<config, double>> best;
};

/// Looks up a new study's warm start off the study actor's thread and
/// answers `study` with (seeds_atom, JSON).
using seed_launcher =
    std::function<void(caf::actor_system& sys, const study_actor& study,
                       std::shared_ptr<study_journal> journal, study_spec)>;

/// The production lookup: find_seeds (warm_start.hpp) on a detached actor.
seed_launcher detached_seeds();

/// Runs a refit off the study actor's thread and answers `study` with
/// (refit_atom, model_dir, error, has_test, test_score, ensemble) when it
/// is done.
using refit_launcher = std::function<void(
    caf::actor_system& sys, const study_actor& study, refit_job job)>;

/// The production refit: refit_best (refit.hpp) on a detached actor.
refit_launcher detached_refit();

/// What a study actor starts from.
struct study_init {
  std::unique_ptr<study_core> core;
  std::shared_ptr<study_journal> journal; ///< may be null (no journal)
  service_actor service;                  ///< gets wants/release messages
  std::string out_dir;                    ///< summary.json and best/
  double weight = 1;
  /// The clock of the study's timed decisions (budget, trial times).
  clock_ptr clock = real_clock();
  /// How the best configuration is refitted when the study ends.
  refit_launcher refit = detached_refit();
  /// How a new study's warm start is looked up (spec.warm_start, a family
  /// with data, a journal, no trial yet).
  seed_launcher seeds = detached_seeds();
};

/// Spawns the study actor. It ticks every 100 ms until it has finished.
study_actor spawn_study(caf::actor_system& sys, study_init init);

} // namespace troupe::automl
