#pragma once

// Spawning a study actor (protocol in service.hpp).

#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/automl/journal.hpp"
#include "actors/automl/study.hpp"

namespace troupe::automl {

/// What a study actor starts from.
struct study_init {
  std::unique_ptr<study_core> core;
  std::shared_ptr<study_journal> journal; ///< may be null (no journal)
  caf::actor service;                     ///< gets wants/release messages
  std::string out_dir;                    ///< summary.json and best/
  double weight = 1;
};

/// Spawns the study actor. It ticks every 100 ms until it has finished.
caf::actor spawn_study(caf::actor_system& sys, study_init init);

/// Milliseconds since the epoch (the studies' clock).
int64_t wall_ms();

} // namespace troupe::automl
