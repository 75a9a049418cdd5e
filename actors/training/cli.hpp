#pragma once

// `troupe train --config job.toml [--cluster HOST:PORT] [--out DIR]
// [--slots N] [--job ID]`, or `troupe train --resume JOB [--out DIR]`
// after the job's process died: submits (or resumes) a training job on the
// training service
// (service.hpp) of a cluster, or of a one-node cluster embedded in this
// process by default, shows its progress and prints its results.

#include <cstdint>
#include <string>

#include "runtime/node.hpp"

namespace CLI {
class App;
} // namespace CLI

namespace troupe::training {

struct train_options {
  std::string config;
  std::string resume;
  std::string out = "runs/train";
  std::string cluster;
  std::string id;
  uint32_t slots = 0;
  /// "N" or "MIN:MAX" instead of the config's [run] workers.
  std::string workers;
  bool quiet = false;
};

/// Adds `troupe train` to `app`; returns the subcommand.
CLI::App* add_train_command(CLI::App& app, train_options& o);

/// Runs `troupe train`: progress to stderr, the results to stdout, errors
/// "troupe train: ..." to stderr. Returns 0 when the job finished, 2 for a
/// bad config or data (named with file, line and key), 1 otherwise.
int run_train_command(const train_options& o, const kind_registrar& kinds);

} // namespace troupe::training
