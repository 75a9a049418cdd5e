#pragma once

// automl.runner: one per node (a service kind, spawned by automl.service as
// "automl.runner.NODE"; it takes no slot). It runs each trial it is given on
// a detached thread: the thread trains in chunks of `every` steps, asks the
// study after each chunk with (report_atom, envelope TrialReport) and obeys
// the TrialDecision, and ends with (end_atom, envelope TrialEnd) to the
// study (see study_actor.hpp).
//
// A trial whose assignment names its data by content (TrialAssignment.data)
// has its node's dataset cache fetch the file from the cache the study
// names (the head's) first, so no node needs the submitter's path; one
// without reads dataPath (one machine, or a shared file system). Each
// process parses a dataset once (models::shared_dataset). A trial whose
// assignment names a gang runs as a training job instead (job_trial.hpp):
// the job reads the data on the head.

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/automl/atoms.hpp"
#include "runtime/envelope.hpp"
#include "runtime/worker.hpp"

namespace troupe::automl {

/// The runner's protocol. It is a typed_worker kind (runtime/worker.hpp),
/// spawned by name through the directory as a caf::actor; cast the handle
/// with caf::actor_cast<trial_runner_actor>.
using trial_runner_actor = caf::typed_actor<
    /// (trial_atom, TrialAssignment, data_source, jobs): runs the trial;
    /// its sender is the study the trial reports to, `data_source` the
    /// dataset cache its data comes from (may be null when the assignment
    /// has no data hash), `jobs` the head's training service, which runs a
    /// trial whose assignment names a gang as a job (job_trial.hpp; null
    /// otherwise). An assignment that does not parse, or one without a
    /// sender, is answered with an error.
    caf::reacts_to<trial_atom, envelope, caf::actor, caf::actor>,
    /// (cancel_atom, study, trial): the trial stops before its next step and
    /// ends CANCELLED.
    caf::reacts_to<cancel_atom, std::string, uint64_t>,
    /// (ended_atom, study, trial, attempt): from a trial's own thread: it is
    /// over (forget its cancel flag).
    caf::reacts_to<ended_atom, std::string, uint64_t,
                   uint32_t>>::extend_with<stats_actor>;

/// The actor class of a runner.
using trial_runner_self = typed_worker_of<trial_runner_actor>::type;

/// The runner kind's behavior (registered by register_kinds in service.hpp
/// as automl.runner); `args.node` names the node in its TrialEnd messages.
trial_runner_actor::behavior_type trial_runner(trial_runner_self* self,
                                               kind_args args);

/// Spawns a runner in this process (the directory spawns the kind by name).
trial_runner_actor spawn_trial_runner(caf::actor_system& sys, kind_args args);

} // namespace troupe::automl
