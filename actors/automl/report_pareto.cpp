// The report's Pareto-front section (see report.hpp).

#include <algorithm>
#include <cmath>
#include <sstream>

#include "actors/automl/pareto.hpp"
#include "actors/automl/report.hpp"
#include "actors/automl/report_svg.hpp"

namespace troupe::automl {

/// A multi-objective study's front: a scatter of the first two objectives
/// (every complete trial, the front in red and joined by a line) and the
/// front's table.
std::string pareto_section(const report_input& in) {
  auto& s = in.spec;
  std::vector<const report_trial*> done;
  std::vector<objective_vector> losses;
  for (auto& t : in.trials) {
    if (t.rec.state != trial_state::complete || !t.rec.value ||
        !std::isfinite(*t.rec.value) ||
        t.rec.secondary_value.size() != s.objectives.size())
      continue;
    objective_vector l{s.maximize ? -*t.rec.value : *t.rec.value};
    bool finite = true;
    for (auto v : t.rec.secondary_value) {
      finite = finite && std::isfinite(v);
      l.push_back(v);
    }
    if (!finite) continue;
    done.push_back(&t);
    losses.push_back(std::move(l));
  }
  if (done.empty())
    return "<p>No trial completed with every objective measured.</p>";
  auto front_idx = pareto_front(losses);
  std::vector<bool> on(done.size(), false);
  for (auto i : front_idx)
    on[i] = true;
  std::sort(front_idx.begin(), front_idx.end(),
            [&](size_t a, size_t b) { return losses[a] < losses[b]; });
  std::vector<double> xs, ys;
  for (auto* t : done) {
    xs.push_back(*t->rec.value);
    ys.push_back(t->rec.secondary_value[0]);
  }
  svg_chart c{720, 300, svg_chart::range_of(xs, false, s.metric),
              svg_chart::range_of(ys, false, s.objectives[0])};
  auto tip = [&](size_t i) {
    auto* t = done[i];
    std::string text = "trial " + std::to_string(t->rec.id) + ": " + s.metric +
                       " " + short_number(*t->rec.value);
    for (size_t k = 0; k < s.objectives.size(); ++k)
      text += ", " + s.objectives[k] + " " +
              short_number(t->rec.secondary_value[k]);
    return text + (on[i] ? " (on the front)" : "");
  };
  std::vector<std::pair<double, double>> rest, front, line;
  std::vector<std::string> rest_tips, front_tips;
  for (size_t i = 0; i < done.size(); ++i) {
    (on[i] ? front : rest).emplace_back(xs[i], ys[i]);
    (on[i] ? front_tips : rest_tips).push_back(tip(i));
  }
  for (auto i : front_idx)
    line.emplace_back(xs[i], ys[i]);
  std::sort(line.begin(), line.end());
  c.points(rest, "#bbbbbb", rest_tips);
  // with two objectives the front is a staircase in the chart; with more,
  // the chart is a projection and a line through it means nothing
  if (s.objectives.size() == 1)
    c.line(line, "#d62728", 1.2, 0.7, "the Pareto front");
  c.points(front, "#d62728", front_tips, 4);
  std::ostringstream out;
  out << "<p>" << front_idx.size() << " of " << done.size()
      << " complete trials are on the front (no other is as good in every "
         "objective and better in one): "
      << html_escape(s.metric) << " " << (s.maximize ? "higher" : "lower")
      << " is better";
  for (auto& o : s.objectives)
    out << ", " << html_escape(o) << " lower";
  out << ". The chart plots " << html_escape(s.metric) << " against "
      << html_escape(s.objectives[0]) << "; the front is red"
      << (s.objectives.size() > 1 ? " (non-dominated in all objectives, "
                                    "not only in the two shown)"
                                  : "")
      << ".</p>\n"
      << c.str();
  if (!in.summary.is_null() && in.summary["best"].is_object())
    out << "<p class=\"note\">The saved model is trial "
        << in.summary["best"].value("trial", uint64_t{0})
        << ", the front's best " << html_escape(s.metric)
        << " (no ensemble).</p>\n";
  out << "<table><tr><th>trial</th><th>" << html_escape(s.metric) << "</th>";
  for (auto& o : s.objectives)
    out << "<th>" << html_escape(o) << "</th>";
  out << "<th>steps</th><th>configuration</th></tr>\n";
  for (auto i : front_idx) {
    auto* t = done[i];
    auto steps = t->rec.intermediate.empty()
                     ? uint64_t{0}
                     : t->rec.intermediate.rbegin()->first;
    out << "<tr class=\"front\"><td>" << t->rec.id << "</td><td>"
        << short_number(*t->rec.value) << "</td>";
    for (auto v : t->rec.secondary_value)
      out << "<td>" << short_number(v) << "</td>";
    out << "<td>" << steps << "</td><td>"
        << html_escape(config_text(t->rec.params)) << "</td></tr>\n";
  }
  out << "</table>\n";
  return out.str();
}

} // namespace troupe::automl
