#pragma once

// The project's CAF type-ID block and its atoms: the one place where message
// types are registered. Call troupe::register_types(cfg) on every node.

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#include "runtime/envelope.hpp"
#include "runtime/kind_args.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(troupe, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(troupe, (troupe::envelope))
CAF_ADD_TYPE_ID(troupe, (troupe::kind_args))

CAF_END_TYPE_ID_BLOCK(troupe)

namespace troupe {

// Atoms select the handler; payloads are envelopes. The messages each atom
// selects are declared in the protocols of the runtime's actors
// (directory.hpp, agent.hpp, worker.hpp).
using call_atom = caf::atom_constant<caf::atom("call")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using rejoin_atom = caf::atom_constant<caf::atom("rejoin")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using gather_atom = caf::atom_constant<caf::atom("gather")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using nodes_atom = caf::atom_constant<caf::atom("nodes")>;
using actors_atom = caf::atom_constant<caf::atom("actors")>;
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using event_atom = caf::atom_constant<caf::atom("event")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using place_atom = caf::atom_constant<caf::atom("place")>;
using kinds_atom = caf::atom_constant<caf::atom("kinds")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
/// (halt_atom): the directory quits after a shutdown (sent to itself).
using halt_atom = caf::atom_constant<caf::atom("halt")>;
/// (tick_atom): a node agent sends its next heartbeat (sent to itself).
using tick_atom = caf::atom_constant<caf::atom("tick")>;
/// The cluster's slots (directory.hpp): a consumer's want, the directory's
/// grant and preemption notices, a consumer's release.
using slot_want_atom = caf::atom_constant<caf::atom("slotwant")>;
using slot_grant_atom = caf::atom_constant<caf::atom("slotgrant")>;
using preempt_atom = caf::atom_constant<caf::atom("preempt")>;
using slot_release_atom = caf::atom_constant<caf::atom("slotfree")>;
// The dataset cache's messages (dataset_cache.hpp).
using dataset_put_atom = caf::atom_constant<caf::atom("dsput")>;
using dataset_adopt_atom = caf::atom_constant<caf::atom("dsadopt")>;
using dataset_drop_atom = caf::atom_constant<caf::atom("dsdrop")>;
using dataset_offer_atom = caf::atom_constant<caf::atom("dsoffer")>;
using dataset_chunk_atom = caf::atom_constant<caf::atom("dschunk")>;
using dataset_read_atom = caf::atom_constant<caf::atom("dsread")>;
using dataset_fetch_atom = caf::atom_constant<caf::atom("dsfetch")>;
using dataset_stats_atom = caf::atom_constant<caf::atom("dsstats")>;

/// Registers troupe's message types and error category with a CAF config.
void register_types(caf::actor_system_config& cfg);

} // namespace troupe
