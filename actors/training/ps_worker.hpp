#pragma once

// Parameter-server training on actors: worker actors that train on their own
// rows, pulling a minibatch's weights from the shards that hold its keys
// (ps_shard.hpp) and pushing one gradient per key, and the step gate that
// holds them to the job's consistency (step_clock.hpp: sync, async or
// bounded staleness). The computations are sparse_lr.hpp's, so that a
// synchronous job with one worker equals in-process training exactly.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/training/atoms.hpp"
#include "actors/training/ps_shard.hpp"
#include "actors/training/sparse_lr.hpp"

namespace troupe::training {

using ps_gate_actor = caf::typed_actor<
    /// (ps_step_atom, string worker) -> uint64 clock: the worker pushed a
    /// step; answered with its clock once it may start the next one.
    /// Unknown workers are refused.
    caf::replies_to<ps_step_atom, std::string>::with<uint64_t>,
    /// (ps_leave_atom, string worker): the worker is done (or lost); it no
    /// longer holds the others back.
    caf::reacts_to<ps_leave_atom, std::string>,
    /// (ps_clock_atom) -> (uint64 slowest, uint64 steps): the slowest
    /// worker's clock and the steps pushed by all workers together.
    caf::replies_to<ps_clock_atom>::with<uint64_t, uint64_t>,
    /// (ps_clock_atom, at_least) -> uint64 slowest: answered once the
    /// slowest worker's clock reaches `at_least` (or no worker is left),
    /// with that clock.
    caf::replies_to<ps_clock_atom, uint64_t>::with<uint64_t>,
    /// (ps_hold_atom) -> uint64 step: holds every worker once it has pushed
    /// `step` (the fastest worker's clock + 1) and answers `step` when all
    /// that remain are held there: a consistent cut for a checkpoint.
    caf::replies_to<ps_hold_atom>::with<uint64_t>,
    /// (ps_go_atom): the held workers go on.
    caf::reacts_to<ps_go_atom>,
    /// (job_usage_atom, WorkerUsage): a worker's time split, passed on to
    /// the gate's job with the worker's rank and the job's placement.
    caf::reacts_to<job_usage_atom, envelope>>;

/// A gate for `workers`, each at step `at` (0, or a checkpoint's step);
/// `staleness` as step_clock takes it. The workers' time splits go on to
/// `job` (when given) as placement `attempt`'s.
ps_gate_actor spawn_ps_gate(caf::actor_system& sys,
                            std::vector<std::string> workers,
                            std::optional<uint64_t> staleness, uint64_t at = 0,
                            caf::actor job = {}, uint32_t attempt = 0);

using ps_worker_actor = caf::typed_actor<
    /// (ps_setup_atom, WorkerSetup, shards, gate) -> (): what a worker
    /// spawned as the kind "training.worker" trains on: its name, batch,
    /// epochs and rows, shard i of the key space's cut, and the job's gate.
    caf::replies_to<ps_setup_atom, envelope, std::vector<caf::actor>,
                    caf::actor>::with<void>,
    /// (ps_rows_atom, WorkerSetup) -> (): more of its rows, when the setup
    /// (or the last of these) said `more`: a worker's share of a large set
    /// travels in envelopes of a bounded size. It trains only once the
    /// last has come.
    caf::replies_to<ps_rows_atom, envelope>::with<void>,
    /// (ps_train_atom) -> (uint64 rows, double loss): trains on its rows for
    /// its epochs, minibatch after minibatch (pull, gradient, push, step),
    /// then leaves the gate; `loss` sums each minibatch's logloss before
    /// its update. Errors (a shard's refusal) end it.
    caf::replies_to<ps_train_atom>::with<uint64_t, double>,
    /// (ps_reshard_atom, index, shard): shard `index` was restored on
    /// another actor (its node died): the calls the lost one left
    /// unanswered go to the new one, and so does every call after. A shard
    /// that went makes the worker wait for this message (its job sends it,
    /// or stops the worker) instead of failing.
    caf::reacts_to<ps_reshard_atom, uint32_t,
                   caf::actor>>::extend_with<stats_actor>;

struct ps_worker_config {
  std::string name;
  std::shared_ptr<const std::vector<sparse_row>> rows;
  size_t batch = 32;
  size_t epochs = 1;
  /// Shard i holds shard_of(key, shards.size()) == i.
  std::vector<ps_shard_actor> shards;
  ps_gate_actor gate;
  /// Steps already trained (a resumed job starts after them).
  uint64_t start_step = 0;
};

/// Rows a worker of `n` rows has trained after `steps` minibatches of
/// `batch` (whole epochs, then the part of the current one).
uint64_t rows_after(size_t n, size_t batch, uint64_t steps);

/// Minibatches a worker of `n` rows trains in `epochs`.
uint64_t steps_of(size_t n, size_t batch, size_t epochs);

ps_worker_actor spawn_ps_worker(caf::actor_system& sys, ps_worker_config cfg);

/// The kind of a worker set up by its job (ps_setup_atom). A service
/// kind: it runs in a slot its job leased as part of one gang.
inline constexpr const char* worker_kind = "training.worker";

/// Registers training.worker and training.ps_shard.
void register_ps_kinds(caf::actor_system_config& cfg);

/// A WorkerSetup of worker `w`'s rows of `train` (dealt every
/// `workers`-th row from w: rows_dealt's deal), those of its dealt rows
/// [begin, end); `more`: further rows follow (ps_rows_atom).
envelope worker_setup(const std::string& name, size_t batch, size_t epochs,
                      const std::vector<sparse_row>& train, uint32_t w,
                      uint32_t workers, size_t begin, size_t end, bool more,
                      uint64_t start_step = 0);

/// How many of a worker's dealt rows one envelope carries: about
/// `max_bytes` of rows of `train`'s mean size.
size_t rows_per_envelope(const std::vector<sparse_row>& train,
                         size_t max_bytes);

} // namespace troupe::training
