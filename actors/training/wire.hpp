#pragma once

// The training family's values in their Cap'n Proto form
// (schemas/training.capnp) as people and programs read them.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/training/worker_usage.hpp"
#include "runtime/envelope.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

/// "waiting", "running", "finished", "failed", "stopped" ("unknown" else).
std::string to_text(schema::JobState s);

/// A JobStatus as the CLI, the tests and the benchmarks read it.
/// A WorkerUsage: a gang member's time split.
struct worker_usage {
  std::string worker;
  uint32_t rank = 0;
  /// The job's placement it belongs to.
  uint32_t attempt = 0;
  /// Its steps (epochs, rounds) so far.
  uint64_t step = 0;
  time_split split;
  /// Its GPU's busy share (0..1), NaN without one.
  double gpu = NAN;
};

envelope to_envelope(const worker_usage& u);
/// Fills a WorkerUsage (in a message or a list) from `u`.
void write_usage(schema::WorkerUsage::Builder b, const worker_usage& u);
caf::expected<worker_usage> worker_usage_of(const envelope& e);
worker_usage worker_usage_of(schema::WorkerUsage::Reader r);

struct job_view {
  std::string id, family, state, message, consistency, summary;
  uint64_t step = 0, steps = 0, examples = 0, elapsed_ms = 0;
  uint64_t checkpoint_step = 0;
  uint32_t workers = 0, shards = 0, attempt = 0;
  double per_second = 0, logloss = NAN, auc = NAN, ks = NAN;
  bool bad_input = false;
  /// "actor@node" of its shards and workers.
  std::vector<std::string> placement;
  /// Each worker's time split, the share of their time spent waiting for
  /// data, the alert in force.
  std::vector<worker_usage> usage;
  double data_wait_share = NAN;
  std::string alert;

  bool ended() const {
    return state == "finished" || state == "failed" || state == "stopped";
  }
};

/// Reads a JobStatus envelope.
caf::expected<job_view> job_view_of(const envelope& status);

} // namespace troupe::training
