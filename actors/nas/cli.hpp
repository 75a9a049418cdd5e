#pragma once

// `troupe nas`: neural architecture search on Fashion-MNIST from the command
// line (pipeline.hpp does the work).

#include <string>

#include "actors/nas/pipeline.hpp"

namespace CLI {
class App;
} // namespace CLI

namespace troupe::nas {

/// The command's options as typed (names still unparsed).
struct cli_options {
  nas_options run;
  std::string space = "mobilenet";
  std::string strategy = "evolution";
  double max_mflops = 0;
  bool quiet = false;
};

/// Adds `troupe nas` to `app`; returns the subcommand.
CLI::App* add_nas_command(CLI::App& app, cli_options& o);

/// Runs `troupe nas`; prints progress (unless quiet) to stdout and errors,
/// "troupe nas: ...", to stderr. Returns 0, 2 for bad usage (an unknown
/// space or strategy, a missing option, a bad number), 1 when the search
/// fails (data, impossible limits, LibTorch, output).
int run_nas_command(cli_options o);

} // namespace troupe::nas
