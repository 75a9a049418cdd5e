#pragma once

// Inside a job's coordinator (job.hpp): its state and the steps every kind
// of job takes the same way (lease a gang, spawn it through the directory,
// regroup it from the last checkpoint when a member goes, end), and the
// plan a family plugs in for what differs: its data, its gang's members,
// how they train, checkpoint and report. job.cpp is the coordinator;
// job_sparse.cpp (parameter server), job_xgb.cpp (data-parallel XGBoost),
// job_mlp.cpp (data-parallel LibTorch MLPs), job_pipeline.cpp (pipeline
// stages), job_tensor.cpp (tensor-parallel ranks) and job_graph.cpp
// (GraphSAGE through graph shards) are the plans. Not a public
// header: only those files include it.

#include <array>
#include <chrono>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json_fwd.hpp>

#include "actors/tabular/dataset.hpp"
#include "actors/training/job.hpp"
#include "actors/training/wire.hpp"
#include "actors/training/worker_usage.hpp"
#include "runtime/log.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

using steady = std::chrono::steady_clock;
inline constexpr auto job_request_timeout = std::chrono::seconds{30};
/// Reader limits for messages that carry data or a model: any size the
/// wire accepts.
inline constexpr reader_limits whole_message{max_envelope_bytes / 8 + 1024, 64};

/// A Data field's float32 values (a part's rows, labels, a tensor).
inline std::vector<float> floats_of(capnp::Data::Reader d) {
  std::vector<float> out(d.size() / sizeof(float));
  std::memcpy(out.data(), d.begin(), out.size() * sizeof(float));
  return out;
}

/// A Data field's bytes (a member's part of a model).
inline std::vector<uint8_t> bytes_of(capnp::Data::Reader d) {
  return std::vector<uint8_t>(d.begin(), d.end());
}

/// One actor of the gang: its name, the node of its slot, and what the
/// directory spawns there.
struct member {
  std::string name;
  std::string node;
  std::string kind;
  std::string config;
  caf::actor handle;
};

class job_plan;

struct job_state {
  static inline const char* name = "troupe.training_job";
  job_init init;
  schema::JobState phase = schema::JobState::WAITING;
  std::string message;
  bool bad_input = false;
  /// The family's plan; its helper thread prepares it until `prepared`.
  std::shared_ptr<job_plan> plan;
  bool prepared = false;
  uint64_t lease = 0;
  /// The placed gang, in the order of the lease's slots.
  std::vector<member> gang;
  size_t to_place = 0;
  steady::time_point started = steady::now();
  steady::time_point training_since;
  std::string summary;
  /// Validation logloss, AUC and KS once finished (NaN where none).
  std::array<double, 3> valid{std::numeric_limits<double>::quiet_NaN(),
                              std::numeric_limits<double>::quiet_NaN(),
                              std::numeric_limits<double>::quiet_NaN()};
  /// A member of the gang its submitter leased was lost (it failed).
  bool gang_lost = false;
  /// The slowest worker's step of the last validation.
  uint64_t valid_step = 0;
  /// The last validation's metrics as JSON ("" before the first).
  std::string valid_json;
  /// Every validation before the end: (step, metrics as JSON).
  std::vector<std::pair<uint64_t, std::string>> valid_log;
  /// The last checkpoint (a JobCheckpoint) and its step.
  envelope ckpt;
  uint64_t ckpt_step = 0;
  /// The step the current placement started at.
  uint64_t start_step = 0;
  uint32_t attempt = 0;
  /// The member being placed again alone (job_plan::replaceable), if any.
  std::optional<size_t> replacing;
  /// Whether its slot was granted (the replacement is being spawned).
  bool replacement_granted = false;
  /// Single-slot leases of replacements, given back with the gang's.
  std::vector<uint64_t> extra_leases;
  /// Replacements so far (their actors' names count them).
  uint32_t replacements = 0;
  /// The hashes of the placed gang's shards in this node's dataset cache
  /// (dropped when the gang is disbanded).
  std::vector<std::string> shards;
  /// "actor@node" of the last placed gang (kept after it is disbanded).
  std::vector<std::string> placement;
  /// The last time split each worker of placement `usage_attempt` sent,
  /// by rank (job_usage.cpp).
  std::map<uint32_t, worker_usage> usage;
  uint32_t usage_attempt = 0;
  /// The data-starvation alert in force ("" when none).
  std::string alert;
  std::shared_ptr<spdlog::logger> log = log::get("training");
};

