#include "actors/tabular/check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "actors/tabular/noise.hpp"
#include "actors/tabular/text.hpp"

namespace troupe::tabular {

namespace {

using detail::column_evidence;

std::string quoted_list(const std::vector<std::string>& xs, bool more) {
  std::string out;
  for (size_t i = 0; i < xs.size() && i < 5; ++i)
    out += (i ? ", '" : "'") + xs[i] + "'";
  if (xs.size() > 5 || more) out += ", ...";
  return out;
}

/// "1 value", "3 values".
std::string values(uint64_t n) {
  return std::to_string(n) + (n == 1 ? " value" : " values");
}

double share(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : double(part) / double(whole);
}

/// The anomalies of one checked data set: `data` are its statistics, `ev`
/// the evidence per data column (same order as data.columns).
std::vector<anomaly> evaluate(const schema& s, const dataset_stats& data,
                              const std::vector<column_evidence>& ev,
                              double alpha) {
  std::vector<anomaly> out;
  auto add = [&](const std::string& column, anomaly_kind kind, severity level,
                 uint64_t count) -> anomaly& {
    anomaly a;
    a.column = column;
    a.kind = kind;
    a.level = level;
    a.count = count;
    out.push_back(std::move(a));
    return out.back();
  };
  for (auto& sc : s.columns) {
    if (!sc.required || data.find(sc.name)) continue;
    auto& a = add(sc.name, anomaly_kind::missing_column, severity::blocking,
                  data.rows);
    a.ratio = 1;
    a.description = "required column '" + sc.name + "' is not in the data";
  }
  for (size_t i = 0; i < data.columns.size(); ++i) {
    auto& dc = data.columns[i];
    auto& e = ev[i];
    if (!e.schema) {
      auto& a =
          add(dc.name, anomaly_kind::extra_column, severity::warning, dc.count);
      a.ratio = dc.missing_ratio();
      a.examples = e.present_ex;
      a.description = "column '" + dc.name + "' is not in the schema (" +
                      to_string(dc.type) + ", " + values(dc.count) + ")";
      continue;
    }
    auto& sc = *e.schema;
    if (e.type_bad > 0) {
      auto& a = add(dc.name, anomaly_kind::type_mismatch, severity::blocking,
                    e.type_bad);
      a.ratio = share(e.type_bad, dc.count);
      a.examples = e.type_ex;
      a.description =
          values(e.type_bad) + " (" + percent(a.ratio) + ") are not " +
          (sc.type == value_type::integer ? "integers" : "numbers") +
          " (schema type " + to_string(sc.type) + ")";
    }
    if (sc.range && e.range_bad > 0) {
      // Values of the wrong type were not range-checked.
      auto checked = dc.count - std::min(dc.count, e.type_bad);
      auto r = share(e.range_bad, checked);
      auto chance = chance_beyond_extremes(
          sc.baseline ? sc.baseline->numeric() : 0, checked, alpha);
      auto blocks = r > sc.max_out_of_range_ratio && e.range_bad > chance;
      auto& a =
          add(dc.name, anomaly_kind::out_of_range,
              blocks ? severity::blocking : severity::warning, e.range_bad);
      a.ratio = r;
      a.allowed = sc.max_out_of_range_ratio;
      a.examples = e.range_ex;
      a.description = values(e.range_bad) + " (" + percent(r) + ", allowed " +
                      percent(a.allowed) + ") outside [" + num(sc.range->min) +
                      ", " + num(sc.range->max) + "]; the data spans [" +
                      num(dc.min) + ", " + num(dc.max) + "]" +
                      (r > sc.max_out_of_range_ratio && !blocks
                           ? "; within chance (up to " + values(chance) + ")"
                           : "");
    }
    if (sc.domain && sc.type == value_type::string &&
        (e.domain_bad > 0 || e.domain_unknown)) {
      auto r = share(e.domain_bad, dc.count);
      auto blocks = e.domain_unknown || r > sc.max_out_of_domain_ratio;
      auto& a =
          add(dc.name, anomaly_kind::out_of_domain,
              blocks ? severity::blocking : severity::warning, e.domain_bad);
      a.ratio = r;
      a.allowed = sc.max_out_of_domain_ratio;
      a.examples = e.domain_ex;
      for (auto& [value, n] : e.unseen)
        a.values.push_back(value);
      a.more_values = e.more_unseen;
      if (e.domain_unknown)
        a.description = "the data has too many distinct values to compare "
                        "with a domain of " +
                        std::to_string(sc.domain->size());
      else
        a.description = values(e.domain_bad) + " (" + percent(r) +
                        ", allowed " + percent(a.allowed) +
                        ") outside the domain of " +
                        std::to_string(sc.domain->size()) + ": " +
                        quoted_list(a.values, a.more_values);
    }
    auto missing = dc.missing_ratio();
    if (dc.rows() > 0 && missing > sc.max_missing_ratio) {
      auto& a = add(dc.name, anomaly_kind::missing_ratio_jump,
                    severity::blocking, dc.missing);
      a.ratio = missing;
      a.allowed = sc.max_missing_ratio;
      a.examples = e.missing_ex;
      a.description = std::to_string(dc.missing) + " of " +
                      std::to_string(dc.rows()) + " cells missing (" +
                      percent(missing) + ", allowed " + percent(a.allowed) +
                      ")";
    }
  }
  return out;
}

std::vector<column_evidence> bind(const schema& s, const dataset_stats& data) {
  std::vector<column_evidence> ev(data.columns.size());
  for (size_t i = 0; i < data.columns.size(); ++i)
    ev[i].schema = s.find(data.columns[i].name);
  return ev;
}

} // namespace

const char* to_string(anomaly_kind k) {
  switch (k) {
  case anomaly_kind::missing_column:
    return "missing_column";
  case anomaly_kind::extra_column:
    return "extra_column";
  case anomaly_kind::type_mismatch:
    return "type_mismatch";
  case anomaly_kind::out_of_range:
    return "out_of_range";
  case anomaly_kind::out_of_domain:
    return "out_of_domain";
  case anomaly_kind::missing_ratio_jump:
    return "missing_ratio_jump";
  }
  return "unknown";
}

const char* to_string(severity s) {
  return s == severity::blocking ? "blocking" : "warning";
}

std::string anomaly::id() const {
  return column + ":" + to_string(kind);
}

size_t check_result::blocking() const {
  return std::count_if(anomalies.begin(), anomalies.end(),
                       [](const anomaly& a) { return a.blocking(); });
}

const anomaly* check_result::find(std::string_view id) const {
  for (auto& a : anomalies)
    if (a.id() == id) return &a;
  return nullptr;
}

// -- the streaming checker ----------------------------------------------------

checker::checker(const schema& s, std::vector<std::string> columns,
                 const check_options& options)
    : row_sink(columns.size()), schema_(s), columns_(columns),
      options_(options), profile_(std::move(columns), options.profile),
      evidence_(columns_.size()) {
  for (size_t i = 0; i < columns_.size(); ++i)
    evidence_[i].schema = s.find(columns_[i]);
}

void checker::note(std::vector<example>& xs, const cell& c) {
  if (xs.size() < options_.max_examples) xs.push_back({c.to_text(), line()});
}

void checker::on_cell(size_t col, const cell& c) {
  profile_.add_cell(col, c);
  auto& e = evidence_[col];
  if (c.what == cell::kind::missing) {
    note(e.missing_ex, c);
    return;
  }
  if (!e.schema) {
    note(e.present_ex, c);
    return;
  }
  auto& sc = *e.schema;
  auto type_ok = true;
  if (sc.type == value_type::integer)
    type_ok = c.what == cell::kind::integer;
  else if (sc.type == value_type::floating)
    type_ok = c.what != cell::kind::text;
  if (!type_ok) {
    ++e.type_bad;
    note(e.type_ex, c);
    return;
  }
  if (sc.range && c.what != cell::kind::text &&
      (c.number < sc.range->min || c.number > sc.range->max)) {
    ++e.range_bad;
    note(e.range_ex, c);
  }
  if (sc.domain && sc.type == value_type::string) {
    auto value = c.text.empty() ? c.to_text() : std::string{};
    std::string_view v = c.text.empty() ? std::string_view{value} : c.text;
    if (!sc.in_domain(v)) {
      ++e.domain_bad;
      note(e.domain_ex, c);
      auto it = e.unseen.find(v);
      if (it != e.unseen.end())
        ++it->second;
      else if (e.unseen.size() < options_.profile.max_domain)
        e.unseen.emplace(std::string{v}, 1);
      else
        e.more_unseen = true;
    }
  }
}

check_result checker::finish() const {
  check_result r;
  r.stats = profile_.finish();
  r.stats.rows = rows();
  r.anomalies = evaluate(schema_, r.stats, evidence_, options_.significance);
  return r;
}

caf::expected<check_result> check(const schema& s,
                                  const std::vector<std::string>& columns,
                                  const row_source& source,
                                  const check_options& options) {
  if (auto err = check_column_names(columns)) return err;
  checker c{s, columns, options};
  while (source(c)) {
    // each call fed one row
  }
  return c.finish();
}

check_result check(const schema& s, const dataset_stats& stats,
                   double significance) {
  auto ev = bind(s, stats);
  for (size_t i = 0; i < stats.columns.size(); ++i) {
    auto& dc = stats.columns[i];
    auto& e = ev[i];
    if (!e.schema) continue;
    auto& sc = *e.schema;
    if (sc.type == value_type::integer)
      e.type_bad = dc.floats + dc.texts;
    else if (sc.type == value_type::floating)
      e.type_bad = dc.texts;
    auto& pts = dc.points();
    if (sc.range && dc.numeric() > 0 && !pts.empty() &&
        (dc.min < sc.range->min || dc.max > sc.range->max)) {
      auto outside = std::count_if(pts.begin(), pts.end(), [&](double v) {
        return v < sc.range->min || v > sc.range->max;
      });
      auto estimate = std::llround(double(outside) / double(pts.size()) *
                                   double(dc.numeric()));
      e.range_bad = std::max<uint64_t>(1, uint64_t(estimate));
    }
    if (sc.domain && sc.type == value_type::string) {
      e.domain_unknown = dc.high_cardinality;
      for (auto& [value, n] : dc.domain)
        if (!sc.in_domain(value)) {
          e.domain_bad += n;
          e.unseen.emplace(value, n);
        }
    }
  }
  check_result r;
  r.stats = stats;
  r.anomalies = evaluate(s, stats, ev, significance);
  return r;
}

} // namespace troupe::tabular
