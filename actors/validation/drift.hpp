#pragma once

// Drift between a base data set and a new one, column by column, from their
// statistics (stats.hpp).
//
// Numeric columns get two measures:
// - PSI, the population stability index, over the base's equal-frequency
//   bins: sum over bins of (q - p) ln(q / p), p the base's share of a bin
//   and q the new data's, each raised to `epsilon` when a bin is empty. The
//   new shares are counted from the new data's reservoir sample.
// - KS, the two-sample Kolmogorov-Smirnov statistic sup |F_base - F_new|,
//   computed exactly between the two reservoir samples (which are the whole
//   column up to profile_options::sample_size values). When the base is a
//   schema, which keeps 100 quantiles instead of the sample, those quantiles
//   stand in for it: each is 1 % of the mass, so KS and the new shares of
//   PSI bins are good to about 0.01.
// Categorical (string) columns get the L-infinity distance between the
// value-frequency vectors (normalized over present values):
// max over values of |p_base(v) - p_new(v)|, a value missing from one side
// counting 0 there. High-cardinality columns are not compared.
//
// A column drifts when any of its measures exceeds its threshold. A
// threshold is raised to the measure's chance level for the two sample sizes
// at `significance` (noise.hpp): KS 0.1 is within chance for two halves of
// Boston's 506 rows (the 0.1 % critical value is 0.17), so small data sets
// only drift when the difference is both large and real; with 10,000-value
// samples the floors (KS 0.028, PSI 0.0055, L-inf 0.023) are far below the
// defaults. Missing values are left out of every measure (the schema check
// covers them).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/tabular/stats.hpp"

namespace troupe::validation {

using tabular::column_stats;
using tabular::dataset_stats;
using tabular::histogram;

/// Thresholds above which a column drifts.
struct drift_thresholds {
  double psi = 0.2;
  double ks = 0.1;
  double linf = 0.1;
  /// Floor of an empty bin's share in PSI.
  double epsilon = 1e-4;
  /// Chance level of the noise floors (0: the thresholds as given).
  double significance = 0.001;
};

/// How a column was compared.
enum class drift_method { numeric, categorical, none };

/// The drift of one column.
struct column_drift {
  std::string column;
  drift_method method = drift_method::none;
  /// Measures that apply to the method.
  std::optional<double> psi, ks, linf;
  /// The thresholds each measure was held to: the given one, or the noise
  /// floor of the sample sizes when that is higher.
  std::optional<double> psi_threshold, ks_threshold, linf_threshold;
  bool drifted = false;
  /// Why a column was not compared, or what to know about the comparison.
  std::string note;
};

/// Compares every column of `base` with the same column of `next`; columns
/// only in `next` are listed with method none.
std::vector<column_drift> drift(const dataset_stats& base,
                                const dataset_stats& next,
                                const drift_thresholds& thresholds = {});

/// Compares one column.
column_drift drift(const column_stats& base, const column_stats& next,
                   const drift_thresholds& thresholds = {});

/// PSI between the base's bin shares and new shares (same length).
double psi(const std::vector<double>& base_fractions,
           const std::vector<double>& new_fractions, double epsilon = 1e-4);

/// The shares of `values` in the bins of `base`.
std::vector<double> bin_fractions(const histogram& base,
                                  const std::vector<double>& values);

/// The two-sample KS statistic of two sorted samples (0 if one is empty).
double ks_statistic(const std::vector<double>& a, const std::vector<double>& b);

/// L-infinity distance of two value-count lists, each normalized to sum 1.
double linf_distance(const std::vector<std::pair<std::string, uint64_t>>& a,
                     const std::vector<std::pair<std::string, uint64_t>>& b);

} // namespace troupe::validation
