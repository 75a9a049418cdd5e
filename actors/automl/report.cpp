#include "actors/automl/report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "actors/automl/importance.hpp"
#include "actors/automl/report_svg.hpp"
#include "actors/automl/space_file.hpp"
#include "actors/automl/study.hpp"
#include "runtime/errors.hpp"

namespace troupe::automl {

namespace {

std::string value_text(const param_value& v) {
  if (auto* d = std::get_if<double>(&v)) return short_number(*d);
  if (auto* n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  return "?";
}

} // namespace

std::string config_text(const config& c) {
  std::string out;
  for (auto& [k, v] : c)
    out += (out.empty() ? "" : ", ") + k + "=" + value_text(v);
  return out;
}

namespace {

const char* state_color(trial_state s) {
  switch (s) {
  case trial_state::complete:
    return "#1f77b4";
  case trial_state::pruned:
    return "#bbbbbb";
  case trial_state::failed:
    return "#d62728";
  default:
    return "#ff7f0e";
  }
}

bool better(const study_spec& s, double a, double b) {
  return s.maximize ? a > b : a < b;
}

/// Optimisation history: each complete trial's value by its end time, and
/// the best so far.
std::string history_chart(const report_input& in) {
  std::vector<std::pair<double, double>> done, best_line;
  std::vector<std::string> tips;
  std::vector<double> xs, ys;
  std::vector<const report_trial*> order;
  for (auto& t : in.trials)
    if (t.rec.state == trial_state::complete && t.rec.value &&
        std::isfinite(t.end_s))
      order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](auto* a, auto* b) { return a->end_s < b->end_s; });
  double best = NAN;
  for (auto* t : order) {
    auto v = *t->rec.value;
    done.emplace_back(t->end_s, v);
    tips.push_back("trial " + std::to_string(t->rec.id) + ": " +
                   short_number(v) + " (" + config_text(t->rec.params) + ")");
    if (std::isnan(best) || better(in.spec, v, best)) {
      if (!std::isnan(best)) best_line.emplace_back(t->end_s, best);
      best = v;
    }
    best_line.emplace_back(t->end_s, best);
    xs.push_back(t->end_s);
    ys.push_back(v);
  }
  if (done.empty()) return "<p>No trial completed.</p>";
  svg_chart c{720, 300, svg_chart::range_of(xs, false, "seconds"),
              svg_chart::range_of(ys, false, in.spec.metric)};
  c.points(done, "#1f77b4", tips);
  c.line(best_line, "#d62728", 2, 1, "best so far");
  return c.str();
}

/// Every trial's reported values by step: complete trials in colour,
/// pruned ones grey.
std::string intermediate_chart(const report_input& in) {
  std::vector<double> xs, ys;
  for (auto& t : in.trials)
    for (auto& [s, v] : t.rec.intermediate) {
      xs.push_back(static_cast<double>(s));
      ys.push_back(v);
    }
  if (xs.empty()) return "<p>No trial reported.</p>";
  auto xa = svg_chart::range_of(xs, false, "step (boosting rounds)");
  svg_chart c{720, 300, xa, svg_chart::range_of(ys, false, in.spec.metric)};
  // pruned first, so the complete ones are drawn over them
  for (int pass = 0; pass < 2; ++pass)
    for (auto& t : in.trials) {
      bool complete = t.rec.state == trial_state::complete;
      if (complete != (pass == 1) || t.rec.intermediate.empty()) continue;
      std::vector<std::pair<double, double>> pts;
      for (auto& [s, v] : t.rec.intermediate)
        pts.emplace_back(static_cast<double>(s), v);
      c.line(pts, state_color(t.rec.state), complete ? 1.2 : 0.8,
             complete ? 0.8 : 0.5,
             "trial " + std::to_string(t.rec.id) + " (" +
                 to_string(t.rec.state) + ")");
    }
  return c.str();
}

/// Parallel coordinates: one vertical axis per parameter and one for the
/// value; each complete trial a line, the better the darker.
std::string parallel_chart(const report_input& in) {
  auto& ps = in.space.params();
  std::vector<const report_trial*> done;
  for (auto& t : in.trials)
    if (t.rec.state == trial_state::complete && t.rec.value &&
        std::isfinite(*t.rec.value))
      done.push_back(&t);
  if (done.empty() || ps.empty()) return "<p>No trial completed.</p>";
  size_t axes = ps.size() + 1;
  int width = std::max<int>(720, static_cast<int>(axes) * 90), height = 320;
  int left = 40, right = 40, top = 20, bottom = 50;
  auto ax = [&](size_t k) {
    return left + static_cast<double>(k) * (width - left - right) /
                      static_cast<double>(axes - 1);
  };
  // each axis' range
  std::vector<std::pair<double, double>> range(axes, {INFINITY, -INFINITY});
  auto value_of = [&](const report_trial& t, size_t k) {
    return k < ps.size() ? encoded_value(ps[k], t.rec.params) : *t.rec.value;
  };
  for (auto* t : done)
    for (size_t k = 0; k < axes; ++k)
      if (auto v = value_of(*t, k); std::isfinite(v)) {
        range[k].first = std::min(range[k].first, v);
        range[k].second = std::max(range[k].second, v);
      }
  double vlo = range.back().first, vhi = range.back().second;
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
      << "\" height=\"" << height << "\" class=\"chart\">\n";
  for (size_t k = 0; k < axes; ++k) {
    auto x = ax(k);
    auto name = k < ps.size() ? ps[k].name + (ps[k].log ? " (log10)" : "")
                              : in.spec.metric;
    out << "<line x1=\"" << x << "\" y1=\"" << top << "\" x2=\"" << x
        << "\" y2=\"" << height - bottom << "\" stroke=\"#444\"/>"
        << "<text x=\"" << x << "\" y=\"" << height - bottom + 16
        << "\" font-size=\"10\" text-anchor=\"middle\">" << html_escape(name)
        << "</text>\n";
  }
  for (auto* t : done) {
    auto v = *t->rec.value;
    auto quality = vhi > vlo ? (v - vlo) / (vhi - vlo) : 1.0;
    if (!in.spec.maximize) quality = 1 - quality;
    std::string pts;
    for (size_t k = 0; k < axes; ++k) {
      auto u = value_of(*t, k);
      if (!std::isfinite(u)) continue;
      auto [lo, hi] = range[k];
      auto f = hi > lo ? (u - lo) / (hi - lo) : 0.5;
      auto y = height - bottom - f * (height - top - bottom);
      pts += std::to_string(ax(k)) + "," + std::to_string(y) + " ";
    }
    out << "<polyline fill=\"none\" stroke=\"rgb(" << int(200 - 170 * quality)
        << "," << int(200 - 120 * quality) << ",220)\" stroke-opacity=\""
        << 0.3 + 0.6 * quality << "\" points=\"" << pts << "\"><title>trial "
        << t->rec.id << ": " << short_number(v) << "</title></polyline>\n";
  }
  out << "</svg>\n";
  return out.str();
}

std::string importance_section(const report_input& in) {
  std::vector<trial_record> recs;
  for (auto& t : in.trials)
    recs.push_back(t.rec);
  auto imp = param_importances(in.space, recs, in.spec.seed);
  if (!imp) return "<p>" + html_escape(describe(imp.error())) + ".</p>";
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\""
      << 24 * imp->size() + 10 << "\" class=\"chart\">\n";
  int y = 4;
  for (auto& [name, share] : *imp) {
    out << "<text x=\"150\" y=\"" << y + 14
        << "\" font-size=\"11\" text-anchor=\"end\">" << html_escape(name)
        << "</text><rect x=\"156\" y=\"" << y + 3 << "\" width=\""
        << std::max(1.0, share * 480) << "\" height=\"16\" fill=\"#2ca02c\">"
        << "<title>" << short_number(share) << "</title></rect><text x=\""
        << 162 + share * 480 << "\" y=\"" << y + 15 << "\" font-size=\"10\">"
        << short_number(100 * share) << "%</text>\n";
    y += 24;
  }
  out << "</svg>\n<p class=\"note\">Permutation importance on an XGBoost "
         "surrogate of the complete trials' (configuration &rarr; "
      << html_escape(in.spec.metric) << ").</p>\n";
  return out.str();
}

std::string leaderboard_section(const report_input& in) {
  std::vector<const report_trial*> rows;
  for (auto& t : in.trials)
    if (t.rec.state == trial_state::complete && t.rec.value &&
        std::isfinite(*t.rec.value))
      rows.push_back(&t);
  std::stable_sort(rows.begin(), rows.end(), [&](auto* a, auto* b) {
    return better(in.spec, *a->rec.value, *b->rec.value);
  });
  if (rows.size() > 20) rows.resize(20);
  std::ostringstream out;
  out << "<table><tr><th>#</th><th>trial</th><th>"
      << html_escape(in.spec.metric)
      << "</th><th>steps</th><th>configuration</th></tr>\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    auto* t = rows[i];
    auto steps = t->rec.intermediate.empty()
                     ? uint64_t{0}
                     : t->rec.intermediate.rbegin()->first;
    out << "<tr><td>" << i + 1 << "</td><td>" << t->rec.id << "</td><td>"
        << short_number(*t->rec.value) << "</td><td>" << steps << "</td><td>"
        << html_escape(config_text(t->rec.params)) << "</td></tr>\n";
  }
  out << "</table>\n";
  return out.str();
}

