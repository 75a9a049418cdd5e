#pragma once

// The shell's training commands (`jobs`, `job ID`, `stop-job ID`),
// registered by the family (family.cpp). The shell reaches the "training"
// service on the head through the gateway's `send` (protocol: service.hpp,
// schemas/training.capnp).

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/envelope.hpp"
#include "runtime/shell.hpp"

namespace troupe::training {

/// Renders a JobList as the `jobs` table: ID FAMILY STATE STEP EXAMPLES
/// EX/S AUC, one row per job, then "N jobs".
caf::expected<std::string> format_jobs(const envelope& list);

/// Renders a JobStatus as `job ID` prints it: aligned "key  value" lines,
/// the placement of its actors last.
caf::expected<std::string> format_job(const envelope& status);

/// The commands, asking the "training" service through `backend.send`.
std::vector<shell_command> shell_commands(shell_backend& backend);

} // namespace troupe::training
