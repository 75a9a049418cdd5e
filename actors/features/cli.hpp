#pragma once

// `troupe features ...`: create a group, list groups, ingest a CSV, join
// labels point-in-time, get one entity. Each runs against a cluster
// (--cluster HOST:PORT) or an embedded store in --data-dir.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "actors/features/ingest.hpp"
#include "runtime/node.hpp"

namespace troupe::features {

struct cli_options {
  store_options store;
  // create
  std::string group;
  std::string description;
  std::string vector;              ///< NAME:WIDTH
  std::vector<std::string> fields; ///< NAME:TYPE[?]
  std::string ttl;                 ///< 30d, 12h, 90m, 0
  bool allow_nan = false;
  // get
  std::string entity;
  std::string as_of;
  // ingest, join
  ingest_options ingest;
  join_options join;
  std::string groups; ///< G1,G2 (join)
  // validate
  std::string schema_in;
  std::string schema_out;
  uint64_t sample = 0;
  CLI::App* create_cmd = nullptr;
  CLI::App* groups_cmd = nullptr;
  CLI::App* get_cmd = nullptr;
  CLI::App* ingest_cmd = nullptr;
  CLI::App* join_cmd = nullptr;
  CLI::App* validate_cmd = nullptr;
};

/// Adds `troupe features` and its subcommands to `app`.
CLI::App* add_command(CLI::App& app, cli_options& opts);

/// Runs the parsed subcommand; returns the exit code (0 ok, 1 the work
/// failed or stopped at a bad row, 2 bad usage or input).
int run(cli_options& opts, const kind_registrar& kinds);

} // namespace troupe::features
