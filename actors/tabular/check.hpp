#pragma once

// Checking data against a schema: a list of anomalies, each blocking (the
// data must not go on until someone fixes it or accepts it into the schema)
// or a warning (worth a look, not worth stopping for).
//
// - missing_column: a required column is not in the data. Blocking.
// - extra_column: the data has a column the schema lacks. A warning:
//   nothing downstream reads a column the schema does not name.
// - type_mismatch: a value is not of the column's type (text in a numeric
//   column, a float in an integer column). Blocking, whatever the count.
// - out_of_range: numeric values outside the column's range. Blocking when
//   their share of the checked values exceeds max_out_of_range_ratio and
//   their count exceeds what chance puts past the extremes of the schema's
//   baseline (noise.hpp: chance_beyond_extremes at `significance`; 10
//   values for a batch as large as the baseline, 1 for a batch a thousandth
//   of it), else a warning. Tails of real data poke out of a range learnt
//   on half of it: in 7 of 30 random halvings of Pima some column (insulin,
//   pedigree, pressure, triceps; about 200 to 380 values) had more than 1 %
//   of the held-out values outside; with the count floor none blocks.
// - out_of_domain: string values outside the column's domain. Blocking when
//   their share of the present values exceeds max_out_of_domain_ratio, else
//   a warning.
// - missing_ratio_jump: the share of missing cells exceeds
//   max_missing_ratio. Blocking.
//
// A missing optional column is no anomaly.
//
// The `checker` streams rows (so examples carry their line numbers) and
// profiles the data on the way, so anomalies can be accepted into the schema
// (evolve.hpp) with what the data showed.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "actors/tabular/schema.hpp"
#include "actors/tabular/stats.hpp"

namespace troupe::tabular {

enum class anomaly_kind {
  missing_column,
  extra_column,
  type_mismatch,
  out_of_range,
  out_of_domain,
  missing_ratio_jump,
};

/// "missing_column", "extra_column", ... as in the list above.
const char* to_string(anomaly_kind k);

enum class severity { warning, blocking };

const char* to_string(severity s);

/// An offending value and the line it is on.
struct example {
  std::string value;
  uint64_t line = 0;
};

/// Something in the data the schema does not allow.
struct anomaly {
  std::string column;
  anomaly_kind kind = anomaly_kind::missing_column;
  severity level = severity::blocking;
  /// Offending values (missing cells for missing_ratio_jump, present values
  /// of an extra column, rows for a missing column).
  uint64_t count = 0;
  /// count over the values it is measured against, and the share the
  /// schema allows (0 where any count is too many).
  double ratio = 0;
  double allowed = 0;
  /// The first offending values with their lines (at most 3); empty when
  /// checked from statistics.
  std::vector<example> examples;
  /// out_of_domain: the distinct unseen values (at most max_domain), and
  /// whether there were more.
  std::vector<std::string> values;
  bool more_values = false;
  /// One line for people.
  std::string description;

  bool blocking() const { return level == severity::blocking; }
  /// "COLUMN:KIND", stable across runs: what `accept` takes.
  std::string id() const;
};

/// What a check found, with the statistics of the checked data.
struct check_result {
  std::vector<anomaly> anomalies;
  dataset_stats stats;

  size_t blocking() const;
  /// The anomaly with this id, or nullptr.
  const anomaly* find(std::string_view id) const;
};

/// How data is checked.
struct check_options {
  /// Examples kept per anomaly.
  size_t max_examples = 3;
  /// The chance level under which out-of-range counts are noise (0: none).
  double significance = 0.001;
  /// Statistics of the checked data (for evolution and drift).
  profile_options profile;
};

namespace detail {

/// Evidence against one data column, gathered by the checker.
struct column_evidence {
  const column_schema* schema = nullptr; ///< nullptr: an extra column
  uint64_t type_bad = 0, range_bad = 0, domain_bad = 0;
  std::vector<example> type_ex, range_ex, domain_ex, missing_ex, present_ex;
  std::map<std::string, uint64_t, std::less<>> unseen;
  bool more_unseen = false;
  /// From statistics only: the data has too many distinct values to tell.
  bool domain_unknown = false;
};

} // namespace detail

/// A row sink that checks each cell against a schema and profiles the data.
/// The columns are the data's header, in the order cells are given; the
/// schema must outlive the checker.
class checker : public row_sink {
public:
  checker(const schema& s, std::vector<std::string> columns,
          const check_options& options = {});

  /// The anomalies of the rows so far; the checker can go on after.
  check_result finish() const;

protected:
  void on_cell(size_t col, const cell& c) override;

private:
  void note(std::vector<example>& xs, const cell& c);

  const schema& schema_;
  std::vector<std::string> columns_;
  check_options options_;
  profile_builder profile_;
  std::vector<detail::column_evidence> evidence_;
};

/// Checks the rows of `source`, whose cells follow `columns`. Fails for an
/// empty or duplicate column name.
caf::expected<check_result> check(const schema& s,
                                  const std::vector<std::string>& columns,
                                  const row_source& source,
                                  const check_options& options = {});

/// Checks statistics alone: the same anomalies, without examples (and with
/// out_of_range counts estimated from the sample).
check_result check(const schema& s, const dataset_stats& stats,
                   double significance = 0.001);

} // namespace troupe::tabular
