#pragma once

// A trial run as a training job: a study of the "sparse-lr" family (the
// parameter server: workers and one shard) or of "mlp" with
// workers_per_trial >= 2 (data-parallel LibTorch) leases each trial a gang
// of slots, and the runner on the gang's first node submits the trial's
// configuration as a job to the head's training service (registered as
// "training"; actors/training/service.hpp) with that gang
// (JobSubmit.gang): the job places its actors there and leases nothing.
// The runner polls the job's status and reports each validation to the
// study, so ASHA or the median rule can prune it: a pruned trial's job is
// stopped.
//
// The AutoML family includes no training header: it speaks the training
// service's operations (submit, status, stop: atoms named as the gateway's
// `send` ops) with the Cap'n Proto messages of schemas/training.capnp.
//
// Fidelity: a sparse-lr trial's resource is its job's validations
// (`[run] validations = max_resource`, evenly over its steps); an mlp
// trial's is its epochs (`epochs = max_resource`), each validated
// (`valid_every = 1`). Either reports its final validation, from the job's
// summary, at max_resource; before it, every validation the job's status
// lists (JobStatus.validHistory) is reported in order, those the polls
// missed included, so a short job is judged as a long one.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/blocking_actor.hpp>
#include <caf/expected.hpp>

#include "actors/automl/types.hpp"
#include "runtime/dataset_store.hpp"

namespace troupe::automl {

/// What a job trial runs.
struct job_trial_input {
  std::string study;
  trial_id trial = 0;
  uint32_t attempt = 0;
  std::string family; ///< "sparse-lr" or "mlp"
  config params;
  std::string data_path; ///< the training CSV, as the head knows it
  dataset_ref data;      ///< its content in the head's cache (may be empty)
  std::string target;
  std::string metric;
  uint64_t seed = 0;
  uint32_t threads = 1;
  uint64_t max_resource = 1;
  /// The gang's nodes, one per slot (sparse-lr: the shard's first).
  std::vector<std::string> gang;
  /// Where the job writes its model and summary (on the head).
  std::string job_dir;
  /// An mlp trial on Fashion-MNIST: the IDX files' directory (instead of
  /// data_path and target), and the files in the head's cache.
  std::string images;
  std::vector<std::pair<std::string, dataset_ref>> files;
};

/// The config (TOML) of a trial's job: the configuration's parameters as
/// the family's [model] and [run] keys (prefixed names, "mlp.lr", taken
/// without their prefix). Errors name a parameter the family has no key
/// for.
caf::expected<std::string> job_config_text(const job_trial_input& in);

/// How a job trial ended.
struct job_trial_result {
  /// lost: its job failed because a node of its gang was lost.
  enum kind { finished, failed, cancelled, lost } how = failed;
  uint64_t steps = 0; ///< the resource reached
  double value = 0;   ///< the last metric (NaN: none)
  std::string message;
  std::string job; ///< the job's id ("" when none was submitted)
};

/// What the study answered a report: go on, or end (pruned, or complete).
enum class job_trial_answer { go_on, stop, complete };

/// The runner's side of a job trial: report(step, value) asks the study
/// (an error: it did not answer); cancelled() tells a cancel.
struct job_trial_hooks {
  std::function<caf::expected<job_trial_answer>(uint64_t, double)> report;
  std::function<bool()> cancelled;
};

/// Runs the trial as a job of the training service `jobs`, on the calling
/// (detached) thread, until it ends.
job_trial_result run_job_trial(caf::blocking_actor* self,
                               const caf::actor& jobs,
                               const job_trial_input& in,
                               const job_trial_hooks& hooks);

} // namespace troupe::automl
