#include "actors/validation/drift.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "actors/tabular/noise.hpp"

namespace troupe::validation {

using tabular::column_stats;
using tabular::dataset_stats;
using tabular::histogram;
using tabular::is_numeric;
using tabular::ks_critical;
using tabular::linf_critical;
using tabular::profile_options;
using tabular::psi_critical;
using tabular::value_type;

namespace {

/// How many values a column's measures rest on: the sample, or for
/// quantiles standing in for a sample, the values they summarize (at most a
/// default sample's worth).
double effective_size(const column_stats& c) {
  if (!c.sample.empty()) return double(c.sample.size());
  return double(std::min<uint64_t>(c.numeric(), profile_options{}.sample_size));
}

} // namespace

double psi(const std::vector<double>& base_fractions,
           const std::vector<double>& new_fractions, double epsilon) {
  double total = 0;
  auto n = std::min(base_fractions.size(), new_fractions.size());
  for (size_t i = 0; i < n; ++i) {
    auto p = std::max(base_fractions[i], epsilon);
    auto q = std::max(new_fractions[i], epsilon);
    total += (q - p) * std::log(q / p);
  }
  return total;
}

std::vector<double> bin_fractions(const histogram& base,
                                  const std::vector<double>& values) {
  std::vector<double> out(base.edges.size() + 1, 0.0);
  if (values.empty()) return out;
  for (auto v : values)
    out[base.bin_of(v)] += 1.0;
  for (auto& f : out)
    f /= double(values.size());
  return out;
}

double ks_statistic(const std::vector<double>& a,
                    const std::vector<double>& b) {
  if (a.empty() || b.empty()) return 0;
  size_t i = 0, j = 0;
  double d = 0;
  // Walk the distinct values of both samples in order; after passing every
  // copy of a value, i / n and j / m are the two ECDFs at it.
  while (i < a.size() || j < b.size()) {
    double v;
    if (j == b.size() || (i < a.size() && a[i] <= b[j]))
      v = a[i];
    else
      v = b[j];
    while (i < a.size() && a[i] <= v)
      ++i;
    while (j < b.size() && b[j] <= v)
      ++j;
    d = std::max(d, std::fabs(double(i) / double(a.size()) -
                              double(j) / double(b.size())));
  }
  return d;
}

double linf_distance(const std::vector<std::pair<std::string, uint64_t>>& a,
                     const std::vector<std::pair<std::string, uint64_t>>& b) {
  auto total = [](auto& xs) {
    double t = 0;
    for (auto& [value, count] : xs)
      t += double(count);
    return t;
  };
  auto ta = total(a), tb = total(b);
  std::map<std::string, std::pair<double, double>> shares;
  for (auto& [value, count] : a)
    shares[value].first = ta > 0 ? double(count) / ta : 0;
  for (auto& [value, count] : b)
    shares[value].second = tb > 0 ? double(count) / tb : 0;
  double d = 0;
  for (auto& [value, p] : shares)
    d = std::max(d, std::fabs(p.first - p.second));
  return d;
}

column_drift drift(const column_stats& base, const column_stats& next,
                   const drift_thresholds& t) {
  column_drift out;
  out.column = base.name;
  if (base.type == value_type::unknown) {
    out.note = "no values in the base";
    return out;
  }
  if (is_numeric(base.type)) {
    if (base.bins.empty() || base.points().empty()) {
      out.note = "no recorded distribution in the base";
      return out;
    }
    if (next.points().empty()) {
      out.note = "no numbers in the new data";
      return out;
    }
    out.method = drift_method::numeric;
    out.psi = psi(base.bins.fractions, bin_fractions(base.bins, next.points()),
                  t.epsilon);
    out.ks = ks_statistic(base.points(), next.points());
    auto n = effective_size(base), m = effective_size(next);
    out.psi_threshold = std::max(
        t.psi, psi_critical(base.bins.fractions.size(), n, m, t.significance));
    out.ks_threshold = std::max(t.ks, ks_critical(n, m, t.significance));
    out.drifted = *out.psi > *out.psi_threshold || *out.ks > *out.ks_threshold;
    if (next.texts > 0)
      out.note = std::to_string(next.texts) + " text values left out";
    return out;
  }
  if (base.high_cardinality || next.high_cardinality) {
    out.note = "high cardinality: not compared";
    return out;
  }
  if (base.domain.empty() || next.domain.empty()) {
    out.note = base.domain.empty() ? "no recorded values in the base"
                                   : "no values in the new data";
    return out;
  }
  out.method = drift_method::categorical;
  out.linf = linf_distance(base.domain, next.domain);
  out.linf_threshold =
      std::max(t.linf, linf_critical(double(base.count), double(next.count),
                                     t.significance));
  out.drifted = *out.linf > *out.linf_threshold;
  return out;
}

std::vector<column_drift> drift(const dataset_stats& base,
                                const dataset_stats& next,
                                const drift_thresholds& thresholds) {
  std::vector<column_drift> out;
  for (auto& b : base.columns) {
    if (auto* n = next.find(b.name)) {
      out.push_back(drift(b, *n, thresholds));
    } else {
      column_drift d;
      d.column = b.name;
      d.note = "not in the new data";
      out.push_back(std::move(d));
    }
  }
  for (auto& n : next.columns)
    if (!base.find(n.name)) {
      column_drift d;
      d.column = n.name;
      d.note = "not in the base";
      out.push_back(std::move(d));
    }
  return out;
}

} // namespace troupe::validation
