#pragma once

// AutoML on actors: the service that owns the study journal and shares the
// cluster's slots, one study actor per study, and a trial runner on every
// node. Embedded mode (`troupe automl` without --cluster) starts the same
// actors in one process.
//
// automl.service: one per cluster, on the head, registered as "automl"; its
// config is the head's data directory (the journal lives in DIR/journal,
// studies write to DIR/STUDY unless their spec names an out_dir). It
// subscribes to the directory, spawns an automl.runner on every node that
// joins (runner.hpp; name "automl.runner.NODE", a service kind: it takes no
// slot). Each study is a consumer of the cluster's slots, "automl/STUDY",
// which the directory's one scheduler leases to it (runtime/cluster_slots:
// fair share by weight with jobs and other studies, never a slot a replica
// holds); the service passes the study's wants on and hands each lease to
// the study with the runner of its node. Each study runs in a study actor
// (study_actor.hpp). A node that leaves (or whose runner dies) takes its
// leases with it; every study hears (lost_atom, node) and re-queues its
// trials there, once.

#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/automl/atoms.hpp"
#include "runtime/clock.hpp"
#include "runtime/envelope.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"

namespace troupe::automl {

/// The service's protocol; errors name the study and what is wrong. It is a
/// typed_worker kind (runtime/worker.hpp) spawned by name through the
/// directory as a caf::actor: cast the handle with
/// caf::actor_cast<service_actor>.
using service_actor = caf::typed_actor<
    /// (submit_atom, StudySubmit) -> StudyStatus: creates the study in the
    /// journal and starts it. Refused: an invalid spec, the reserved id
    /// "journal", an id already running, no journal.
    caf::replies_to<submit_atom, envelope>::with<envelope>,
    /// (resume_atom, StudyRef) -> StudyStatus: starts a stored study again
    /// from its journal (its interrupted trials re-queued once).
    caf::replies_to<resume_atom, envelope>::with<envelope>,
    /// (status_atom, StudyRef) -> StudyStatus with the top 20 of its
    /// leaderboard; errors for a study that is not loaded.
    caf::replies_to<status_atom, envelope>::with<envelope>,
    /// (stop_atom, StudyRef) -> StudyStatus: the study stops (its running
    /// trials are cancelled and end pruned) and refits its best.
    caf::replies_to<stop_atom, envelope>::with<envelope>,
    /// (list_atom, any envelope) -> StudyList: the loaded studies' statuses
    /// and the stored ones (state "stored").
    caf::replies_to<list_atom, envelope>::with<envelope>,
    /// (event_atom, DirectoryEvent), from the directory it subscribed to:
    /// nodes joining (a runner is spawned there) and leaving.
    caf::reacts_to<event_atom, envelope>,
    /// (wants_atom, study, wants), from a study actor: whether it wants
    /// slots now.
    caf::reacts_to<wants_atom, std::string, bool>,
    /// (release_atom, study, node, slot, lease, wants), from a study actor:
    /// it gives back the slot it held under `lease`, and says whether it
    /// wants more.
    caf::reacts_to<release_atom, std::string, std::string, uint32_t, uint64_t,
                   bool>,
    /// (slot_grant_atom, SlotLease), from the directory: a study's lease.
    caf::reacts_to<slot_grant_atom, envelope>,
    /// (preempt_atom, SlotLease), from the directory: a preemptible study
    /// (--preemptible) gives the lease's slot back for higher-priority
    /// work; its trial there is re-queued.
    caf::reacts_to<preempt_atom, envelope>>::extend_with<stats_actor>;

/// The actor class of the service.
using service_self = typed_worker_of<service_actor>::type;

/// The kinds and the name the service is registered under.
inline constexpr const char* service_kind = "automl.service";
inline constexpr const char* runner_kind = "automl.runner";
inline constexpr const char* service_name = "automl";

/// Registers automl.service and automl.runner (both service kinds); the
/// service's studies read the real clock.
void register_kinds(caf::actor_system_config& cfg);

/// Registers the kinds with the clock the service and its studies read.
void register_kinds_with_clock(caf::actor_system_config& cfg, clock_ptr clock);

/// The service kind's behavior: its config is the data directory.
service_actor::behavior_type automl_service(service_self* self, kind_args args,
                                            clock_ptr clock);

/// Spawns a service in this process (clusters spawn the kind by name).
service_actor spawn_service(caf::actor_system& sys, kind_args args,
                            clock_ptr clock);

} // namespace troupe::automl
