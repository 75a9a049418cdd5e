#pragma once

// The shell's AutoML commands (`studies`, `study ID`, `stop-study ID`),
// registered by the family (family.cpp). The shell reaches the "automl"
// service on the head through the gateway's `send` (protocol:
// actors/automl/service.hpp, schemas/automl.capnp).

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/envelope.hpp"
#include "runtime/shell.hpp"

namespace troupe::automl {

/// Renders a StudyList (the answer to `list`) as the `studies` table: ID
/// STATE TRIALS DONE RUNNING PRUNED FAILED BEST ELAPSED, one row per study,
/// then "N studies". Stored studies (not loaded) show "-" for their numbers.
/// An error if `list` holds no StudyList.
caf::expected<std::string> format_studies(const envelope& list);

/// Renders a StudyStatus (the answer to `status`) as `study ID` prints it:
/// its fields as aligned "key  value" lines, then the leaderboard (RANK TRIAL
/// STATE VALUE STEPS NODE CONFIG, best first). An error if `status` holds no
/// StudyStatus.
caf::expected<std::string> format_study(const envelope& status);

/// Renders a StudyStatus as one line ("study ID: STATE, N trials (...)").
caf::expected<std::string> format_study_line(const envelope& status);

/// The study ids of a StudyList, in its order.
caf::expected<std::vector<std::string>> study_ids(const envelope& list);

/// The commands, asking the "automl" service through `backend.send`; study
/// ids complete from the last listing (refreshed after about a second).
std::vector<shell_command> shell_commands(shell_backend& backend);

} // namespace troupe::automl
