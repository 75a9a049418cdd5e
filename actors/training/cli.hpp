#pragma once

// `troupe train --config job.toml [--out DIR]`: runs a training job in this
// process (sparse_job.hpp for the sparse-lr family).

#include <string>

namespace CLI {
class App;
} // namespace CLI

namespace troupe::training {

struct train_options {
  std::string config;
  std::string out = "runs/train";
};

/// Adds `troupe train` to `app`; returns the subcommand.
CLI::App* add_train_command(CLI::App& app, train_options& o);

/// Runs `troupe train`: prints the summary's main figures to stdout and
/// errors, "troupe train: ...", to stderr. Returns 0, 2 for a bad config or
/// data (named with file, line and key), 1 when training fails.
int run_train_command(const train_options& o);

} // namespace troupe::training
