#pragma once

// The training family's values in their Cap'n Proto form
// (schemas/training.capnp) as people read them.

#include <string>

#include "schemas/training.capnp.h"

namespace troupe::training {

/// "waiting", "running", "finished", "failed", "stopped" ("unknown" else).
inline std::string to_text(schema::JobState s) {
  switch (s) {
  case schema::JobState::WAITING:
    return "waiting";
  case schema::JobState::RUNNING:
    return "running";
  case schema::JobState::FINISHED:
    return "finished";
  case schema::JobState::FAILED:
    return "failed";
  case schema::JobState::STOPPED:
    return "stopped";
  case schema::JobState::UNKNOWN:
    break;
  }
  return "unknown";
}

} // namespace troupe::training
