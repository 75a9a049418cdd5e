#pragma once

// A training job (the control layer): one coordinator actor per job, in the
// training service's process, and a gang of actors it places through the
// cluster's one scheduler (the directory's slots, consumer "train/JOB").
// What the gang is depends on the job's family (job_run.hpp's plans).
//
// For xgboost (job_xgb.cpp): the coordinator reads the data, runs a rabit
// tracker, and places one training.xgb_worker per slot, each with its block
// of the rows; they boost one model together (xgb_parallel.hpp), the first
// worker sends the model back every checkpoint_seconds and at the end, and
// the coordinator saves it as a model directory that `troupe serve` loads.
//
// For sparse-lr: the coordinator reads and hashes the data
// off its scheduler threads, leases workers + shards slots as one gang,
// spawns a parameter-server shard (training.ps_shard) on each of the first
// `shards` slots and a worker (training.worker) on each of the others,
// ships each worker its rows (datasets travel with the work: no node reads
// the file but the head), holds the workers to the job's consistency with
// a step gate, then dumps the shards, validates and writes model.json (the
// models layer's sparse_model, which `troupe serve` loads) and
// summary.json. A shard or worker that stops fails the job, naming it and
// its node; its actors are stopped and its slots released whatever the
// ending.
//
// Checkpoints: every `checkpoint_seconds` the gate holds every worker once
// it has pushed the same step (a consistent cut), the shards' optimizer
// state is written to the job journal (job_journal.hpp) in one transaction,
// and the workers go on. A shard that stops (its node died) while the
// workers train is placed again alone: the job leases one slot, spawns a
// new shard there, restores it from the last checkpoint and points the
// workers at it (ps_reshard_atom); they wait for it meanwhile. A worker
// that stops, or a shard lost at another time, regroups the job: its other
// actors are stopped, its slots given back, a new gang leased, the shards
// restored from the last checkpoint and the workers started at its step.
// The gang's lease keeps its slots on the nodes that live (the scheduler's
// keeps_survivors) until the job gives it back. A job resumed after its
// process died
// (`resume`) does the same from the journal. Nothing before the last
// checkpoint is lost, and no step before it is trained again.

#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/training/atoms.hpp"
#include "actors/training/job_config.hpp"
#include "runtime/envelope.hpp"
#include "runtime/type_ids.hpp"

namespace troupe::training {

using job_actor = caf::typed_actor<
    /// (status_atom) -> JobStatus.
    caf::replies_to<status_atom>::with<envelope>,
    /// (stop_atom): the job stops (state "stopped"): its actors are
    /// stopped and its slots released.
    caf::reacts_to<stop_atom>,
    /// (slot_grant_atom, SlotLease), from the directory: the job's gang.
    caf::reacts_to<slot_grant_atom, envelope>,
    /// (job_prepared_atom), from its helper: the data is read and hashed.
    caf::reacts_to<job_prepared_atom>,
    /// (job_placed_atom), to itself: every actor of the gang is spawned.
    caf::reacts_to<job_placed_atom>,
    /// (job_checkpoint_atom), to itself: time for a checkpoint.
    caf::reacts_to<job_checkpoint_atom>,
    /// (job_checkpoint_atom, JobCheckpoint), from a gang member that holds
    /// the whole model (data-parallel XGBoost's first worker): kept when it
    /// is of the current placement.
    caf::reacts_to<job_checkpoint_atom, envelope>,
    /// (job_progress_atom, attempt, step, loss), from a gang member.
    caf::reacts_to<job_progress_atom, uint32_t, uint64_t, double>,
    /// (job_regroup_atom, attempt, why), to itself: regroup if the
    /// placement `attempt` is still running.
    caf::reacts_to<job_regroup_atom, uint32_t, std::string>,
    /// (job_valid_atom), to itself: the validation timer (sparse-lr's
    /// valid_every).
    caf::reacts_to<job_valid_atom>,
    /// (job_valid_atom, attempt, step, seconds, metrics), from its helper:
    /// the weights dumped at `step`, `seconds` into training, validated
    /// (metrics as JSON: logloss, auc, ks).
    caf::reacts_to<job_valid_atom, uint32_t, uint64_t, double, std::string>,
    /// (job_usage_atom, WorkerUsage), from a gang member: its time split
    /// (kept when it is of the current placement; the data-starvation
    /// rule is checked).
    caf::reacts_to<job_usage_atom, envelope>>;

class job_journal;

struct job_init {
  std::string id;
  job_config cfg;
  std::string out_dir;
  caf::actor directory;
  std::shared_ptr<job_journal> journal;
  /// A JobCheckpoint to start from (a resumed job), or empty.
  envelope resume;
  /// Placements before this one (a resumed job's journal counts them).
  uint32_t attempts = 0;
  /// The nodes of a gang its submitter leased for it (an AutoML trial run
  /// as a job; JobSubmit.gang): its members are placed there and it leases
  /// nothing. A member lost then fails it (it cannot regroup on slots it
  /// does not hold). Empty: it leases its own gang.
  std::vector<std::string> gang;
};

job_actor spawn_job(caf::actor_system& sys, job_init init);

/// The slot consumer a job leases its gang as.
inline std::string job_consumer(const std::string& id) {
  return "train/" + id;
}

} // namespace troupe::training
