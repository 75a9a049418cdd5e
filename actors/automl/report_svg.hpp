#pragma once

// The charts of a study report as inline SVG (no script, no external file:
// the report reads offline and renders anywhere): an x-y chart with linear
// or log axes, ticks and labels, points with tooltips (<title>) and lines.
// Plain C++.

#include <string>
#include <utility>
#include <vector>

namespace troupe::automl {

/// An axis' range and scale.
struct chart_axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::string label;
};

/// One x-y chart.
class svg_chart {
public:
  svg_chart(int width, int height, chart_axis x, chart_axis y);

  /// Points (circles) of one series; `tips` (may be empty) one per point.
  void points(const std::vector<std::pair<double, double>>& xy,
              const std::string& color,
              const std::vector<std::string>& tips = {}, double radius = 3);

  /// A line through `xy` (in order).
  void line(const std::vector<std::pair<double, double>>& xy,
            const std::string& color, double width = 1.5, double opacity = 1.0,
            const std::string& tip = {});

  /// The <svg> element.
  std::string str() const;

  /// The range of `xs` widened a little (and made non-empty).
  static chart_axis range_of(const std::vector<double>& xs, bool log,
                             std::string label);

private:
  double sx(double x) const;
  double sy(double y) const;

  int width_, height_;
  chart_axis x_, y_;
  std::string body_;
};

/// Text made safe for HTML and SVG.
std::string html_escape(const std::string& s);

/// A number in short form ("0.8734", "1.2e-05").
std::string short_number(double v);

} // namespace troupe::automl