std::string ensemble_section(const report_input& in) {
  if (in.summary.is_null() || !in.summary.contains("ensemble") ||
      !in.summary["ensemble"].is_object())
    return "<p>No ensemble (the study kept its best trial).</p>";
  auto& e = in.summary["ensemble"];
  std::ostringstream out;
  out << "<p>Out-of-fold " << html_escape(in.spec.metric) << ": ensemble "
      << short_number(e.value("oof_score", NAN)) << ", best single trial "
      << short_number(e.value("best_single_oof_score", NAN)) << "; "
      << (e.value("used", false) ? "the saved model is the ensemble"
                                 : "the best trial alone was kept")
      << ".</p>\n";
  if (e.contains("stacking") && e["stacking"].is_object() &&
      e["stacking"].contains("error")) {
    out << "<p>Stacking was not fitted: "
        << html_escape(e["stacking"].value("error", "")) << ".</p>\n";
  } else if (e.contains("stacking") && e["stacking"].is_object()) {
    auto& st = e["stacking"];
    out << "<p>Stacking (a linear meta-model over "
        << st.value("members", nlohmann::json::array()).size()
        << " members, ridge penalty " << short_number(st.value("alpha", NAN))
        << "): cross-fitted out-of-fold " << html_escape(in.spec.metric) << " "
        << short_number(st.value("oof_score", NAN)) << "; "
        << (e.value("method", "") == "stacking"
                ? "kept, over Caruana's ensemble (" +
                      short_number(e.value("caruana_oof_score", NAN)) + ")"
                : std::string{"not kept"})
        << ".</p>\n";
  }
  out << "<table><tr><th>trial</th><th>weight</th><th>rounds</th>"
         "<th>CV score</th></tr>\n";
  for (auto& m : e["members"])
    out << "<tr><td>" << m.value("trial", uint64_t{0}) << "</td><td>"
        << short_number(m.value("weight", NAN)) << "</td><td>"
        << m.value("rounds", uint64_t{0}) << "</td><td>"
        << (m["cv_score"].is_number()
                ? short_number(m["cv_score"].get<double>())
                : std::string{"n/a"})
        << "</td></tr>\n";
  out << "</table>\n";
  return out.str();
}

