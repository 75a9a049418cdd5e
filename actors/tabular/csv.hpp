#pragma once

// Reading CSV files into typed columns. Plain C++, no CAF actors; errors are
// caf::expected values whose messages name the place as `file:line:column`,
// where line is the 1-based physical line of the file and column the 1-based
// field number on that row.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::tabular {

/// How a CSV file is read.
struct csv_options {
  /// Field separator.
  char delimiter = ',';
  /// Cell texts read as missing: compared, after trimming spaces and tabs,
  /// with quoted and unquoted cells alike. An empty cell is always missing.
  std::vector<std::string> missing = {"NA", "?"};
};

/// Whether a column holds numbers or category strings.
enum class column_kind { numeric, categorical };

/// One column of a table.
struct column {
  std::string name;
  column_kind kind = column_kind::numeric;
  /// Each row's cell, quotes removed and surrounding spaces and tabs trimmed;
  /// "" when the cell is missing, so a present value is never empty.
  std::vector<std::string> text;
  /// Numeric columns only: each row's value, NaN when missing.
  std::vector<double> numbers;
  /// How many cells are missing.
  size_t missing = 0;

  bool is_missing(size_t row) const { return text[row].empty(); }
};

/// A CSV file read into columns. A column is numeric when every present cell
/// parses fully as a finite double (spaces around it allowed), and
/// categorical otherwise; a column mixing numbers and strings is categorical
/// and noted in `warnings`.
struct table {
  /// The file (or the name given for in-memory text), for messages.
  std::string source;
  std::vector<column> columns;
  /// The physical line on which each row starts.
  std::vector<size_t> lines;
  /// Things the reader handled but the user should hear about.
  std::vector<std::string> warnings;

  size_t rows() const { return lines.size(); }
  /// The column named `name`, or nullptr.
  const column* find(const std::string& name) const;
  /// "a, b, c": the column names, for messages.
  std::string column_list() const;
};

/// Reads a CSV file: a header row naming the columns, then one record per row.
/// Records are read by csv_stream (actors/tabular/csv_stream.hpp), which holds
/// the parsing rules: RFC 4180 (quoted fields may hold delimiters, doubled
/// quotes and line breaks); lines end in LF, CRLF or CR; a leading UTF-8 BOM
/// is skipped; blank lines are skipped. Errors: a missing or empty file, a
/// header without rows, a row with a different number of fields than the
/// header, an unterminated quote, text after a closing quote, invalid UTF-8,
/// duplicate column names.
caf::expected<table> read_csv(const std::string& path,
                              const csv_options& options = {});

/// Reads CSV text held in memory; `source` names it in messages.
caf::expected<table> parse_csv(const std::string& text,
                               const std::string& source,
                               const csv_options& options = {});

/// A uniform sample of `rows` records of a CSV file, typed as read_csv
/// types a whole file, read in one pass in memory for the sample alone
/// (reservoir sampling, drawn from `seed`); the records keep their file
/// order, so a file of at most `rows` records reads as read_csv reads it.
caf::expected<table> sample_csv(const std::string& path, size_t rows,
                                uint64_t seed, const csv_options& options = {});

/// A cell as read_csv keeps it: spaces and tabs around it trimmed, and ""
/// when it is missing (empty, or one of options.missing). For readers that
/// stream records (csv_stream) and must see cells as tables do.
void normalize_cell(std::string& cell, const csv_options& options = {});

/// Parses `text` as a finite double, allowing spaces around it and a leading
/// '+'; false for anything else (including "inf" and "nan").
bool parse_number(const std::string& text, double& out);

} // namespace troupe::tabular
