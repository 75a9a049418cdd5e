#pragma once

// The training family's values in their Cap'n Proto form
// (schemas/training.capnp) as people and programs read them.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/envelope.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

/// "waiting", "running", "finished", "failed", "stopped" ("unknown" else).
std::string to_text(schema::JobState s);

/// A JobStatus as the CLI, the tests and the benchmarks read it.
struct job_view {
  std::string id, family, state, message, consistency, summary;
  uint64_t step = 0, steps = 0, examples = 0, elapsed_ms = 0;
  uint64_t checkpoint_step = 0;
  uint32_t workers = 0, shards = 0, attempt = 0;
  double per_second = 0, logloss = NAN, auc = NAN, ks = NAN;
  bool bad_input = false;
  /// "actor@node" of its shards and workers.
  std::vector<std::string> placement;

  bool ended() const {
    return state == "finished" || state == "failed" || state == "stopped";
  }
};

/// Reads a JobStatus envelope.
caf::expected<job_view> job_view_of(const envelope& status);

} // namespace troupe::training