std::string warm_start_section(const report_input& in) {
  if (in.summary.is_null() || !in.summary.contains("warm_start") ||
      !in.summary["warm_start"].is_object())
    return "<p>No warm start.</p>";
  auto& w = in.summary["warm_start"];
  std::ostringstream out;
  out << "<p>" << w.value("taken", uint64_t{0})
      << " configuration(s) seeded from past studies";
  std::vector<std::string> from;
  for (auto& s : w["seeds"])
    if (auto f = s.value("from", std::string{});
        std::find(from.begin(), from.end(), f) == from.end())
      from.push_back(f);
  for (size_t i = 0; i < from.size(); ++i)
    out << (i ? ", " : ": ") << html_escape(from[i]);
  out << ".</p>\n";
  return out.str();
}

} // namespace

caf::expected<report_input> read_report_input(const std::string& runs_dir,
                                              const std::string& study) {
  namespace fs = std::filesystem;
  auto journal_dir = (fs::path{runs_dir} / "journal").string();
  std::error_code ec;
  if (!fs::exists(fs::path{journal_dir} / "data.mdb", ec))
    return make_error(errc::not_found,
                      "no study journal in '" + journal_dir + "'");
  auto j = study_journal::open(journal_dir, false);
  if (!j) return j.error();
  auto env = (*j)->spec(study);
  if (!env) {
    auto ids = (*j)->studies();
    std::string known;
    if (ids)
      for (auto& id : *ids)
        known += (known.empty() ? "" : ", ") + id;
    return make_error(errc::not_found,
                      "no study '" + study + "' in '" + journal_dir +
                          "' (studies: " + (known.empty() ? "none" : known) +
                          ")");
  }
  auto spec = spec_from(*env);
  if (!spec) return spec.error();
  report_input in;
  in.spec = *spec;
  auto space = load_space(spec->family);
  if (!space) return space.error();
  if (!spec->space.empty()) {
    space = apply_space_text(*space, spec->space, spec->space_format,
                             "the study's space");
    if (!space) return space.error();
  }
  in.space = std::move(*space);
  auto events = (*j)->events(study);
  if (!events) return events.error();
  std::map<trial_id, trial_record> recs;
  std::map<trial_id, double> ends;
  for (auto& ev : *events) {
    apply_event(recs, ev);
    if (ev.kind == event_kind::completed || ev.kind == event_kind::pruned ||
        ev.kind == event_kind::failed)
      ends[ev.trial] =
          static_cast<double>(ev.at_ms - spec->created_ms) / 1000.0;
  }
  for (auto& [id, rec] : recs) {
    report_trial t;
    t.rec = rec;
    if (auto e = ends.find(id); e != ends.end()) t.end_s = e->second;
    in.trials.push_back(std::move(t));
  }
  auto out_dir = spec->out_dir.empty() ? (fs::path{runs_dir} / study).string()
                                       : spec->out_dir;
  std::ifstream summary{out_dir + "/summary.json"};
  if (summary) {
    auto s = nlohmann::json::parse(summary, nullptr, false);
    if (!s.is_discarded()) in.summary = std::move(s);
  }
  return in;
}

