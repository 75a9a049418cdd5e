#include "actors/automl/report_svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace troupe::automl {

namespace {

constexpr int left = 64, right = 16, top = 12, bottom = 44;

double scaled(double v, const chart_axis& a) {
  if (a.log) {
    auto lo = std::log10(a.lo), hi = std::log10(a.hi);
    return (std::log10(std::max(v, a.lo)) - lo) / (hi - lo);
  }
  return (v - a.lo) / (a.hi - a.lo);
}

/// About five round tick values in [lo, hi].
std::vector<double> ticks(const chart_axis& a) {
  std::vector<double> out;
  if (a.log) {
    for (double p = std::floor(std::log10(a.lo)); p <= std::log10(a.hi); ++p)
      if (auto v = std::pow(10.0, p); v >= a.lo && v <= a.hi) out.push_back(v);
    if (out.size() >= 2) return out;
    out.clear();
  }
  auto span = a.hi - a.lo;
  auto step = std::pow(10.0, std::floor(std::log10(span / 5)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (span / (step * m) <= 6) {
      step *= m;
      break;
    }
  for (double v = std::ceil(a.lo / step) * step; v <= a.hi + step * 1e-9;
       v += step)
    out.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

} // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

std::string short_number(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.5g", v);
  return buf;
}

svg_chart::svg_chart(int width, int height, chart_axis x, chart_axis y)
    : width_(width), height_(height), x_(std::move(x)), y_(std::move(y)) {}

chart_axis svg_chart::range_of(const std::vector<double>& xs, bool log,
                               std::string label) {
  chart_axis a;
  a.log = log;
  a.label = std::move(label);
  double lo = INFINITY, hi = -INFINITY;
  for (auto v : xs)
    if (std::isfinite(v) && (!log || v > 0)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (!std::isfinite(lo)) {
    lo = log ? 1 : 0;
    hi = log ? 10 : 1;
  }
  if (log) {
    if (hi <= lo) hi = lo * 10;
    a.lo = lo / 1.2;
    a.hi = hi * 1.2;
  } else {
    auto pad = hi > lo ? (hi - lo) * 0.05 : std::max(std::fabs(lo) * 0.1, 1.0);
    a.lo = lo - pad;
    a.hi = hi + pad;
  }
  return a;
}

double svg_chart::sx(double x) const {
  return left + scaled(x, x_) * (width_ - left - right);
}

double svg_chart::sy(double y) const {
  return height_ - bottom - scaled(y, y_) * (height_ - top - bottom);
}

void svg_chart::points(const std::vector<std::pair<double, double>>& xy,
                       const std::string& color,
                       const std::vector<std::string>& tips, double radius) {
  char buf[160];
  for (size_t i = 0; i < xy.size(); ++i) {
    auto [x, y] = xy[i];
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    std::snprintf(buf, sizeof(buf),
                  "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" "
                  "fill-opacity=\"0.75\">",
                  sx(x), sy(y), radius, color.c_str());
    body_ += buf;
    if (i < tips.size()) body_ += "<title>" + html_escape(tips[i]) + "</title>";
    body_ += "</circle>\n";
  }
}

void svg_chart::line(const std::vector<std::pair<double, double>>& xy,
                     const std::string& color, double width, double opacity,
                     const std::string& tip) {
  std::string pts;
  char buf[48];
  for (auto [x, y] : xy) {
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    std::snprintf(buf, sizeof(buf), "%.1f,%.1f ", sx(x), sy(y));
    pts += buf;
  }
  if (pts.empty()) return;
  std::snprintf(buf, sizeof(buf), "%.2f", width);
  std::string w = buf;
  std::snprintf(buf, sizeof(buf), "%.2f", opacity);
  body_ += "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"" +
           w + "\" stroke-opacity=\"" + buf + "\" points=\"" + pts + "\">";
  if (!tip.empty()) body_ += "<title>" + html_escape(tip) + "</title>";
  body_ += "</polyline>\n";
}

std::string svg_chart::str() const {
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                "height=\"%d\" viewBox=\"0 0 %d %d\" class=\"chart\">\n",
                width_, height_, width_, height_);
  out += buf;
  // axes
  std::snprintf(buf, sizeof(buf),
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                "stroke=\"#444\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
                "y2=\"%d\" stroke=\"#444\"/>\n",
                left, height_ - bottom, width_ - right, height_ - bottom, left,
                top, left, height_ - bottom);
  out += buf;
  for (auto t : ticks(x_)) {
    std::snprintf(buf, sizeof(buf),
                  "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" "
                  "text-anchor=\"middle\">%s</text>\n",
                  sx(t), height_ - bottom + 14, short_number(t).c_str());
    out += buf;
  }
  for (auto t : ticks(y_)) {
    std::snprintf(buf, sizeof(buf),
                  "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                  "stroke=\"#eee\"/><text x=\"%d\" y=\"%.1f\" "
                  "font-size=\"10\" text-anchor=\"end\">%s</text>\n",
                  left, sy(t), width_ - right, sy(t), left - 4, sy(t) + 3,
                  short_number(t).c_str());
    out += buf;
  }
  std::snprintf(buf, sizeof(buf),
                "<text x=\"%d\" y=\"%d\" font-size=\"11\" "
                "text-anchor=\"middle\">",
                (left + width_ - right) / 2, height_ - 8);
  out += buf + html_escape(x_.label) + "</text>\n";
  std::snprintf(buf, sizeof(buf),
                "<text x=\"12\" y=\"%d\" font-size=\"11\" "
                "text-anchor=\"middle\" transform=\"rotate(-90 12 %d)\">",
                (top + height_ - bottom) / 2, (top + height_ - bottom) / 2);
  out += buf + html_escape(y_.label) + "</text>\n";
  out += body_;
  out += "</svg>\n";
  return out;
}

} // namespace troupe::automl
