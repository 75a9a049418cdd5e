#include "actors/tabular/schema.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::tabular {

bool column_schema::in_domain(std::string_view value) const {
  if (!domain) return true;
  return std::binary_search(
      domain->begin(), domain->end(), value,
      [](std::string_view a, std::string_view b) { return a < b; });
}

const column_schema* schema::find(std::string_view name) const {
  for (auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

column_schema* schema::find(std::string_view name) {
  for (auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

dataset_stats schema::baseline() const {
  dataset_stats out;
  for (auto& c : columns) {
    if (!c.baseline) continue;
    out.rows = std::max(out.rows, c.baseline->rows());
    out.columns.push_back(*c.baseline);
  }
  return out;
}

double allowed_missing_ratio(double observed, const infer_options& options) {
  auto allowed = std::max(observed * options.missing_factor,
                          observed + options.missing_slack);
  return std::min(1.0, allowed);
}

column_schema infer_column(const column_stats& stats,
                           const infer_options& options) {
  column_schema c;
  c.name = stats.name;
  c.type = stats.type;
  c.required = true;
  c.max_missing_ratio =
      stats.type == value_type::unknown
          ? 1.0
          : allowed_missing_ratio(stats.missing_ratio(), options);
  c.max_out_of_range_ratio = options.max_out_of_range_ratio;
  if (options.ranges && is_numeric(stats.type) && stats.numeric() > 0) {
    auto margin = (stats.max - stats.min) * options.range_margin;
    auto lo = stats.min - margin;
    auto hi = stats.max + margin;
    if (stats.min >= 0) lo = std::max(0.0, lo);
    if (stats.type == value_type::integer) {
      lo = std::floor(lo);
      hi = std::ceil(hi);
    }
    c.range = value_range{lo, hi};
  }
  if (stats.type == value_type::string && !stats.high_cardinality) {
    std::vector<std::string> values;
    values.reserve(stats.domain.size());
    for (auto& [value, count] : stats.domain)
      values.push_back(value);
    std::sort(values.begin(), values.end());
    c.domain = std::move(values);
    // Good-Turing: the chance that the next value is new is about n1 / n.
    auto unseen = stats.count == 0
                      ? 0.0
                      : double(stats.singletons()) / double(stats.count);
    c.max_out_of_domain_ratio =
        std::min(1.0, std::max(options.min_out_of_domain_ratio, 2 * unseen));
  }
  c.baseline = stats;
  c.baseline->sample.clear();
  c.baseline->sample.shrink_to_fit();
  // Numeric columns are compared by quantiles, not by value counts.
  if (is_numeric(stats.type)) c.baseline->domain.clear();
  return c;
}

schema infer_schema(const dataset_stats& stats, const infer_options& options) {
  schema s;
  s.columns.reserve(stats.columns.size());
  for (auto& c : stats.columns)
    s.columns.push_back(infer_column(c, options));
  return s;
}

} // namespace troupe::tabular
