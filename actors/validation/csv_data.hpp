#pragma once

// CSV files as row sources: the statistics and checks of `troupe validate`.
// The file is read whole with tabular::read_csv (its errors name
// file:line:column) and fed to the sinks row by row as text, each row with
// its physical line, so anomaly examples point into the file.

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/tabular/check.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/tabular/stats.hpp"

namespace troupe::validation {

using tabular::check_options;
using tabular::check_result;
using tabular::dataset_stats;
using tabular::profile_options;
using tabular::row_sink;
using tabular::schema;

/// The column names of a table.
std::vector<std::string> column_names(const tabular::table& t);

/// Feeds every row of `t` into `sink` as text cells.
void feed(const tabular::table& t, row_sink& sink);

/// Statistics of a CSV file.
caf::expected<dataset_stats> profile_csv(const std::string& path,
                                         const profile_options& options = {});

/// Checks a CSV file against a schema.
caf::expected<check_result> check_csv(const schema& s, const std::string& path,
                                      const check_options& options = {});

} // namespace troupe::validation