using job_self = job_actor::stateful_pointer<job_state>;

/// What a family does in a job.
class job_plan {
public:
  virtual ~job_plan() = default;
  /// Reads and prepares the data; runs on a helper thread, before the
  /// coordinator calls anything else. Errors name the file or column
  /// (errc::invalid_argument: bad input).
  virtual caf::error prepare() = 0;
  /// Slots the gang takes, and the fewest it can do with (elastic gangs:
  /// a placement may have any number in between).
  virtual uint32_t gang_size() const = 0;
  virtual uint32_t least_gang_size() const { return gang_size(); }
  /// A line on the prepared data, for the log.
  virtual std::string data_line() const = 0;
  /// The gang's members, one on each of `nodes`, named from `prefix`.
  virtual std::vector<member> members(const std::vector<std::string>& nodes,
                                      const std::string& prefix) const = 0;
  /// Every member is placed: restores the gang from st.ckpt when there is
  /// one and trains from st.start_step; ends with finish_job or fails.
  virtual void start(job_self self) = 0;
  /// Member `index` went (its node died) while the gang trains: whether
  /// the others carry on while it alone is placed again (a parameter-server
  /// shard restored from the last checkpoint); false regroups the gang.
  virtual bool replaceable(job_self, size_t /*index*/) const { return false; }
  /// The replacement of member `index`: named `name`, on `node`.
  virtual member replacement(size_t /*index*/, const std::string& /*node*/,
                             const std::string& /*name*/) const {
    return {};
  }
  /// The replacement of member `index` is placed (st.gang[index]): restore
  /// it and point the others at it.
  virtual void on_replaced(job_self, size_t /*index*/) {}
  /// The checkpoint timer (every checkpoint_seconds while training).
  virtual void on_checkpoint_timer(job_self) {}
  /// The validation timer (job_valid_atom), and a validation done.
  virtual void on_valid_timer(job_self) {}
  virtual void on_validated(job_self, uint32_t /*attempt*/, uint64_t /*step*/,
                            double /*seconds*/, const std::string& /*json*/) {}
  /// A member sent its model at `step` (a JobCheckpoint): the whole
  /// model to keep as the last checkpoint, or nothing while it waits for
  /// the other members' parts (a pipeline's stages).
  virtual std::optional<envelope>
  whole_checkpoint(job_self, const envelope& ckpt, uint64_t /*step*/) {
    return ckpt;
  }
  /// A member sent the whole model (a JobCheckpoint of `step`, kept as
  /// the last checkpoint already).
  virtual void on_model(job_self, const envelope& /*ckpt*/, uint64_t /*step*/) {
  }
  /// A member reports its progress (job_progress_atom).
  virtual void on_progress(job_self, uint64_t /*step*/, double /*loss*/) {}
  /// The gang is being disbanded: drop what its placement held.
  virtual void disband(job_self) {}
  /// The job has ended (finished, stopped or failed): drop the data only
  /// training needed. Its actor lives on for its status, and a head runs
  /// job after job: a 10-million-row job's rows must not outlive it.
  virtual void release() {}
  /// Fills the status's family fields (workers, shards, consistency,
  /// epochs, step, steps, examples, examplesPerSecond); may ask the gang
  /// first, then calls `done`.
  virtual void
  status(job_self self,
         std::function<void(std::function<void(schema::JobStatus::Builder)>)>
             done) = 0;

  /// What prepare() returned (set by the coordinator's helper thread).
  caf::error prepare_error;
};

std::shared_ptr<job_plan> make_sparse_plan(const job_config& cfg);
std::shared_ptr<job_plan> make_xgb_plan(const job_config& cfg);
std::shared_ptr<job_plan> make_mlp_plan(const job_config& cfg);
std::shared_ptr<job_plan> make_pipeline_plan(const job_config& cfg);
std::shared_ptr<job_plan> make_tensor_plan(const job_config& cfg);
std::shared_ptr<job_plan> make_graph_plan(const job_config& cfg);

/// One worker of `kind` on each of `nodes`, named PREFIX + "worker-K".
std::vector<member> workers_of(const std::vector<std::string>& nodes,
                               const std::string& prefix,
                               const std::string& kind);

