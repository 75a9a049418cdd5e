#include "actors/validation/evolve.hpp"

#include <algorithm>
#include <cstdio>

#include "actors/tabular/text.hpp"
#include "runtime/errors.hpp"

namespace troupe::validation {

using tabular::allowed_missing_ratio;
using tabular::anomaly;
using tabular::anomaly_kind;
using tabular::check_result;
using tabular::dataset_stats;
using tabular::infer_column;
using tabular::infer_options;
using tabular::num;
using tabular::profile_options;
using tabular::schema;
using tabular::value_range;
using tabular::value_type;

namespace {

std::string range_text(const std::optional<value_range>& r) {
  return r ? "[" + num(r->min) + ", " + num(r->max) + "]" : "none";
}

/// Applies one anomaly; returns what changed.
std::string apply(schema& s, const anomaly& a, const dataset_stats& data,
                  const infer_options& options) {
  auto* dc = data.find(a.column);
  if (a.kind == anomaly_kind::extra_column) {
    if (!dc || s.find(a.column)) return "nothing to add";
    auto c = infer_column(*dc, options);
    auto text =
        std::string{"added as "} + to_string(c.type) +
        (c.range ? ", range " + range_text(c.range) : "") +
        (c.domain ? ", " + std::to_string(c.domain->size()) + " domain values"
                  : "");
    s.columns.push_back(std::move(c));
    return text;
  }
  auto* sc = s.find(a.column);
  if (!sc) return "not in the schema any more";
  switch (a.kind) {
  case anomaly_kind::missing_column:
    sc->required = false;
    return "now optional";
  case anomaly_kind::type_mismatch: {
    auto before = sc->type;
    if (sc->type == value_type::integer && dc && dc->texts == 0) {
      sc->type = value_type::floating;
    } else {
      sc->type = value_type::string;
      sc->range.reset();
      sc->domain.reset();
    }
    return std::string{"type "} + to_string(before) + " -> " +
           to_string(sc->type);
  }
  case anomaly_kind::out_of_range: {
    if (!sc->range)
      return std::string{"no range to widen (the column is "} +
             to_string(sc->type) + " now)";
    if (!dc || dc->numeric() == 0) return "no numbers to widen it to";
    auto before = range_text(sc->range);
    sc->range->min = std::min(sc->range->min, dc->min);
    sc->range->max = std::max(sc->range->max, dc->max);
    return "range " + before + " -> " + range_text(sc->range);
  }
  case anomaly_kind::out_of_domain: {
    if (!sc->domain) return "no domain to extend";
    auto& dom = *sc->domain;
    if (a.more_values ||
        dom.size() + a.values.size() > profile_options{}.max_domain) {
      sc->domain.reset();
      return "domain dropped (too many distinct values)";
    }
    dom.insert(dom.end(), a.values.begin(), a.values.end());
    std::sort(dom.begin(), dom.end());
    dom.erase(std::unique(dom.begin(), dom.end()), dom.end());
    std::string added;
    for (size_t i = 0; i < a.values.size() && i < 5; ++i)
      added += (i ? ", '" : "'") + a.values[i] + "'";
    if (a.values.size() > 5) added += ", ...";
    return "domain += " + added + " (" + std::to_string(dom.size()) +
           " values)";
  }
  case anomaly_kind::missing_ratio_jump: {
    if (!dc) return "no data";
    auto before = sc->max_missing_ratio;
    sc->max_missing_ratio =
        std::max(before, allowed_missing_ratio(dc->missing_ratio(), options));
    return "max missing ratio " + num(before) + " -> " +
           num(sc->max_missing_ratio);
  }
  case anomaly_kind::extra_column:
    break;
  }
  return "unchanged";
}

} // namespace

caf::expected<std::vector<schema_change>>
accept(schema& s, const check_result& result,
       const std::vector<std::string>& ids, const infer_options& options) {
  auto all = std::find(ids.begin(), ids.end(), "all") != ids.end();
  if (!all) {
    for (auto& id : ids) {
      if (result.find(id)) continue;
      std::string known;
      for (auto& a : result.anomalies)
        known += (known.empty() ? "" : ", ") + a.id();
      return make_error(errc::invalid_argument,
                        "no anomaly '" + id + "' to accept (found: " +
                            (known.empty() ? "none" : known) + ")");
    }
  }
  std::vector<schema_change> out;
  for (auto& a : result.anomalies) {
    if (!all && std::find(ids.begin(), ids.end(), a.id()) == ids.end())
      continue;
    out.push_back({a.id(), apply(s, a, result.stats, options)});
  }
  return out;
}

} // namespace troupe::validation
