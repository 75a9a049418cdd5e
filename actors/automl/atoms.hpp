#pragma once

// The atoms of the AutoML family: one atom, one message. Which actor takes
// each message, with what payload and what answer, is declared beside that
// actor's typed_actor alias (service.hpp, study_actor.hpp, runner.hpp).
//
// The service's op names are the gateway's and the shell's `send --op OP`
// (atom_from_string(OP)): submit, resume, status, list, and the runtime's
// stop_atom (runtime/type_ids.hpp). Messages between automl's own actors
// have atoms of their own, so that none of those names carries a second
// message.

#include <caf/atom.hpp>

#include "runtime/type_ids.hpp"

namespace troupe::automl {

// automl.service, from the gateway, the shell and the CLI (payloads are
// StudySubmit / StudyRef envelopes). The service's stop op is the runtime's
// stop_atom, (stop_atom, envelope StudyRef).
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using list_atom = caf::atom_constant<caf::atom("list")>;

// automl.service, from its study actors.
using wants_atom = caf::atom_constant<caf::atom("wants")>;
using release_atom = caf::atom_constant<caf::atom("release")>;

// study actor, from the service.
using grant_atom = caf::atom_constant<caf::atom("grant")>;
using lost_atom = caf::atom_constant<caf::atom("lost")>;
/// (yield_atom, node, slot, lease): a preemptible study gives a slot back
/// for higher-priority work.
using yield_atom = caf::atom_constant<caf::atom("yield")>;
/// Stops a study: (halt_atom, string why).
using halt_atom = caf::atom_constant<caf::atom("halt")>;
/// A study's status for the service: (progress_atom, uint64 rows).
using progress_atom = caf::atom_constant<caf::atom("progress")>;

// study actor, from trials (the runner's threads).
using report_atom = caf::atom_constant<caf::atom("report")>;
using end_atom = caf::atom_constant<caf::atom("end")>;

// study actor, from itself.
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using refit_atom = caf::atom_constant<caf::atom("refit")>;
/// Its warm start's lookup is done: (seeds_atom, string JSON).
using seeds_atom = caf::atom_constant<caf::atom("seeds")>;

// automl.runner.
using trial_atom = caf::atom_constant<caf::atom("trial")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
/// A trial's thread tells its runner that the trial is over:
/// (ended_atom, string study, uint64 trial, uint32 attempt).
using ended_atom = caf::atom_constant<caf::atom("ended")>;

} // namespace troupe::automl
