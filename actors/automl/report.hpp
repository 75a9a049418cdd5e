#pragma once

// `troupe report STUDY`: one self-contained HTML file (inline CSS and SVG,
// no script, readable offline) that shows a study: its optimisation
// history, parameter importances, parallel coordinates, each trial's
// intermediate values (the pruning picture), the leaderboard, the
// ensemble's members and weights, and its warm start. It reads the study
// journal and, when the study finished, its summary.json.

#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/automl/journal.hpp"
#include "actors/automl/space.hpp"
#include "actors/automl/study_spec.hpp"

namespace troupe::automl {

/// One trial as the report shows it.
struct report_trial {
  trial_record rec;
  /// Seconds from the study's creation to the trial's end (NaN: not ended).
  double end_s = std::numeric_limits<double>::quiet_NaN();
};

/// What a report is made from.
struct report_input {
  study_spec spec;
  search_space space;
  std::vector<report_trial> trials;
  /// summary.json of a finished study; null otherwise.
  nlohmann::json summary;
};

/// Reads study `study` from the journal in `journal_dir` and its summary
/// (spec.out_dir or `runs_dir`/STUDY, if written). Errors: no journal, an
/// unknown study (naming the known ones).
caf::expected<report_input> read_report_input(const std::string& runs_dir,
                                              const std::string& study);

/// The report's HTML.
std::string render_report(const report_input& in);

/// A configuration as the report's tables show it: "name=value, ...".
std::string config_text(const config& c);

/// The Pareto-front section of a multi-objective study (report_pareto.cpp):
/// a scatter of the metric against the first secondary objective, the
/// front in red (joined when there are two objectives), and the front's
/// table.
std::string pareto_section(const report_input& in);

} // namespace troupe::automl
