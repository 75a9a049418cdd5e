#pragma once

// A schema: what data is expected to look like, inferred from statistics
// (as TFDV's infer_schema) and kept as JSON beside the data. Each column has
// a type, whether it must be present, how many missing values it may have,
// an optional numeric range, an optional categorical domain, and the
// statistics it was inferred from (the recorded distribution that drift
// compares new data with).
//
// Inference rules (see `infer_options` for the numbers):
// - Every column is required (must appear in the data's header).
// - Allowed missing ratio: p' = min(1, max(1.5 p, p + 0.05)) for an observed
//   ratio p. Over 200 random halvings of Pima, the held-out half had up to
//   0.034 more missing cells than the other in columns missing <= 5 %, and
//   up to 0.08 more in triceps and insulin (30 % and 49 % missing): the
//   absolute 0.05 covers the first, 1.5 p the second, and blanking 40 % of
//   the rows of a column missing up to 30 % still exceeds p'.
// - Numeric range: the observed [min, max] widened by `range_margin` of its
//   span on each side (to whole numbers for integer columns); a column never
//   negative keeps 0 as its lower bound.
//   Values outside it block only when they are more than
//   `max_out_of_range_ratio` (1 %) of the checked values and more than
//   chance would put there (check.hpp), else they warn: the held-out half of
//   real data routinely holds a few values past the other half's extremes
//   (sparse counts in ticdata go from max 1 to max 5; spam's capitalLong
//   lands 6 spans past the range), which is a tail, not a broken pipeline.
//   TFDV infers no ranges at all; `ranges = false` does the same (then no
//   out_of_range check runs, and drift is what notices a shift).
// - Domain (string columns with at most `max_domain` distinct values): the
//   observed values. Unseen values block only when they are more than
//   max(1 %, 2 x the Good-Turing unseen mass n1 / n) of the present values,
//   where n1 counts values seen once: a column full of rare values (Boston's
//   town) expects new ones; a column of stable categories (Pima's diabetes)
//   gets 1 %.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

#include "actors/tabular/stats.hpp"

namespace troupe::tabular {

/// An enforced numeric range (both ends included).
struct value_range {
  double min = 0;
  double max = 0;
};

/// What one column must look like.
struct column_schema {
  std::string name;
  value_type type = value_type::unknown;
  /// Whether the column must appear in the data.
  bool required = true;
  /// The largest allowed share of missing cells.
  double max_missing_ratio = 0.05;
  /// Numeric columns: values must lie in it (no check when unset).
  std::optional<value_range> range;
  /// Share of present values allowed outside `range` before it blocks.
  double max_out_of_range_ratio = 0.01;
  /// String columns: the allowed values, sorted (no check when unset).
  std::optional<std::vector<std::string>> domain;
  /// Share of present values allowed outside `domain` before it blocks.
  double max_out_of_domain_ratio = 0.01;
  /// The statistics the column was inferred from (without the sample, and
  /// for numeric columns without value counts); unset in hand-written
  /// schemas, then drift has no baseline for the column.
  std::optional<column_stats> baseline;

  /// Whether `value` is in the domain (true when there is no domain).
  bool in_domain(std::string_view value) const;
};

/// What a data set must look like.
struct schema {
  /// The data the schema was inferred from, for people.
  std::string source;
  std::vector<column_schema> columns;

  /// The column named `name`, or nullptr.
  const column_schema* find(std::string_view name) const;
  column_schema* find(std::string_view name);
  /// The recorded statistics, as a data set's (columns without a baseline
  /// are left out).
  dataset_stats baseline() const;
};

/// How a schema is inferred.
struct infer_options {
  /// Whether numeric columns get an enforced range.
  bool ranges = true;
  /// Share of the observed span added below and above the range.
  double range_margin = 0.1;
  double max_out_of_range_ratio = 0.01;
  /// The least out-of-domain share a domain tolerates.
  double min_out_of_domain_ratio = 0.01;
  /// Absolute slack of the allowed missing ratio.
  double missing_slack = 0.05;
  /// Relative slack of the allowed missing ratio.
  double missing_factor = 1.5;
};

/// The allowed missing ratio for an observed one (see the rules above).
double allowed_missing_ratio(double observed, const infer_options& options);

/// The schema of one column from its statistics.
column_schema infer_column(const column_stats& stats,
                           const infer_options& options = {});

/// The schema of a data set from its statistics.
schema infer_schema(const dataset_stats& stats,
                    const infer_options& options = {});

// -- JSON (schema_io.cpp) -----------------------------------------------------

/// The schema as JSON (format "troupe.validation.schema", version 1).
nlohmann::json to_json(const schema& s);
nlohmann::json to_json(const column_stats& c);

/// Reads a schema from JSON; `source` names it in messages, which name the
/// field as well ("S.json: columns[2].range.min: expected a number").
caf::expected<schema> schema_from_json(const nlohmann::json& j,
                                       const std::string& source);
caf::expected<column_stats> stats_from_json(const nlohmann::json& j,
                                            const std::string& where);

/// Reads a schema file.
caf::expected<schema> read_schema(const std::string& path);

/// Writes a schema file atomically (a temporary file, then rename).
caf::error write_schema(const std::string& path, const schema& s);

} // namespace troupe::tabular
