#include "actors/automl/tpe.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <tuple>

#include "actors/automl/pareto.hpp"

namespace troupe::automl {

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

/// A standard normal draw (Box-Muller), portable across standard libraries.
double normal01(std::mt19937_64& rng) {
  double u1 = 1.0 - uniform01(rng); // (0, 1]
  double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

/// e^x for x <= 0 to about 1e-15 relative, without libm's error handling
/// and in plain arithmetic the compiler can vectorise. Below -700 it gives
/// e^-700: every mixture here holds a prior component whose density is far
/// larger, so the difference never shows.
inline double exp_neg(double x) {
  x = x < -700.0 ? -700.0 : x;
  constexpr double shift = 0x1.8p52; // rounds to an integer in the low bits
  constexpr double ln2_hi = 0x1.62e42fefa39efp-1;
  constexpr double ln2_lo = 0x1.abc9e3b39803fp-56;
  double kd = x * M_LOG2E + shift;
  uint64_t ki;
  std::memcpy(&ki, &kd, sizeof(ki));
  kd -= shift;
  double r = x - kd * ln2_hi - kd * ln2_lo; // |r| <= ln(2) / 2
  double p = 1.0 / 479001600;               // Taylor to r^12
  for (double c :
       {1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040,
        1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0})
    p = p * r + c;
  uint64_t bits = (ki + 1023) << 52; // 2^k
  double scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

/// P(a <= Z <= b) for a standard normal Z, accurate in both tails.
double normal_mass(double a, double b) {
  constexpr double r = M_SQRT1_2;
  if (a >= 0) return 0.5 * (std::erfc(a * r) - std::erfc(b * r));
  if (b <= 0) return 0.5 * (std::erfc(-b * r) - std::erfc(-a * r));
  return 1.0 - 0.5 * (std::erfc(-a * r) + std::erfc(b * r));
}

/// Where a parameter's values live for the model: log or linear scale, and
/// for ints the cells [v - 0.5, v + 0.5].
struct scale {
  double lo = 0, hi = 1; // model bounds
  bool log = false;
  bool discrete = false;

  explicit scale(const param_spec& s) : log(s.log) {
    discrete = s.kind == param_kind::integer;
    double pad = discrete ? 0.5 : 0.0;
    lo = to_model(s.low - pad);
    hi = to_model(s.high + pad);
  }
  double to_model(double v) const { return log ? std::log(v) : v; }
  double from_model(double x) const { return log ? std::exp(x) : x; }
};

/// A parameter's value as the model sees it (choice index for categorical);
/// false when it does not fit the parameter.
bool model_value(const param_spec& s, const param_value& v, double& x) {
  switch (s.kind) {
  case param_kind::real: {
    auto* d = std::get_if<double>(&v);
    if (!d || !(*d >= s.low && *d <= s.high)) return false;
    x = s.log ? std::log(*d) : *d;
    return true;
  }
  case param_kind::integer: {
    auto* i = std::get_if<int64_t>(&v);
    if (!i || *i < s.low || *i > s.high) return false;
    x = s.log ? std::log(static_cast<double>(*i)) : static_cast<double>(*i);
    return true;
  }
  case param_kind::categorical: {
    auto* c = std::get_if<std::string>(&v);
    if (!c) return false;
    auto idx = s.choice_index(*c);
    if (!idx) return false;
    x = static_cast<double>(*idx);
    return true;
  }
  }
  return false;
}

/// Optuna's weights into `out`, followed by the prior's, normalised.
void mixture_weights(size_t n, double prior_weight, std::vector<double>& out) {
  out.resize(n + 1);
  for (size_t i = 0; i < n; ++i)
    out[i] = 1.0;
  if (n > 25) {
    size_t ramp = n - 25;
    double first = 1.0 / static_cast<double>(n);
    for (size_t i = 0; i < ramp; ++i)
      out[i] = ramp == 1 ? first
                         : first + (1.0 - first) * static_cast<double>(i) /
                                       static_cast<double>(ramp - 1);
  }
  out[n] = prior_weight;
  double total = 0;
  for (double w : out)
    total += w;
  for (double& w : out)
    w /= total;
}

/// A mixture of Gaussians truncated to [lo, hi], in the model's scale.
struct mixture {
  std::vector<double> mu, sigma, cum;         // cum: cumulative weights
  std::vector<double> inv_sigma, coef, dcoef; // coef: w / Z; dcoef / sigma
  double lo = 0, hi = 1;
  /// Components come in blocks of `block`, sorted by mu; block b matters
  /// only for x within [reach_lo[b], reach_hi[b]], `reach` sigmas beyond its
  /// outermost means (further out a component adds under e^-50 of its peak,
  /// against a prior that always adds far more).
  static constexpr size_t block = 16;
  static constexpr double reach = 10.0;
  std::vector<double> reach_lo, reach_hi;

  /// Fits to observations `xs` (oldest first).
  void fit(const std::vector<double>& xs, const scale& sc,
           const tpe_options& opts, std::vector<double>& w,
           std::vector<std::pair<double, double>>& sorted) {
    lo = sc.lo;
    hi = sc.hi;
    size_t n = xs.size();
    mixture_weights(n, opts.prior_weight, w);
    double range = hi - lo;
    double prior_mu = 0.5 * (lo + hi);
    sorted.clear();
    for (size_t i = 0; i < n; ++i)
      sorted.emplace_back(xs[i], w[i]);
    std::sort(sorted.begin(), sorted.end());
    // Insert the prior where numpy's searchsorted would.
    auto pos = std::lower_bound(sorted.begin(), sorted.end(),
                                std::make_pair(prior_mu, -inf)) -
               sorted.begin();
    sorted.insert(sorted.begin() + pos, {prior_mu, w[n]});
    size_t m = n + 1;
    mu.resize(m);
    sigma.resize(m);
    for (size_t k = 0; k < m; ++k)
      mu[k] = sorted[k].first;
    for (size_t k = 0; k < m; ++k) {
      double prev = k > 0 ? mu[k - 1] : lo;
      double next = k + 1 < m ? mu[k + 1] : hi;
      sigma[k] = std::max(mu[k] - prev, next - mu[k]);
    }
    if (!opts.consider_endpoints && m >= 2) {
      sigma[0] = mu[1] - mu[0];
      sigma[m - 1] = mu[m - 1] - mu[m - 2];
    }
    double min_sigma = opts.consider_magic_clip
                           ? range / std::min(100.0, static_cast<double>(m + 1))
                           : 1e-12;
    for (auto& s : sigma)
      s = std::clamp(s, min_sigma, range);
    sigma[pos] = range;
    cum.resize(m);
    inv_sigma.resize(m);
    coef.resize(m);
    dcoef.resize(m);
    double acc = 0;
    for (size_t k = 0; k < m; ++k) {
      acc += sorted[k].second;
      cum[k] = acc;
      inv_sigma[k] = 1.0 / sigma[k];
      double a = (lo - mu[k]) * inv_sigma[k];
      double b = (hi - mu[k]) * inv_sigma[k];
      // Far from both bounds the truncation loses nothing.
      double z = (a < -8.5 && b > 8.5) ? 1.0 : normal_mass(a, b);
      coef[k] = sorted[k].second / std::max(z, 1e-300);
      dcoef[k] = coef[k] * inv_sigma[k];
    }
    size_t blocks = (m + block - 1) / block;
    reach_lo.resize(blocks);
    reach_hi.resize(blocks);
    for (size_t b = 0; b < blocks; ++b) {
      size_t first = b * block, last = std::min(first + block, m) - 1;
      double widest =
          *std::max_element(sigma.begin() + first, sigma.begin() + last + 1);
      reach_lo[b] = mu[first] - reach * widest;
      reach_hi[b] = mu[last] + reach * widest;
    }
  }

  /// Draws a value in [lo, hi].
  double sample(std::mt19937_64& rng) const {
    double u = uniform01(rng) * cum.back();
    size_t k = std::upper_bound(cum.begin(), cum.end(), u) - cum.begin();
    k = std::min(k, mu.size() - 1);
    for (int attempt = 0; attempt < 100; ++attempt) {
      double x = mu[k] + sigma[k] * normal01(rng);
      if (x >= lo && x <= hi) return x;
    }
    return std::clamp(mu[k], lo, hi);
  }

  /// Log density at x, up to a constant shared by all mixtures.
  double log_density(double x) const {
    const double* mu_ = mu.data();
    const double* is = inv_sigma.data();
    const double* c = dcoef.data();
    // Four running sums, so the loop vectorises without reassociation.
    double acc[4] = {0, 0, 0, 0};
    for (size_t b = 0; b < reach_lo.size(); ++b) {
      if (x < reach_lo[b] || x > reach_hi[b]) continue;
      size_t k = b * block, end = std::min(k + block, mu.size());
      for (; k + 4 <= end; k += 4)
        for (size_t j = 0; j < 4; ++j) {
          double z = (x - mu_[k + j]) * is[k + j];
          acc[j] += c[k + j] * exp_neg(-0.5 * z * z);
        }
      for (; k < end; ++k) {
        double z = (x - mu_[k]) * is[k];
        acc[0] += c[k] * exp_neg(-0.5 * z * z);
      }
    }
    return std::log((acc[0] + acc[1]) + (acc[2] + acc[3]));
  }

  /// Log probability of [a, b].
  double log_mass(double a, double b) const {
    double sum = 0;
    for (size_t blk = 0; blk < reach_lo.size(); ++blk) {
      if (b < reach_lo[blk] || a > reach_hi[blk]) continue;
      size_t end = std::min((blk + 1) * block, mu.size());
      for (size_t k = blk * block; k < end; ++k)
        sum += coef[k] * normal_mass((a - mu[k]) * inv_sigma[k],
                                     (b - mu[k]) * inv_sigma[k]);
    }
    return std::log(sum);
  }
};

/// Choice probabilities of a categorical parameter from observed indices.
void categorical_probs(const std::vector<double>& xs, size_t n_choices,
                       double prior_weight, std::vector<double>& w,
                       std::vector<double>& probs) {
  size_t n = xs.size();
  auto k = static_cast<double>(n_choices);
  probs.assign(n_choices, 0.0);
  mixture_weights(n, prior_weight, w);
  double fill = prior_weight / static_cast<double>(n + 1);
  double row = 1.0 + k * fill;
  double spread = 0;
  for (size_t i = 0; i < n; ++i) {
    probs[static_cast<size_t>(xs[i])] += w[i] / row;
    spread += w[i] * fill / row;
  }
  for (auto& p : probs)
    p += spread + w[n] / k;
}

/// Ranking key of a finished trial: smaller is better.
using rank_key = std::tuple<int, double, double>;

} // namespace

size_t default_gamma(size_t n) {
  return std::min<size_t>((n + 9) / 10, 25);
}

std::vector<double> default_weights(size_t n) {
  std::vector<double> w;
  mixture_weights(n, 0.0, w);
  w.pop_back();
  // Undo the normalisation: the largest weight is 1.
  double top = n > 0 ? *std::max_element(w.begin(), w.end()) : 1.0;
  for (auto& x : w)
    x /= top;
  return w;
}

struct tpe_sampler::workspace {
  tpe_split split;
  std::vector<std::pair<rank_key, size_t>> ranked;
  /// values[i * P + p]: trial i's parameter p in the model's scale, NaN
  /// when absent or not fitting the space.
  std::vector<double> values;
  std::vector<size_t> by_name; // parameter indices sorted by name
  std::vector<double> good_xs, bad_xs, weights, good_p, bad_p;
  std::vector<std::pair<double, double>> sorted;
  mixture l, g;
};

namespace {

void split_into(const std::vector<trial_record>& history, direction dir,
                const tpe_options& opts, tpe_split& out,
                std::vector<std::pair<rank_key, size_t>>& ranked) {
  double sign = dir == direction::minimize ? 1.0 : -1.0;
  ranked.clear();
  out.good.clear();
  out.bad.clear();
  // A multi-objective study (complete trials carry secondary objectives):
  // complete trials rank by their place in non-dominated order (rank, then
  // crowding distance), as MOTPE splits them.
  std::vector<size_t> complete;
  bool multi = false;
  for (size_t i = 0; i < history.size(); ++i) {
    auto& t = history[i];
    if (t.state == trial_state::complete && t.value && !std::isnan(*t.value)) {
      complete.push_back(i);
      multi = multi || !t.secondary_value.empty();
    }
  }
  std::vector<double> place(history.size(), 0.0);
  if (multi) {
    size_t width = 0;
    for (auto i : complete)
      width = std::max(width, history[i].secondary_value.size());
    std::vector<objective_vector> points;
    std::vector<uint64_t> ids;
    for (auto i : complete) {
      auto& t = history[i];
      objective_vector p{sign * *t.value};
      for (size_t k = 0; k < width; ++k) {
        auto v = k < t.secondary_value.size() ? t.secondary_value[k] : inf;
        p.push_back(std::isnan(v) ? inf : v);
      }
      points.push_back(std::move(p));
      ids.push_back(t.id);
    }
    auto order = nds_order(points, ids);
    for (size_t k = 0; k < order.size(); ++k)
      place[complete[order[k]]] = static_cast<double>(k);
  }
  for (size_t i = 0; i < history.size(); ++i) {
    auto& t = history[i];
    auto st = t.state;
    if (st == trial_state::complete) {
      if (t.value && !std::isnan(*t.value))
        ranked.push_back({{0, -inf, multi ? place[i] : sign * *t.value}, i});
    } else if (st == trial_state::pruned ||
               (st == trial_state::paused && !t.intermediate.empty())) {
      if (t.intermediate.empty()) {
        ranked.push_back({{2, 0.0, 0.0}, i});
      } else {
        auto& [step, v] = *t.intermediate.rbegin();
        ranked.push_back(
            {{1, -static_cast<double>(step), std::isnan(v) ? inf : sign * v},
             i});
      }
    } else if (st != trial_state::failed && opts.constant_liar) {
      out.bad.push_back(i); // a liar: bad whatever happens
    }
  }
  out.finished = ranked.size();
  size_t n_good = std::min(opts.gamma ? opts.gamma(out.finished)
                                      : default_gamma(out.finished),
                           out.finished);
  if (n_good < ranked.size())
    std::nth_element(ranked.begin(), ranked.begin() + n_good, ranked.end());
  for (size_t k = 0; k < ranked.size(); ++k)
    (k < n_good ? out.good : out.bad).push_back(ranked[k].second);
  std::sort(out.good.begin(), out.good.end());
  std::sort(out.bad.begin(), out.bad.end());
}

} // namespace

tpe_split split_trials(const std::vector<trial_record>& history, direction dir,
                       const tpe_options& opts) {
  tpe_split out;
  std::vector<std::pair<rank_key, size_t>> ranked;
  split_into(history, dir, opts, out, ranked);
  return out;
}

tpe_sampler::tpe_sampler(tpe_options opts)
    : opts_(std::move(opts)), ws_(std::make_unique<workspace>()) {
  if (!(opts_.prior_weight > 0)) opts_.prior_weight = 1.0;
  opts_.n_ei_candidates = std::max<size_t>(opts_.n_ei_candidates, 1);
}

tpe_sampler::~tpe_sampler() = default;
tpe_sampler::tpe_sampler(tpe_sampler&&) noexcept = default;
tpe_sampler& tpe_sampler::operator=(tpe_sampler&&) noexcept = default;

void tpe_sampler::extract(const search_space& space,
                          const std::vector<trial_record>& history) {
  auto& ws = *ws_;
  const auto& ps = space.params();
  const size_t n_params = ps.size();
  ws.by_name.resize(n_params);
  for (size_t p = 0; p < n_params; ++p)
    ws.by_name[p] = p;
  std::sort(ws.by_name.begin(), ws.by_name.end(),
            [&](size_t a, size_t b) { return ps[a].name < ps[b].name; });
  // Rows are read afresh on every call: a cache keyed by trial id would go
  // stale if the sampler were reused for another study.
  ws.values.assign(history.size() * n_params,
                   std::numeric_limits<double>::quiet_NaN());
  auto fill = [&](size_t i) {
    double* row = ws.values.data() + i * n_params;
    // Both the config and by_name are sorted by name: walk them together.
    auto& params = history[i].params;
    auto it = params.begin();
    for (size_t p : ws.by_name) {
      while (it != params.end() && it->first < ps[p].name)
        ++it;
      if (it == params.end()) break;
      if (it->first == ps[p].name) model_value(ps[p], it->second, row[p]);
    }
  };
  for (auto i : ws.split.good)
    fill(i);
  for (auto i : ws.split.bad)
    fill(i);
}

config tpe_sampler::suggest(const search_space& space,
                            const std::vector<trial_record>& history,
                            direction dir, std::mt19937_64& rng) {
  auto& ws = *ws_;
  split_into(history, dir, opts_, ws.split, ws.ranked);
  if (ws.split.finished < opts_.n_startup_trials || ws.split.finished == 0)
    return space.sample(rng);
  extract(space, history);
  config result;
  const size_t n_params = space.size();
  auto collect = [&](size_t p, const std::vector<size_t>& idx,
                     std::vector<double>& xs) {
    xs.clear();
    for (auto i : idx) {
      double x = ws.values[i * n_params + p];
      if (!std::isnan(x)) xs.push_back(x);
    }
  };
  const size_t n_ei = opts_.n_ei_candidates;
  for (size_t p = 0; p < space.size(); ++p) {
    if (!space.is_active(p, result)) continue;
    auto& s = space.params()[p];
    collect(p, ws.split.good, ws.good_xs);
    collect(p, ws.split.bad, ws.bad_xs);
    if (s.kind == param_kind::categorical) {
      size_t k = s.choices.size();
      categorical_probs(ws.good_xs, k, opts_.prior_weight, ws.weights,
                        ws.good_p);
      categorical_probs(ws.bad_xs, k, opts_.prior_weight, ws.weights, ws.bad_p);
      double total = 0;
      for (double q : ws.good_p)
        total += q;
      size_t best = 0;
      double best_score = -inf;
      for (size_t c = 0; c < n_ei; ++c) {
        double u = uniform01(rng) * total;
        size_t choice = 0;
        while (choice + 1 < k && u >= ws.good_p[choice])
          u -= ws.good_p[choice++];
        double score = std::log(ws.good_p[choice]) - std::log(ws.bad_p[choice]);
        if (score > best_score) {
          best_score = score;
          best = choice;
        }
      }
      result.emplace(s.name, s.choices[best]);
      continue;
    }
    scale sc{s};
    ws.l.fit(ws.good_xs, sc, opts_, ws.weights, ws.sorted);
    ws.g.fit(ws.bad_xs, sc, opts_, ws.weights, ws.sorted);
    double best_x = 0, best_score = -inf;
    for (size_t c = 0; c < n_ei; ++c) {
      double x = ws.l.sample(rng);
      double score;
      if (sc.discrete) {
        double v = std::clamp(std::round(sc.from_model(x)), s.low, s.high);
        double a = std::max(sc.to_model(v - 0.5), sc.lo);
        double b = std::min(sc.to_model(v + 0.5), sc.hi);
        score = ws.l.log_mass(a, b) - ws.g.log_mass(a, b);
        x = v;
      } else {
        score = ws.l.log_density(x) - ws.g.log_density(x);
        x = std::clamp(sc.from_model(x), s.low, s.high);
      }
      if (std::isnan(score)) score = -inf;
      if (c == 0 || score > best_score) {
        best_score = score;
        best_x = x;
      }
    }
    if (sc.discrete)
      result.emplace(s.name, static_cast<int64_t>(best_x));
    else
      result.emplace(s.name, best_x);
  }
  return result;
}

} // namespace troupe::automl