std::string render_report(const report_input& in) {
  auto& s = in.spec;
  size_t complete = 0, pruned = 0, failed = 0;
  for (auto& t : in.trials) {
    complete += t.rec.state == trial_state::complete;
    pruned += t.rec.state == trial_state::pruned;
    failed += t.rec.state == trial_state::failed;
  }
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      << "<title>troupe study " << html_escape(s.id) << "</title>\n<style>"
      << "body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}"
      << "h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:"
         "1px solid #ddd}table{border-collapse:collapse;font-size:12px}"
      << "td,th{border:1px solid #ddd;padding:3px 6px;text-align:left}"
      << ".chart{background:#fff;border:1px solid #eee}.note{color:#666;"
         "font-size:12px}dl{display:grid;grid-template-columns:160px auto;"
         "font-size:13px}dt{color:#666}"
      << "</style></head><body>\n";
  out << "<h1>Study " << html_escape(s.id) << "</h1>\n<dl>"
      << "<dt>data</dt><dd>" << html_escape(s.data_path) << "</dd>"
      << "<dt>target</dt><dd>" << html_escape(s.target) << " ("
      << html_escape(s.task) << ")</dd>"
      << "<dt>metric</dt><dd>" << html_escape(s.metric) << ", "
      << (s.maximize ? "higher" : "lower") << " is better</dd>";
  if (!s.objectives.empty()) {
    out << "<dt>objectives</dt><dd>" << html_escape(s.metric);
    for (auto& o : s.objectives)
      out << ", " << html_escape(o) << " (lower is better)";
    out << "</dd>";
  }
  out << "<dt>search</dt><dd>" << html_escape(s.family) << ", "
      << html_escape(s.sampler) << " + " << html_escape(s.scheduler) << ", "
      << s.folds << "-fold CV</dd>"
      << "<dt>trials</dt><dd>" << in.trials.size() << " (" << complete
      << " complete, " << pruned << " pruned, " << failed << " failed)</dd>";
  if (!in.summary.is_null()) {
    auto& best = in.summary["best"];
    if (best.is_object())
      out << "<dt>best</dt><dd>trial " << best.value("trial", uint64_t{0})
          << ", CV " << short_number(best.value("cv_score", NAN)) << "</dd>";
    if (in.summary["test_score"].is_number())
      out << "<dt>test score</dt><dd>"
          << short_number(in.summary["test_score"].get<double>()) << "</dd>";
  }
  out << "</dl>\n";
  out << "<h2>Optimisation history</h2>\n" << history_chart(in);
  out << "<h2>Parameter importances</h2>\n" << importance_section(in);
  out << "<h2>Parallel coordinates</h2>\n" << parallel_chart(in);
  out << "<h2>Intermediate values</h2>\n" << intermediate_chart(in);
  out << "<h2>Leaderboard</h2>\n" << leaderboard_section(in);
  out << "<h2>Ensemble</h2>\n" << ensemble_section(in);
  out << "<h2>Warm start</h2>\n" << warm_start_section(in);
  if (s.objectives.empty())
    out << "<h2>Pareto front</h2>\n<p>A single-objective study (metric "
        << html_escape(s.metric) << ") has no front.</p>\n";
  else
    out << "<h2>Pareto front</h2>\n" << pareto_section(in);
  out << "</body></html>\n";
  return out.str();
}

} // namespace troupe::automl
