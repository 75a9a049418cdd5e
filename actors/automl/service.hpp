#pragma once

// AutoML on actors: the service that owns the study journal and shares the
// cluster's slots, one study actor per study, and a trial runner on every
// node. Embedded mode (`troupe automl` without --cluster) starts the same
// actors in one process.
//
// automl.service (one per cluster, on the head, registered as "automl"; its
// config is the head's data directory, the journal lives in DIR/automl):
//   from the gateway's `send` or the shell (op names are atoms):
//   (submit_atom, envelope StudySubmit)  -> envelope StudyStatus
//   (resume_atom, envelope StudyRef)     -> envelope StudyStatus
//   (status_atom, envelope StudyRef)     -> envelope StudyStatus (+leaderboard)
//   (list_atom, envelope)                -> envelope StudyList
//   (stop_atom, envelope StudyRef)       -> envelope StudyStatus
//   from study actors:
//   (wants_atom, string study, bool)                 ; wants slots or not
//   (release_atom, string study, string node, uint32 slot, uint64 lease,
//    bool wants)
//   It subscribes to the directory, spawns a runner on every node that
//   joins (name "automl.runner.NODE", a service kind: it takes no slot) and
//   offers the node's slots to the studies through slot_broker (fair share).
//   A node that leaves (or whose runner dies) takes its leases with it; every
//   study hears (lost_atom, node) and re-queues its trials there, once.
//
// study actor (spawned by the service; owns a study_core):
//   (grant_atom, string node, uint32 slot, actor runner, uint64 lease)
//       -> places a trial there: (trial_atom, envelope TrialAssignment) to
//          the runner, or gives the slot back
//   (report_atom, envelope TrialReport)  -> envelope TrialDecision
//   (end_atom, envelope TrialEnd)        ; the slot is released
//   (lost_atom, string node)
//   (stop_atom, string why)              ; running trials get cancel_atom
//   (status_atom)                        -> envelope StudyStatus
//   When the study ends it refits the best configuration on all the
//   training data on a detached thread, saves it with its preprocessing to
//   OUT/STUDY/best and writes OUT/STUDY/summary.json.
//
// Trials read the training data by path (TrialAssignment.dataPath), once
// per process: every node must see the data at the same path (one machine,
// or a shared file system).
//
// automl.runner (one per node):
//   (trial_atom, envelope TrialAssignment)  ; runs the trial on a detached
//       thread: trains in chunks of `every` steps, asks the study after each
//       (report_atom), and ends with (end_atom, TrialEnd) to the study
//   (cancel_atom, string study, uint64 trial) ; honoured before the next step

#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

namespace troupe::automl {

using submit_atom = caf::atom_constant<caf::atom("submit")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using wants_atom = caf::atom_constant<caf::atom("wants")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using grant_atom = caf::atom_constant<caf::atom("grant")>;
using lost_atom = caf::atom_constant<caf::atom("lost")>;
using trial_atom = caf::atom_constant<caf::atom("trial")>;
using report_atom = caf::atom_constant<caf::atom("report")>;
using end_atom = caf::atom_constant<caf::atom("end")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using refit_atom = caf::atom_constant<caf::atom("refit")>;

/// The kinds and the name the service is registered under.
inline constexpr const char* service_kind = "automl.service";
inline constexpr const char* runner_kind = "automl.runner";
inline constexpr const char* service_name = "automl";

/// Registers automl.service and automl.runner (both service kinds).
void register_kinds(caf::actor_system_config& cfg);

} // namespace troupe::automl
