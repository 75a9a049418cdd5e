#include "actors/tabular/pipeline_steps.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::tabular::fe {

namespace {

std::vector<double> finite_sorted(const std::vector<double>& x) {
  std::vector<double> out;
  out.reserve(x.size());
  for (auto v : x)
    if (std::isfinite(v)) out.push_back(v);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

// -- scaler ------------------------------------------------------------------

scaler scaler::fit(scaling kind, const std::vector<double>& values) {
  scaler s;
  auto v = finite_sorted(values);
  if (kind == scaling::none || v.empty()) return s;
  s.kind = kind;
  switch (kind) {
  case scaling::standard: {
    double sum = 0;
    for (auto x : v)
      sum += x;
    double mean = sum / static_cast<double>(v.size());
    double ss = 0;
    for (auto x : v)
      ss += (x - mean) * (x - mean);
    double sd = std::sqrt(ss / static_cast<double>(v.size()));
    s.shift = mean;
    s.scale = sd > 0 && std::isfinite(sd) ? sd : 1;
    break;
  }
  case scaling::minmax: {
    double range = v.back() - v.front();
    s.shift = v.front();
    s.scale = range > 0 && std::isfinite(range) ? range : 1;
    break;
  }
  case scaling::quantile: {
    size_t k = std::min(quantile_knots, v.size());
    s.knots.resize(k);
    for (size_t i = 0; i < k; ++i) {
      // Linear interpolation between order statistics, as numpy's
      // default quantile.
      double pos = k == 1 ? 0
                          : static_cast<double>(i) *
                                static_cast<double>(v.size() - 1) /
                                static_cast<double>(k - 1);
      auto lo = static_cast<size_t>(std::floor(pos));
      double frac = pos - static_cast<double>(lo);
      s.knots[i] =
          lo + 1 < v.size() ? v[lo] + frac * (v[lo + 1] - v[lo]) : v[lo];
    }
    break;
  }
  case scaling::none:
    break;
  }
  return s;
}

double scaler::apply(double v) const {
  switch (kind) {
  case scaling::none:
    return v;
  case scaling::standard:
  case scaling::minmax:
    return (v - shift) / scale;
  case scaling::quantile: {
    if (std::isnan(v)) return v;
    auto n = knots.size();
    if (v < knots.front()) return 0;
    if (v > knots.back()) return 1;
    if (n == 1) return 0.5;
    auto lo = std::lower_bound(knots.begin(), knots.end(), v);
    auto up = std::upper_bound(knots.begin(), knots.end(), v);
    double pos;
    if (lo != up) { // v is a knot (maybe repeated): the middle of its run
      pos = (static_cast<double>(lo - knots.begin()) +
             static_cast<double>(up - knots.begin() - 1)) /
            2;
    } else { // knots[i] < v < knots[i + 1]
      auto i = static_cast<size_t>(lo - knots.begin()) - 1;
      pos = static_cast<double>(i) + (v - knots[i]) / (knots[i + 1] - knots[i]);
    }
    return pos / static_cast<double>(n - 1);
  }
  }
  return v;
}

// -- numeric steps -----------------------------------------------------------

double numeric_step::prepare(float x) const {
  double v = x;
  if (log) v = std::copysign(std::log1p(std::fabs(v)), v);
  if (std::isnan(v)) v = fill;
  return v;
}

double cross_step::apply(double va, double vb) const {
  return ratio ? va / (std::fabs(vb) + eps) : va * vb;
}

// -- categorical steps -------------------------------------------------------

size_t slot_of(float code, size_t levels) {
  if (std::isnan(code)) return levels;
  if (code >= 0 && code < static_cast<float>(levels) &&
      code == std::floor(code))
    return static_cast<size_t>(code);
  return levels + 1;
}

size_t categorical_step::outputs() const {
  switch (enc) {
  case encoding::native:
  case encoding::ordinal:
    return 1;
  case encoding::onehot:
    return onehot.size();
  case encoding::target:
    return width;
  }
  return 1;
}

void categorical_step::encode(float code, float* out) const {
  switch (enc) {
  case encoding::native:
    out[0] = code;
    return;
  case encoding::ordinal:
    out[0] = static_cast<float>(std::min(slot_of(code, levels), levels));
    return;
  case encoding::onehot: {
    auto s = slot_of(code, levels);
    for (size_t i = 0; i < onehot.size(); ++i)
      out[i] = onehot[i] == s ? 1.0f : 0.0f;
    return;
  }
  case encoding::target: {
    auto s = slot_of(code, levels);
    const double* v = s <= levels ? table.data() + s * width : prior.data();
    for (size_t i = 0; i < width; ++i)
      out[i] = static_cast<float>(v[i]);
    return;
  }
  }
}

void fit_target(categorical_step& step, const std::vector<size_t>& slots,
                const std::vector<float>& labels,
                const std::vector<size_t>& rows, task_kind task, size_t classes,
                const std::vector<double>* prior) {
  bool multi = task == task_kind::multiclass;
  size_t width = multi ? classes : 1;
  size_t n_slots = step.levels + 1;
  std::vector<double> sum(n_slots * width, 0.0);
  std::vector<double> count(n_slots, 0.0);
  std::vector<double> total(width, 0.0);
  for (auto r : rows) {
    auto label = labels[r];
    size_t k = multi ? static_cast<size_t>(label) : 0;
    double add = multi ? 1.0 : static_cast<double>(label);
    total[k] += add;
    auto s = slots[r];
    if (s >= n_slots) continue;
    count[s] += 1;
    sum[s * width + k] += add;
  }
  step.width = width;
  step.prior.assign(width, 0.0);
  if (prior != nullptr)
    step.prior = *prior;
  else if (!rows.empty())
    for (size_t k = 0; k < width; ++k)
      step.prior[k] = total[k] / static_cast<double>(rows.size());
  step.table.assign(n_slots * width, 0.0);
  for (size_t s = 0; s < n_slots; ++s)
    for (size_t k = 0; k < width; ++k)
      step.table[s * width + k] =
          count[s] > 0
              ? (sum[s * width + k] + target_smoothing * step.prior[k]) /
                    (count[s] + target_smoothing)
              : step.prior[k];
}

// -- the fitted pipeline -----------------------------------------------------

void fitted::index() {
  step_of.assign(inputs.size(), 0);
  for (size_t i = 0; i < numeric.size(); ++i)
    step_of[numeric[i].column] = i;
  for (size_t i = 0; i < categorical.size(); ++i)
    step_of[categorical[i].column] = i;
  full_cols = numeric.size() + crosses.size();
  for (auto& c : categorical)
    full_cols += c.outputs();
}

void fitted::apply_row(const float* in, double* scratch, float* full) const {
  size_t o = 0;
  for (size_t j = 0; j < inputs.size(); ++j) {
    if (inputs[j].categorical) {
      auto& c = categorical[step_of[j]];
      c.encode(in[j], full + o);
      o += c.outputs();
    } else {
      auto& n = numeric[step_of[j]];
      scratch[j] = n.prepare(in[j]);
      full[o++] = static_cast<float>(n.scale.apply(scratch[j]));
    }
  }
  for (auto& c : crosses)
    full[o++] =
        static_cast<float>(c.scale.apply(c.apply(scratch[c.a], scratch[c.b])));
}

bool fitted::is_identity() const {
  for (auto& n : numeric)
    if (n.log || !std::isnan(n.fill) || n.scale.kind != scaling::none)
      return false;
  for (auto& c : categorical)
    if (c.enc != encoding::native) return false;
  return crosses.empty() && kept.size() == full_cols;
}

std::vector<std::string> fitted::full_types() const {
  std::vector<std::string> out;
  for (size_t j = 0; j < inputs.size(); ++j) {
    if (!inputs[j].categorical) {
      out.emplace_back("q");
      continue;
    }
    auto& c = categorical[step_of[j]];
    for (size_t i = 0; i < c.outputs(); ++i)
      out.emplace_back(c.enc == encoding::native ? "c" : "q");
  }
  out.resize(full_cols, "q"); // the crosses
  return out;
}

std::vector<std::string> fitted::full_names(const preprocessor& prep) const {
  std::vector<std::string> out;
  auto& features = prep.features();
  auto& class_names = prep.classes();
  for (size_t j = 0; j < inputs.size(); ++j) {
    auto& name = inputs[j].name;
    if (!inputs[j].categorical) {
      out.push_back(name);
      continue;
    }
    auto& c = categorical[step_of[j]];
    auto& categories = features[j].categories;
    switch (c.enc) {
    case encoding::native:
    case encoding::ordinal:
      out.push_back(name);
      break;
    case encoding::onehot:
      for (auto s : c.onehot)
        out.push_back(name + "=" +
                      (s < categories.size() ? categories[s] : "<missing>"));
      break;
    case encoding::target:
      for (size_t k = 0; k < c.width; ++k)
        out.push_back(c.width == 1
                          ? name
                          : name + "[" +
                                (k < class_names.size() ? class_names[k]
                                                        : std::to_string(k)) +
                                "]");
      break;
    }
  }
  for (auto& c : crosses)
    out.push_back(inputs[c.a].name + (c.ratio ? "/" : "*") + inputs[c.b].name);
  return out;
}

// -- statistics --------------------------------------------------------------

double information(const std::vector<double>& x, const std::vector<float>& y,
                   task_kind task, size_t classes) {
  size_t n = 0;
  double sx = 0;
  double sy = 0;
  for (size_t i = 0; i < x.size(); ++i)
    if (std::isfinite(x[i])) {
      ++n;
      sx += x[i];
      sy += y[i];
    }
  if (n < 2) return 0;
  double mx = sx / static_cast<double>(n);
  double my = sy / static_cast<double>(n);
  if (task == task_kind::regression) {
    double cxy = 0;
    double cxx = 0;
    double cyy = 0;
    for (size_t i = 0; i < x.size(); ++i)
      if (std::isfinite(x[i])) {
        double dx = x[i] - mx;
        double dy = y[i] - my;
        cxy += dx * dy;
        cxx += dx * dx;
        cyy += dy * dy;
      }
    if (!(cxx > 0 && cyy > 0)) return 0;
    double r2 = (cxy * cxy) / (cxx * cyy);
    return std::isfinite(r2) ? std::min(r2, 1.0) : 0;
  }
  std::vector<double> sum(classes, 0.0);
  std::vector<double> cnt(classes, 0.0);
  double sst = 0;
  for (size_t i = 0; i < x.size(); ++i)
    if (std::isfinite(x[i])) {
      auto k = static_cast<size_t>(y[i]);
      if (k >= classes) continue;
      sum[k] += x[i];
      cnt[k] += 1;
      sst += (x[i] - mx) * (x[i] - mx);
    }
  if (!(sst > 0)) return 0;
  double ssb = 0;
  for (size_t k = 0; k < classes; ++k)
    if (cnt[k] > 0) {
      double d = sum[k] / cnt[k] - mx;
      ssb += cnt[k] * d * d;
    }
  double eta2 = ssb / sst;
  return std::isfinite(eta2) ? std::min(eta2, 1.0) : 0;
}

double skewness(const std::vector<double>& x) {
  double sum = 0;
  size_t n = 0;
  for (auto v : x)
    if (std::isfinite(v)) {
      sum += v;
      ++n;
    }
  if (n < 3) return 0;
  double mean = sum / static_cast<double>(n);
  double m2 = 0;
  double m3 = 0;
  for (auto v : x)
    if (std::isfinite(v)) {
      double d = v - mean;
      m2 += d * d;
      m3 += d * d * d;
    }
  m2 /= static_cast<double>(n);
  m3 /= static_cast<double>(n);
  if (!(m2 > 0)) return 0;
  double s = m3 / std::pow(m2, 1.5);
  return std::isfinite(s) ? s : 0;
}

double fill_value(const std::string& how, const std::vector<double>& x) {
  auto v = finite_sorted(x);
  if (v.empty()) return 0;
  if (how == "mean") {
    double sum = 0;
    for (auto e : v)
      sum += e;
    return sum / static_cast<double>(v.size());
  }
  if (how == "median") {
    auto n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  // most_frequent: the longest run of equal values; ties go to the smallest.
  double best = v.front();
  size_t best_n = 0;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j] == v[i])
      ++j;
    if (j - i > best_n) {
      best_n = j - i;
      best = v[i];
    }
    i = j;
  }
  return best;
}

// -- names -------------------------------------------------------------------

bool parse_scaling(const std::string& name, scaling& out) {
  if (name == "none")
    out = scaling::none;
  else if (name == "standard")
    out = scaling::standard;
  else if (name == "minmax")
    out = scaling::minmax;
  else if (name == "quantile")
    out = scaling::quantile;
  else
    return false;
  return true;
}

bool parse_encoding(const std::string& name, encoding& out) {
  if (name == "native")
    out = encoding::native;
  else if (name == "ordinal")
    out = encoding::ordinal;
  else if (name == "onehot")
    out = encoding::onehot;
  else if (name == "target")
    out = encoding::target;
  else
    return false;
  return true;
}

std::string to_string(scaling x) {
  switch (x) {
  case scaling::none:
    return "none";
  case scaling::standard:
    return "standard";
  case scaling::minmax:
    return "minmax";
  case scaling::quantile:
    return "quantile";
  }
  return "none";
}

std::string to_string(encoding x) {
  switch (x) {
  case encoding::native:
    return "native";
  case encoding::ordinal:
    return "ordinal";
  case encoding::onehot:
    return "onehot";
  case encoding::target:
    return "target";
  }
  return "native";
}

} // namespace troupe::tabular::fe