/// A data-parallel job's status fields: its step (`done` while it runs,
/// `total` once finished, the checkpoint's while it waits) of `total`, the
/// examples (`per_step` a step) and their rate since the placement began
/// (over `train_seconds` once finished).
void parallel_status(const job_state& st, schema::JobStatus::Builder s,
                     uint64_t total, uint64_t done, uint64_t per_step,
                     double train_seconds);

int64_t wall_ms();
bool ended(const job_state& st);
/// Appends a JobEvent to the job's journal.
void record(job_self self, schema::JobEvent::Kind kind, uint64_t step,
            const std::string& message);
/// Ends the job (finished, failed or stopped): its gang is disbanded and
/// its slot want withdrawn.
void end(job_self self, schema::JobState phase, const std::string& message);
void fail(job_self self, const caf::error& err);
/// A member went: the job regroups from its last checkpoint, or fails after
/// max_attempts placements.
void regroup(job_self self, const std::string& why);
/// Member `index` went: placed again alone when the plan can carry on
/// without it (job_plan::replaceable), else the job regroups.
void member_lost(job_self self, size_t index, const std::string& why);
/// A request of the running gang failed: a member that went regroups the
/// job, anything else fails it.
void gang_error(job_self self, const caf::error& err);
/// Stores a JobCheckpoint at `step` in the journal and keeps it as the one
/// to regroup from. Errors: the journal's.
caf::error keep_checkpoint(job_self self, const envelope& ckpt, uint64_t step);
/// The checkpoint timer again in checkpoint_seconds (if any).
void arm_checkpoint_timer(job_self self);
/// Sends gang member i `parts[i]` (part_train_atom, part_worker.hpp) and,
/// once every member has answered, calls `done` with the first member's
/// answer (the model). A member's io_failure (a peer of the collective
/// went) regroups the job a second later, unless the lost member's down
/// message regroups it first; any other error fails it.
/// With `shards` (one row shard file per part, row_shard.hpp), the files
/// move into this node's dataset cache first and each member's node
/// fetches its own.
void train_parts(job_self self, const std::vector<envelope>& parts,
                 std::function<void(const envelope&)> done,
                 const std::vector<std::string>& shards = {});
/// train_parts, `done` given every member's answer, in gang order.
void train_parts_all(job_self self, const std::vector<envelope>& parts,
                     std::function<void(const std::vector<envelope>&)> done,
                     const std::vector<std::string>& shards = {});

/// Writes each of `workers` workers' contiguous block of `rows` (block_of)
/// as a row shard file for the job's current attempt, inside its output
/// directory, and returns their paths, for train_parts.
caf::expected<std::vector<std::string>>
write_shards(job_self self, const tabular::matrix& rows, uint32_t workers);
/// The gang trained to the end: `summary` (summary.json, written) and its
/// validation metrics finish the job.
void finish_job(job_self self, const nlohmann::json& summary);

/// Records a validation of the job taken at `step` (its metrics as JSON:
/// logloss, auc, ks, accuracy, ...) as its last one: JobStatus's valid
/// fields and validHistory. Returns the metrics; nothing is recorded, and a
/// discarded value returned, when `json` is no object or comes before the
/// last one.
nlohmann::json record_validation(job_state& st, uint64_t step,
                                 const std::string& json);

// -- utilisation (job_usage.cpp) --------------------------------------------

/// A worker's WorkerUsage report: kept when it is of the current
/// placement; the data-starvation rule ([run] data_wait_alert) is checked
/// over the workers' splits and the alert raised or cleared (a log line, a
/// journal event, the job's metrics and status); the metrics are updated.
void on_usage(job_self self, const envelope& report);
/// The share of the workers' summed time spent waiting for data (NaN
/// before any report).
double data_wait_share_of(const job_state& st);
/// The status's usage, dataWaitShare and alert fields.
void usage_status(const job_state& st, schema::JobStatus::Builder s);
/// The workers' splits as JSON: [{"worker", "rank", "step", "compute",
/// "data", "comm", "idle", "gpu"?}, ...] (seconds).
nlohmann::json usage_json(const job_state& st);
/// Appends the workers' splits to the journal (a usage event at the
/// furthest step they reported).
void record_usage(job_self self);

} // namespace troupe::training
