#pragma once

// A gang member that trains its part of a job: the kinds
// training.xgb_worker (xgb_worker.hpp), training.mlp_worker
// (mlp_worker.hpp), training.pipeline_stage (stage_worker.hpp),
// training.tp_worker (tp_worker.hpp) and training.sage_worker
// (sage_worker.hpp). Given its part (an XgbPart or MlpPart: the parameters,
// where the job's collective meets, and its rows, or a shard of rows its
// node's dataset cache fetches) it trains on a thread of
// its own (XGBoost's communicator and c10d's groups are per thread, and a
// step blocks) and answers with the model. The first worker reports its
// progress to the job and sends it the model every checkpointSeconds. When
// the worker is stopped, its thread stops at its next report.

#include <atomic>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/models/parallel_mlp.hpp"
#include "actors/training/atoms.hpp"
#include "actors/training/part_mailbox.hpp"
#include "actors/training/worker_usage.hpp"
#include "runtime/envelope.hpp"
#include "runtime/kind_args.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"

namespace troupe::training {

using part_worker_actor = caf::typed_actor<
    /// (part_train_atom, part, job) -> JobCheckpoint: trains its part and
    /// answers the model after the last step. Errors: bad input
    /// (invalid_argument), the library's own, io_failure when a peer of
    /// the collective went away (the job regroups).
    caf::replies_to<part_train_atom, envelope, caf::actor>::with<envelope>,
    /// (part_train_atom, part, job, shard, source) -> JobCheckpoint: the
    /// same, with its rows in a row shard file (row_shard.hpp) named by the
    /// DatasetRef `shard`, which this node's dataset cache fetches from the
    /// cache `source` first.
    caf::replies_to<part_train_atom, envelope, caf::actor, envelope,
                    caf::actor>::with<envelope>,
    /// (part_train_atom, JobCheckpoint, error), from its own training
    /// thread: the outcome.
    caf::reacts_to<part_train_atom, envelope, caf::error>,
    /// (part_peers_atom, before, after): the members its part exchanges
    /// messages with (a pipeline's neighbouring stages; null: none), sent
    /// by the job before the part.
    caf::reacts_to<part_peers_atom, caf::actor, caf::actor>,
    /// (part_message_atom, envelope): a peer's message, for the part's
    /// thread (part_context::inbox).
    caf::reacts_to<part_message_atom, envelope>,
    /// (part_actors_atom, actors): the actors its part asks (a graph job's
    /// shards, in partition order), sent by the job before the part.
    caf::reacts_to<part_actors_atom,
                   std::vector<caf::actor>>>::extend_with<stats_actor>;

/// What a part's thread has at hand: the job to report to, its kind
/// args, and whether it should stop.
struct part_context {
  const kind_args& args;
  caf::actor job;
  const std::atomic<bool>& cancel;
  /// The part's rows, a row shard file on this node; empty when the part
  /// holds its rows itself.
  std::string shard;
  /// Called once the trainer has read the shard: its node's copy goes (it
  /// was for this part alone).
  std::function<void()> shard_read;
  /// When the part reached the worker, and how long its shard took to
  /// reach the node from then (0 without one): the start of the worker's
  /// time split, and its first wait for data (worker_usage.hpp).
  std::chrono::steady_clock::time_point received;
  double fetch_seconds = 0;
  /// Its peers (part_peers_atom; null when none was named) and what they
  /// sent it (part_message_atom).
  caf::actor before;
  caf::actor after;
  part_mailbox& inbox;
  /// The worker's actor system (to ask other actors from the thread), and
  /// the actors its part asks (part_actors_atom; empty when none).
  caf::actor_system& system;
  std::vector<caf::actor> actors;
};

/// The worker's time split, counted from its part's arrival, its shard's
/// fetch as a wait for data (worker_usage.hpp).
usage_meter start_usage(const part_context& ctx);

/// Sends the job the worker's split so far, with its GPU's busy share
/// where NVML is (a WorkerUsage).
void report_usage(const part_context& ctx, uint32_t rank, uint32_t attempt,
                  uint64_t step, const usage_meter& usage);

/// Where a worker sits in its gang's collective: its placement's attempt,
/// its rank of world, and the group's rendezvous (c10d's TCPStore).
struct group_seat {
  uint32_t attempt = 0, rank = 0, world = 1;
  std::string store_host, group;
  uint16_t store_port = 0;
};

/// The seat a part names (MlpPart, TensorPart, SagePart: the same fields);
/// an empty store host is the head's, `head_host`.
template <class PartReader>
group_seat seat_of(PartReader p, const std::string& head_host) {
  group_seat s;
  s.attempt = p.getAttempt();
  s.rank = p.getRank();
  s.world = p.getWorld();
  s.store_host = p.getStoreHost().cStr();
  if (s.store_host.empty()) s.store_host = head_host;
  s.store_port = p.getStorePort();
  s.group = p.getGroup().cStr();
  return s;
}

/// Joins the seat's group (gloo's links over gloo_host(head_host)),
/// waiting at most a minute for the others.
caf::expected<models::torch_group> join_seat(const group_seat& seat,
                                             const std::string& head_host);

/// How a member trains epoch by epoch (a pipeline stage, a tensor-parallel
/// rank, a GraphSAGE replica): what run_epochs reports of it.
struct epoch_loop {
  /// Its rank in its usage reports, and its placement's attempt.
  uint32_t rank = 0;
  uint32_t attempt = 0;
  uint32_t start_epoch = 0;
  uint32_t epochs = 0;
  /// Its state every this many epochs (0: none; never after the last).
  uint32_t checkpoint_every = 0;
  /// Whether it sends the job its progress, and its state.
  bool reports = false;
  bool checkpoints = false;
  /// The checkpoint's modelConfig: which member's part it is ("" when it
  /// is the whole model).
  std::string part;
};

/// Runs fit(e) for each epoch e from l.start_epoch to l.epochs: first a
/// progress report at the start epoch (the job times the steps from it),
/// then after each epoch the usage split, the progress (fit's loss) and,
/// every checkpoint_every epochs, save()'s state. The worker's stop ends it
/// (shutting_down, checked before each epoch); fit's and save's errors
/// come back as they are.
caf::error
run_epochs(part_context& ctx, const std::string& who, const epoch_loop& l,
           const usage_meter& usage,
           const std::function<caf::expected<double>(uint32_t)>& fit,
           const std::function<caf::expected<std::vector<uint8_t>>()>& save);

/// Trains a part (on the worker's thread): the final JobCheckpoint, or an
/// error.
using part_trainer =
    std::function<caf::expected<envelope>(const envelope&, part_context&)>;

/// Registers `kind`, whose actors train their parts with `trainer`.
void register_part_kind(caf::actor_system_config& cfg, const char* kind,
                        part_trainer trainer);

/// This worker's address for gloo's links: loopback when the cluster is on
/// loopback (the head's host `head_host`), else the machine's host name.
std::string gloo_host(const std::string& head_host);

/// `err`, or io_failure naming `who` when its message has one of `words`
/// (the library's words for a collective that lost a peer).
caf::error peer_lost_as_io(const std::string& who, caf::error err,
                           std::initializer_list<const char*> words);

/// peer_lost_as_io with the words of a c10d gloo group that lost a member.
caf::error gloo_peer_lost(const std::string& who, caf::error err);

/// A JobCheckpoint of `step` and `attempt` holding `model` (and its
/// config, for boosters).
envelope model_checkpoint(uint64_t step, uint32_t attempt,
                          const std::vector<uint8_t>& model,
                          const std::string& config = {});

} // namespace troupe::training
