#pragma once

// The atoms of the training family, one message each (the protocols that
// use them are declared in ps_shard.hpp, ps_worker.hpp, job.hpp and
// service.hpp).

#include <caf/atom.hpp>

namespace troupe::training {

// a parameter-server shard (ps_shard.hpp)
using ps_pull_atom = caf::atom_constant<caf::atom("pspull")>;
using ps_push_atom = caf::atom_constant<caf::atom("pspush")>;
using ps_dump_atom = caf::atom_constant<caf::atom("psdump")>;
using ps_snapshot_atom = caf::atom_constant<caf::atom("pssnap")>;
using ps_restore_atom = caf::atom_constant<caf::atom("psrestore")>;

// the step gate and the workers (ps_worker.hpp)
using ps_step_atom = caf::atom_constant<caf::atom("psstep")>;
using ps_leave_atom = caf::atom_constant<caf::atom("psleave")>;
using ps_train_atom = caf::atom_constant<caf::atom("pstrain")>;
using ps_setup_atom = caf::atom_constant<caf::atom("pssetup")>;
using ps_rows_atom = caf::atom_constant<caf::atom("psrows")>;
using ps_clock_atom = caf::atom_constant<caf::atom("psclock")>;
using ps_hold_atom = caf::atom_constant<caf::atom("pshold")>;
using ps_go_atom = caf::atom_constant<caf::atom("psgo")>;
/// (ps_reshard_atom, index, shard): a worker's shard was restored elsewhere.
using ps_reshard_atom = caf::atom_constant<caf::atom("psreshard")>;

// the training service and its jobs (service.hpp, job.hpp); the service's
// atoms are named as the gateway's `send` ops are
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
/// (job_checkpoint_atom): a job's timer: time to checkpoint.
using job_checkpoint_atom = caf::atom_constant<caf::atom("jobckpt")>;
/// (job_prepared_atom): a job's data is read and hashed (sent by its helper).
using job_prepared_atom = caf::atom_constant<caf::atom("jobready")>;
/// (job_placed_atom): every actor of a job's gang is spawned.
using job_placed_atom = caf::atom_constant<caf::atom("jobplaced")>;
/// (job_progress_atom, attempt, step, loss): a gang member's progress.
using job_progress_atom = caf::atom_constant<caf::atom("jobprog")>;
/// (job_regroup_atom, attempt, why): a delayed regroup (job_xgb.cpp).
using job_regroup_atom = caf::atom_constant<caf::atom("jobregrp")>;
/// (job_valid_atom): a job's timer: time to see whether to validate;
/// (job_valid_atom, attempt, step, seconds, metrics JSON): a validation
/// done off the job's thread.
using job_valid_atom = caf::atom_constant<caf::atom("jobvalid")>;
/// (job_usage_atom, WorkerUsage): a gang member's time split.
using job_usage_atom = caf::atom_constant<caf::atom("jobusage")>;

// gang members that train a part each (part_worker.hpp)
using part_train_atom = caf::atom_constant<caf::atom("parttrain")>;
/// (part_peers_atom, before, after): a member's neighbours in its gang.
using part_peers_atom = caf::atom_constant<caf::atom("partpeers")>;
/// (part_message_atom, envelope): from a neighbour, for the part's thread.
using part_message_atom = caf::atom_constant<caf::atom("partmsg")>;
/// (part_actors_atom, actors): the actors a member's part asks (a graph
/// job's shards).
using part_actors_atom = caf::atom_constant<caf::atom("partactors")>;

} // namespace troupe::training
