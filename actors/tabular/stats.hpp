#pragma once

// Statistics of a stream of rows: the first half of data validation. Plain
// C++, no CAF actors. Rows are pushed into a `row_sink` one cell at a time,
// as text (CSV cells) or as typed numbers (a feature store's float vectors,
// with no string conversion); `profile_builder` is the sink that keeps small
// per-column state and turns it into `dataset_stats`.
//
// Memory per column is bounded: a handful of counters, a reservoir sample of
// at most `profile_options::sample_size` numbers (8 bytes each) and, for
// cells given as text, a value-frequency table of at most
// `profile_options::max_domain` distinct values (dropped, and the column
// marked high-cardinality, once it holds more). A 5,000-column group of
// floats fed with `add_numbers` and sample_size 1,000 needs about 40 MB.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::tabular {

/// What a column holds, from narrowest to widest: `integer` < `floating` <
/// `string`. `unknown` is a column without a single present value.
enum class value_type { unknown, integer, floating, string };

/// "unknown", "integer", "float" or "string".
const char* to_string(value_type t);

/// Parses the names written by `to_string`.
bool from_string(std::string_view text, value_type& out);

/// Whether values of type `t` are numbers.
inline bool is_numeric(value_type t) {
  return t == value_type::integer || t == value_type::floating;
}

/// One cell, classified once. Text is read as a number when it parses fully
/// as a finite double (spaces and a leading '+' allowed, as
/// `tabular::parse_number`); it is an integer when written without '.', 'e'
/// or 'E'. So "148.0" is a float, "148" an integer.
struct cell {
  enum class kind : uint8_t { missing, integer, floating, text };
  kind what = kind::missing;
  /// The value of an integer or floating cell.
  double number = 0;
  /// The trimmed text of a cell given as text; empty for typed numbers.
  std::string_view text;

  /// The cell as text: `text` when given, else the number's shortest form.
  std::string to_text() const;
};

/// Classifies a text cell; empty (after trimming spaces and tabs) is missing.
cell classify(std::string_view raw);

/// Where rows go. Feed each row as `begin_row`, any of the `add_*` calls per
/// column (in any order), `end_row`; columns not given in a row are missing,
/// and a column given twice in a row keeps its first value. Column indexes
/// past `columns()` are ignored.
class row_sink {
public:
  explicit row_sink(size_t columns);
  virtual ~row_sink() = default;

  size_t columns() const { return seen_.size(); }
  /// Rows ended so far.
  uint64_t rows() const { return rows_; }

  /// Starts a row; `line` names it in anomaly examples (a CSV file's
  /// physical line, or any row number the caller likes).
  void begin_row(uint64_t line);
  /// A cell given as text; "" (after trimming) is missing.
  void add_text(size_t col, std::string_view text);
  /// A floating-point value; NaN is missing.
  void add_number(size_t col, double value);
  /// An integer value.
  void add_integer(size_t col, int64_t value);
  void add_missing(size_t col);
  /// Floating-point values for columns first_col, first_col+1, ...; NaN is
  /// missing. The fast path for wide numeric rows.
  void add_numbers(const double* values, size_t n, size_t first_col = 0);
  /// Ends the row.
  void end_row();

  /// A whole row of text cells.
  void add_row(const std::vector<std::string_view>& cells, uint64_t line);
  void add_row(const std::vector<std::string>& cells, uint64_t line);
  /// A whole row of floating-point values (NaN is missing).
  void add_row(const std::vector<double>& values, uint64_t line);

protected:
  /// Receives each present or missing cell of the current row once.
  virtual void on_cell(size_t col, const cell& c) = 0;
  /// The line given to the current row's `begin_row`.
  uint64_t line() const { return line_; }

private:
  void put(size_t col, const cell& c);

  std::vector<uint8_t> seen_;
  uint64_t line_ = 0;
  uint64_t rows_ = 0;
};

/// Equal-frequency bins of a numeric column: bin 0 is (-inf, edges[0]],
/// bin i is (edges[i-1], edges[i]], the last is (edges.back(), +inf).
struct histogram {
  /// Inner edges, strictly ascending.
  std::vector<double> edges;
  /// Share of the values in each bin (edges.size() + 1 entries, sum 1).
  std::vector<double> fractions;

  /// The bin holding `v`.
  size_t bin_of(double v) const;
  bool empty() const { return fractions.empty(); }
};

