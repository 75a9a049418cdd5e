#pragma once

// `troupe validate`: infer a schema from a CSV file, check a CSV file
// against a schema (and accept anomalies into it), and measure drift
// between two data sets.
//
//   troupe validate infer --data D.csv --out schema.json [--no-ranges]
//   troupe validate check --schema S.json --data D.csv
//                         [--accept ID[,ID...] | --accept all]
//                         [--schema-out S2.json]
//   troupe validate drift --base A.csv|S.json --new B.csv
//                         [--psi 0.2] [--ks 0.1] [--linf 0.1]
//                         [--significance 0.001]
//
// Exit codes: 0 clean, 1 a blocking anomaly remains (check) or a feature
// drifted (drift), 2 bad usage or input (the message names the file).

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace troupe::validation {

/// Everything `troupe validate` accepts.
struct cli_options {
  std::string data;       ///< infer, check: the CSV file
  std::string out;        ///< infer: where the schema goes
  std::string schema;     ///< check: the schema file
  std::string schema_out; ///< check: where an evolved schema goes
  /// check: anomaly ids ("COLUMN:KIND") or "all" to accept.
  std::vector<std::string> accept;
  std::string base; ///< drift: a CSV file or a schema with statistics
  std::string next; ///< drift: the new CSV file
  double psi = 0.2; ///< drift thresholds
  double ks = 0.1;
  double linf = 0.1;
  /// check, drift: chance level of the noise floors (0: none).
  double significance = 0.001;
  bool no_ranges = false; ///< infer: no numeric ranges (as TFDV)
  uint64_t seed = 42;     ///< reservoir sampling seed

  /// Set by add_command: the subcommands, to tell which one was parsed.
  CLI::App* validate_cmd = nullptr;
  CLI::App* infer_cmd = nullptr;
  CLI::App* check_cmd = nullptr;
  CLI::App* drift_cmd = nullptr;
};

/// Adds `troupe validate` (subcommands infer, check, drift) to app.
CLI::App* add_command(CLI::App& app, cli_options& opts);

/// Runs whichever subcommand was parsed; returns the exit code.
int run(const cli_options& opts);

} // namespace troupe::validation
