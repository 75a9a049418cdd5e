#pragma once

// `troupe automl`: runs a study in this process (embedded cluster) or on a
// cluster through its gateway, shows a live progress bar, and ends with a
// leaderboard, the refitted best model and a JSON summary. `troupe report`
// writes a study's HTML report.

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

#include "actors/automl/study.hpp"
#include "runtime/clock.hpp"
#include "runtime/node.hpp"

namespace troupe::automl {

/// Everything `troupe automl` accepts.
struct automl_options {
  study_spec spec;          ///< id may be empty (then generated)
  std::string budget;       ///< "10m", "90s", "1h", "500ms" or seconds
  std::string space_file;   ///< JSON or TOML override of the default space
  std::string task;         ///< "" = inferred
  std::string cluster;      ///< HOST:PORT of a gateway; "" = embedded
  std::string out = "runs"; ///< embedded: data dir; cluster: model dir root
  std::string resume;       ///< a study id to continue
  uint32_t slots = 0;       ///< embedded: slots (0 = one per core)
  double weight = 1;
  bool quiet = false; ///< no progress bar
  /// Whether --max-rounds, --min-rounds and --every were given (a study of
  /// trials run as jobs has its own defaults for those that were not: see
  /// job_trial.hpp).
  bool max_given = false, min_given = false, every_given = false;
  /// "metric,latency,model-size": a multi-objective study (see
  /// set_objectives in study_spec.hpp); "" = the metric alone.
  std::string objectives;
  /// The clock of the study's creation time and the progress lines (the
  /// embedded cluster's studies read the kinds' own clock).
  clock_ptr clock = real_clock();
};

/// The payloads of the service's "submit" op (a StudySubmit) and of its
/// "status", "stop" and "resume" ops (a StudyRef).
caf::expected<envelope> submit_envelope(const study_spec& spec, double weight);
envelope ref_envelope(const std::string& id);

/// Parses a duration: "10m", "90s", "1h", "250ms", or a number of seconds.
caf::expected<uint64_t> parse_duration_ms(const std::string& text);

/// Runs the command. `kinds` registers every actor kind (embedded mode).
/// Returns the exit code: 0 finished, 1 failed, 2 bad arguments.
int run_automl(automl_options opts, const kind_registrar& kinds);

/// `troupe report STUDY [--runs DIR] [--out FILE]`.
struct report_options {
  std::string study;
  std::string runs = "runs";
  std::string out = "report.html";
};

/// Writes the report of a study (report.hpp); returns the exit code, after
/// a message on stderr naming what is wrong.
int run_report(const report_options& o);

} // namespace troupe::automl