/// Statistics of one column.
struct column_stats {
  std::string name;
  value_type type = value_type::unknown;
  /// Present cells and missing cells; count + missing = rows.
  uint64_t count = 0;
  uint64_t missing = 0;
  /// Present cells by kind: integers + floats + texts = count.
  uint64_t integers = 0;
  uint64_t floats = 0;
  uint64_t texts = 0;

  /// Over the numeric cells (integers + floats) only; meaningless when
  /// there are none.
  double min = 0;
  double max = 0;
  double mean = 0;
  /// Sample standard deviation (n - 1); 0 for fewer than two values.
  double stddev = 0;
  /// A uniform reservoir sample of the numeric cells, sorted. Kept in memory
  /// for drift, never written to JSON.
  std::vector<double> sample;
  /// The (k + 0.5) percent quantiles of the sample, k = 0..99 (fewer when
  /// the sample is smaller than 100): a 1 %-resolution picture of the
  /// distribution that schemas keep instead of the sample.
  std::vector<double> quantiles;
  /// Equal-frequency bins of the sample (the base bins of PSI).
  histogram bins;

  /// Distinct values of the cells given as text with their counts, most
  /// frequent first (ties by value), unless more than `max_domain`
  /// distinct values were seen: then empty and `high_cardinality`.
  std::vector<std::pair<std::string, uint64_t>> domain;
  bool high_cardinality = false;

  uint64_t rows() const { return count + missing; }
  uint64_t numeric() const { return integers + floats; }
  double missing_ratio() const {
    return rows() == 0 ? 0.0 : double(missing) / double(rows());
  }
  /// Values seen exactly once (from `domain`).
  uint64_t singletons() const;
  /// The numbers drift compares: the sample, else the quantiles.
  const std::vector<double>& points() const {
    return sample.empty() ? quantiles : sample;
  }
};

/// Statistics of a data set.
struct dataset_stats {
  uint64_t rows = 0;
  std::vector<column_stats> columns;

  /// The column named `name`, or nullptr.
  const column_stats* find(std::string_view name) const;
};

/// How statistics are gathered.
struct profile_options {
  /// Reservoir size per numeric column.
  size_t sample_size = 10'000;
  /// Distinct text values tracked per column before it counts as
  /// high-cardinality.
  size_t max_domain = 1'000;
  /// Equal-frequency bins for PSI.
  size_t bins = 10;
  /// Seeds the reservoir sampling (statistics are reproducible for the same
  /// rows in the same order).
  uint64_t seed = 42;
};

/// A row sink that gathers statistics with bounded memory per column.
class profile_builder : public row_sink {
public:
  explicit profile_builder(std::vector<std::string> columns,
                           const profile_options& options = {});

  /// The statistics of the rows so far; the builder can go on after.
  dataset_stats finish() const;

  /// Feeds one classified cell (what `on_cell` does); for sinks that wrap a
  /// builder.
  void add_cell(size_t col, const cell& c);

protected:
  void on_cell(size_t col, const cell& c) override { add_cell(col, c); }

private:
  struct column_state {
    uint64_t missing = 0, integers = 0, floats = 0, texts = 0;
    double min = 0, max = 0, mean = 0, m2 = 0;
    uint64_t numeric = 0;
    std::vector<double> reservoir;
    std::map<std::string, uint64_t, std::less<>> domain;
    bool high_cardinality = false;
  };

  void add_numeric(column_state& s, double v);

  std::vector<std::string> names_;
  std::vector<column_state> state_;
  profile_options options_;
  std::mt19937_64 rng_;
};

/// The widest type of the given cell counts (unknown when all are zero).
value_type infer_type(uint64_t integers, uint64_t floats, uint64_t texts);

/// Equal-frequency bins of a sorted sample: edge k is the
/// ceil(k * n / bins)-th smallest value (k = 1..bins-1), equal edges merged,
/// so without ties each bin holds n / bins values.
histogram quantile_bins(const std::vector<double>& sorted, size_t bins);

/// Pulls rows into a sink: each call feeds one row (begin_row ... end_row)
/// and returns true, or returns false when there are no more rows.
using row_source = std::function<bool(row_sink&)>;

/// Statistics of the rows of `source`, whose cells follow `columns`.
/// Fails for an empty or duplicate column name.
caf::expected<dataset_stats> profile(const std::vector<std::string>& columns,
                                     const row_source& source,
                                     const profile_options& options = {});

/// Checks a header: no empty and no duplicate names.
caf::error check_column_names(const std::vector<std::string>& columns);

} // namespace troupe::tabular
