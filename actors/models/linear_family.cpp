// The `linear` estimator family: linear regression (squared loss), logistic
// regression (binary) and multinomial softmax regression (multiclass), each
// with an elastic-net penalty
//
//   (1/n) sum_i loss(x_i) + alpha * (l1_ratio * |w|_1
//                                    + (1 - l1_ratio) / 2 * |w|_2^2)
//
// on the intercepts and weights of standardized features (as glmnet does:
// the penalty treats every column alike whatever its units; the intercepts
// are not penalised). A regression label is standardized too, so that alpha
// means the same on every target. Non-finite cells count as the column's
// mean.
//
// The solver is FISTA (Beck and Teboulle) with backtracking on the
// Lipschitz constant L and adaptive restart (O'Donoghue and Candes): one
// step is one iteration, a pass over the rows for the gradient at the
// extrapolated point and one for the margins of the new iterate (more when
// L grows). The sufficient-decrease test compares margins, not losses:
// for these losses (curvature c = 1, 1/4, 1/2 in the margins)
//   c/n * |margins(x) - margins(y)|^2 <= L * |x - y|^2
// implies the usual quadratic upper bound, and it has no cancellation near
// the optimum. Margins of the last two iterates are kept, so the
// extrapolated point's margins cost nothing; rows are summed in fixed
// chunks, so results do not depend on the number of threads.

#include <algorithm>
#include <cmath>
#include <limits>

#include "actors/models/builtin_estimators.hpp"
#include "actors/models/checkpoint.hpp"
#include "actors/models/errors.hpp"
#include "actors/models/estimator_support.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

namespace {

using tabular::task_kind;

constexpr const char* family_name = "linear";
constexpr uint32_t format_version = 1;
constexpr const char* saved_what = "saved linear estimator";

/// Rows are split into at most this many chunks, each summed in row order
/// and the chunks summed in chunk order.
constexpr size_t max_chunks = 64;

struct linear_params {
  double alpha = 1e-4;
  double l1_ratio = 0.15;
};

caf::expected<linear_params> read_params(const tabular::config& cfg) {
  detail::param_reader r{cfg, family_name};
  linear_params p;
  auto alpha = r.real("alpha", p.alpha, 0, 1e6);
  if (!alpha) return alpha.error();
  auto l1 = r.real("l1_ratio", p.l1_ratio, 0, 1);
  if (!l1) return l1.error();
  if (auto err = r.unknown()) return err;
  p.alpha = *alpha;
  p.l1_ratio = *l1;
  return p;
}

/// The loss's curvature bound in the margins.
double curvature(task_kind task) {
  switch (task) {
  case task_kind::binary:
    return 0.25;
  case task_kind::multiclass:
    return 0.5;
  case task_kind::regression:
    break;
  }
  return 1.0;
}

double sigmoid(double m) {
  if (m >= 0) return 1.0 / (1.0 + std::exp(-m));
  auto e = std::exp(m);
  return e / (1.0 + e);
}

/// A point of the solver: outputs x cols weights and outputs intercepts.
struct point {
  std::vector<double> w;
  std::vector<double> b;
};

class linear_estimator final : public estimator {
public:
  linear_estimator(linear_params params, estimator_context ctx)
      : params_(params), ctx_(std::move(ctx)) {
    outputs_ = ctx_.task == task_kind::multiclass ? ctx_.classes : 1;
  }

  caf::error fit_step(const tabular::matrix& train) override {
    // the first step of this object (fresh or loaded) checks the matrix and
    // computes the margins of the last two iterates as every later step
    // computes them; later steps get the same matrix
    bool first = margins_x_.size() != train.rows * outputs_ ||
                 train.labels.size() != train.rows || train.cols != cols_;
    if (first) {
      if (auto err = detail::check_train(train, ctx_, family_name)) return err;
      if (!fitted()) init(train);
      if (auto err = detail::check_columns(train, cols_, family_name))
        return err;
      margins_x_ = margins(x_, train);
      margins_prev_ = margins(prev_, train);
    }
    iterate(train);
    ++steps_;
    return caf::none;
  }

  uint64_t steps() const override { return steps_; }

  caf::expected<std::vector<float>>
  predict(const tabular::matrix& m) const override {
    if (!fitted())
      return make_error(troupe::errc::invalid_argument,
                        std::string{family_name} +
                            ": predict before the first training step");
    if (auto err = detail::check_columns(m, cols_, family_name)) return err;
    auto raw = margins(x_, m);
    std::vector<float> out(raw.size());
    switch (ctx_.task) {
    case task_kind::binary:
      for (size_t i = 0; i < raw.size(); ++i)
        out[i] = static_cast<float>(sigmoid(raw[i]));
      break;
    case task_kind::multiclass:
      for (size_t i = 0; i < m.rows; ++i) {
        auto* r = raw.data() + i * outputs_;
        auto top = *std::max_element(r, r + outputs_);
        double sum = 0;
        for (size_t o = 0; o < outputs_; ++o)
          sum += std::exp(r[o] - top);
        for (size_t o = 0; o < outputs_; ++o)
          out[i * outputs_ + o] =
              static_cast<float>(std::exp(r[o] - top) / sum);
      }
      break;
    case task_kind::regression:
      for (size_t i = 0; i < raw.size(); ++i)
        out[i] = static_cast<float>(target_mean_ + target_scale_ * raw[i]);
      break;
    }
    return out;
  }

  caf::expected<std::vector<uint8_t>> save() const override {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<schema::LinearEstimator>();
    root.setVersion(format_version);
    root.setTask(detail::to_schema(ctx_.task));
    root.setClasses(static_cast<uint32_t>(classes()));
    root.setFeatures(static_cast<uint32_t>(cols_));
    root.setAlpha(params_.alpha);
    root.setL1Ratio(params_.l1_ratio);
    root.setSteps(steps_);
    auto put = [](auto list, const std::vector<double>& xs) {
      for (unsigned i = 0; i < xs.size(); ++i)
        list.set(i, xs[i]);
    };
    auto n = [](const std::vector<double>& xs) {
      return static_cast<unsigned>(xs.size());
    };
    put(root.initMeans(n(means_)), means_);
    put(root.initScales(n(scales_)), scales_);
    root.setTargetMean(target_mean_);
    root.setTargetScale(target_scale_);
    put(root.initWeights(n(x_.w)), x_.w);
    put(root.initIntercepts(n(x_.b)), x_.b);
    put(root.initPrevWeights(n(prev_.w)), prev_.w);
    put(root.initPrevIntercepts(n(prev_.b)), prev_.b);
    root.setMomentum(t_);
    root.setLipschitz(lipschitz_);
    return checkpoint_bytes(message);
  }

  /// Reads save()'s message into this estimator.
  caf::error restore(schema::LinearEstimator::Reader in) {
    auto bad = [](const std::string& why) {
      return make_error(models::errc::bad_model,
                        std::string{saved_what} + ": " + why);
    };
    if (in.getVersion() != format_version)
      return bad("version " + std::to_string(in.getVersion()) +
                 " (this troupe reads version 1)");
    cols_ = in.getFeatures();
    steps_ = in.getSteps();
    auto get = [](auto list) {
      std::vector<double> out;
      out.reserve(list.size());
      for (auto x : list)
        out.push_back(x);
      return out;
    };
    means_ = get(in.getMeans());
    scales_ = get(in.getScales());
    x_.w = get(in.getWeights());
    x_.b = get(in.getIntercepts());
    prev_.w = get(in.getPrevWeights());
    prev_.b = get(in.getPrevIntercepts());
    target_mean_ = in.getTargetMean();
    target_scale_ = in.getTargetScale();
    t_ = in.getMomentum();
    lipschitz_ = in.getLipschitz();
    if (steps_ == 0 && means_.empty()) return caf::none; // never trained
    auto cols = cols_;
    auto weights = outputs_ * cols;
    if (cols == 0 || means_.size() != cols || scales_.size() != cols ||
        x_.w.size() != weights || prev_.w.size() != weights ||
        x_.b.size() != outputs_ || prev_.b.size() != outputs_)
      return bad("its lists do not fit " + std::to_string(outputs_) +
                 " outputs of " + std::to_string(cols) + " features");
    if (!(t_ >= 1) || !(lipschitz_ > 0) || !std::isfinite(lipschitz_))
      return bad("its solver state (momentum " + std::to_string(t_) +
                 ", Lipschitz estimate " + std::to_string(lipschitz_) +
                 ") is invalid");
    return caf::none;
  }

  const std::vector<double>& weights() const { return x_.w; }

private:
  bool fitted() const { return !means_.empty(); }

  size_t classes() const {
    return tabular::is_classification(ctx_.task) ? ctx_.classes : 0;
  }

  size_t chunks(size_t rows) const {
    return std::min(max_chunks,
                    (rows + detail::row_block - 1) / detail::row_block);
  }

  /// Rows [begin, end) of chunk `c` of `rows`.
  std::pair<size_t, size_t> chunk_rows(size_t c, size_t rows) const {
    auto k = chunks(rows);
    return {rows * c / k, rows * (c + 1) / k};
  }

  /// Row `r` of `m` standardized into `z` (non-finite cells: 0).
  void standardized(const tabular::matrix& m, size_t r, double* z) const {
    auto* x = m.row(r);
    for (size_t j = 0; j < cols_; ++j) {
      double v = x[j];
      z[j] = std::isfinite(v) ? (v - means_[j]) * scales_[j] : 0.0;
    }
  }

  /// The target of row `r` as the loss takes it.
  double target(const tabular::matrix& m, size_t r) const {
    return (m.labels[r] - target_mean_) / target_scale_;
  }

  /// Column statistics, the target's, and the starting point.
  void init(const tabular::matrix& train) {
    cols_ = train.cols;
    auto n = train.rows;
    std::vector<double> sum(cols_, 0.0), count(cols_, 0.0);
    for (size_t i = 0; i < n; ++i) {
      auto* x = train.row(i);
      for (size_t j = 0; j < cols_; ++j)
        if (std::isfinite(x[j])) {
          sum[j] += x[j];
          count[j] += 1;
        }
    }
    means_.assign(cols_, 0.0);
    for (size_t j = 0; j < cols_; ++j)
      means_[j] = count[j] > 0 ? sum[j] / count[j] : 0.0;
    std::vector<double> sq(cols_, 0.0);
    for (size_t i = 0; i < n; ++i) {
      auto* x = train.row(i);
      for (size_t j = 0; j < cols_; ++j)
        if (std::isfinite(x[j])) {
          auto d = x[j] - means_[j];
          sq[j] += d * d;
        }
    }
    scales_.assign(cols_, 0.0);
    for (size_t j = 0; j < cols_; ++j) {
      auto sd = count[j] > 0 ? std::sqrt(sq[j] / count[j]) : 0.0;
      // a constant column (up to rounding) gets no weight
      if (sd > 1e-12 * (1.0 + std::abs(means_[j]))) scales_[j] = 1.0 / sd;
    }
    x_.w.assign(outputs_ * cols_, 0.0);
    x_.b.assign(outputs_, 0.0);
    target_mean_ = 0;
    target_scale_ = 1;
    switch (ctx_.task) {
    case task_kind::regression: {
      double s = 0;
      for (auto y : train.labels)
        s += y;
      target_mean_ = s / static_cast<double>(n);
      double v = 0;
      for (auto y : train.labels)
        v += (y - target_mean_) * (y - target_mean_);
      auto sd = std::sqrt(v / static_cast<double>(n));
      target_scale_ = sd > 0 ? sd : 1.0;
      break;
    }
    case task_kind::binary: {
      double pos = 0;
      for (auto y : train.labels)
        pos += y;
      auto p = std::clamp(pos / static_cast<double>(n), 1e-6, 1 - 1e-6);
      x_.b[0] = std::log(p / (1 - p));
      break;
    }
    case task_kind::multiclass: {
      std::vector<double> freq(outputs_, 0.0);
      for (auto y : train.labels)
        freq[static_cast<size_t>(y)] += 1;
      for (size_t o = 0; o < outputs_; ++o)
        x_.b[o] = std::log(std::max(freq[o] / static_cast<double>(n), 1e-6));
      break;
    }
    }
    prev_ = x_;
    t_ = 1;
    // the intercepts' direction alone has curvature c: a lower bound of L
    lipschitz_ = curvature(ctx_.task);
  }

  /// The margins (rows x outputs) of `p` on `m`.
  std::vector<double> margins(const point& p, const tabular::matrix& m) const {
    std::vector<double> out(m.rows * outputs_);
    auto k = chunks(m.rows);
    detail::parallel_blocks(k, ctx_.threads, [&](size_t c) {
      auto [begin, end] = chunk_rows(c, m.rows);
      std::vector<double> z(cols_);
      for (size_t i = begin; i < end; ++i) {
        standardized(m, i, z.data());
        for (size_t o = 0; o < outputs_; ++o) {
          auto* w = p.w.data() + o * cols_;
          double s = p.b[o];
          for (size_t j = 0; j < cols_; ++j)
            s += w[j] * z[j];
          out[i * outputs_ + o] = s;
        }
      }
    });
    return out;
  }

  /// The loss's gradient at the point whose margins are `mg`.
  point gradient(const std::vector<double>& mg,
                 const tabular::matrix& train) const {
    auto n = train.rows;
    auto k = chunks(n);
    std::vector<point> parts(k);
    detail::parallel_blocks(k, ctx_.threads, [&](size_t c) {
      auto [begin, end] = chunk_rows(c, n);
      auto& g = parts[c];
      g.w.assign(outputs_ * cols_, 0.0);
      g.b.assign(outputs_, 0.0);
      std::vector<double> z(cols_), r(outputs_);
      for (size_t i = begin; i < end; ++i) {
        residuals(mg.data() + i * outputs_, train, i, r.data());
        standardized(train, i, z.data());
        for (size_t o = 0; o < outputs_; ++o) {
          if (r[o] == 0) continue;
          auto* w = g.w.data() + o * cols_;
          for (size_t j = 0; j < cols_; ++j)
            w[j] += r[o] * z[j];
          g.b[o] += r[o];
        }
      }
    });
    point g{std::vector<double>(outputs_ * cols_, 0.0),
            std::vector<double>(outputs_, 0.0)};
    for (auto& part : parts) {
      for (size_t i = 0; i < g.w.size(); ++i)
        g.w[i] += part.w[i];
      for (size_t o = 0; o < outputs_; ++o)
        g.b[o] += part.b[o];
    }
    auto inv = 1.0 / static_cast<double>(n);
    for (auto& x : g.w)
      x *= inv;
    for (auto& x : g.b)
      x *= inv;
    return g;
  }

  /// d loss / d margin of row `i` into `r`.
  void residuals(const double* m, const tabular::matrix& train, size_t i,
                 double* r) const {
    switch (ctx_.task) {
    case task_kind::regression:
      r[0] = m[0] - target(train, i);
      return;
    case task_kind::binary:
      r[0] = sigmoid(m[0]) - train.labels[i];
      return;
    case task_kind::multiclass: {
      auto top = *std::max_element(m, m + outputs_);
      double sum = 0;
      for (size_t o = 0; o < outputs_; ++o) {
        r[o] = std::exp(m[o] - top);
        sum += r[o];
      }
      auto label = static_cast<size_t>(train.labels[i]);
      for (size_t o = 0; o < outputs_; ++o)
        r[o] = r[o] / sum - (o == label ? 1.0 : 0.0);
      return;
    }
    }
  }

  /// The proximal step from `y` along `g` with step 1 / L.
  point prox(const point& y, const point& g, double L) const {
    point out;
    out.w.resize(y.w.size());
    out.b.resize(y.b.size());
    auto l1 = params_.alpha * params_.l1_ratio / L;
    auto shrink = 1.0 / (1.0 + params_.alpha * (1.0 - params_.l1_ratio) / L);
    for (size_t i = 0; i < y.w.size(); ++i) {
      auto u = y.w[i] - g.w[i] / L;
      auto a = std::abs(u) - l1;
      out.w[i] = a > 0 ? std::copysign(a, u) * shrink : 0.0;
    }
    for (size_t o = 0; o < y.b.size(); ++o)
      out.b[o] = y.b[o] - g.b[o] / L;
    return out;
  }

  /// One FISTA iteration with backtracking and restart.
  void iterate(const tabular::matrix& train) {
    auto n = train.rows;
    auto t_next = (1.0 + std::sqrt(1.0 + 4.0 * t_ * t_)) / 2.0;
    auto beta = (t_ - 1.0) / t_next;
    point y{x_.w, x_.b};
    for (size_t i = 0; i < y.w.size(); ++i)
      y.w[i] += beta * (x_.w[i] - prev_.w[i]);
    for (size_t o = 0; o < y.b.size(); ++o)
      y.b[o] += beta * (x_.b[o] - prev_.b[o]);
    std::vector<double> margins_y(margins_x_.size());
    for (size_t i = 0; i < margins_y.size(); ++i)
      margins_y[i] = margins_x_[i] + beta * (margins_x_[i] - margins_prev_[i]);
    auto g = gradient(margins_y, train);
    auto c = curvature(ctx_.task) / static_cast<double>(n);
    point next;
    std::vector<double> margins_next;
    // L at most doubles 64 times: beyond that the bound cannot hold for
    // finite data, and the last candidate is taken
    for (int tries = 0; tries < 64; ++tries) {
      next = prox(y, g, lipschitz_);
      margins_next = margins(next, train);
      double step = 0;
      for (size_t i = 0; i < next.w.size(); ++i)
        step += (next.w[i] - y.w[i]) * (next.w[i] - y.w[i]);
      for (size_t o = 0; o < next.b.size(); ++o)
        step += (next.b[o] - y.b[o]) * (next.b[o] - y.b[o]);
      double moved = 0;
      for (size_t i = 0; i < margins_next.size(); ++i) {
        auto d = margins_next[i] - margins_y[i];
        moved += d * d;
      }
      if (step == 0 || c * moved <= lipschitz_ * step * (1 + 1e-9)) break;
      lipschitz_ *= 2;
    }
    // restart the momentum when it points against the step taken
    double dot = 0;
    for (size_t i = 0; i < next.w.size(); ++i)
      dot += (y.w[i] - next.w[i]) * (next.w[i] - x_.w[i]);
    for (size_t o = 0; o < next.b.size(); ++o)
      dot += (y.b[o] - next.b[o]) * (next.b[o] - x_.b[o]);
    t_ = dot > 0 ? 1.0 : t_next;
    prev_ = std::move(x_);
    x_ = std::move(next);
    margins_prev_ = std::move(margins_x_);
    margins_x_ = std::move(margins_next);
  }

  linear_params params_;
  estimator_context ctx_;
  size_t outputs_ = 1;
  size_t cols_ = 0;
  uint64_t steps_ = 0;
  std::vector<double> means_;
  std::vector<double> scales_;
  double target_mean_ = 0;
  double target_scale_ = 1;
  point x_;    ///< the iterate x_k
  point prev_; ///< x_{k-1}
  double t_ = 1;
  double lipschitz_ = 1;
  /// Margins of x_ and prev_ on the training matrix (not saved: recomputed
  /// at the first step after loading).
  std::vector<double> margins_x_;
  std::vector<double> margins_prev_;
};

caf::expected<std::unique_ptr<estimator>>
make_linear(const tabular::config& cfg, const estimator_context& ctx) {
  if (auto err = detail::check_context(ctx, family_name)) return err;
  auto p = read_params(cfg);
  if (!p) return p.error();
  return std::unique_ptr<estimator>{new linear_estimator(*p, ctx)};
}

caf::expected<std::unique_ptr<estimator>>
load_linear(const std::vector<uint8_t>& bytes, const estimator_context& ctx) {
  if (auto err = detail::check_context(ctx, family_name)) return err;
  return read_checkpoint<schema::LinearEstimator>(
      bytes, saved_what,
      [&](schema::LinearEstimator::Reader in)
          -> caf::expected<std::unique_ptr<estimator>> {
        if (auto err = detail::check_saved(in, format_version, ctx, saved_what))
          return err;
        linear_params p{in.getAlpha(), in.getL1Ratio()};
        if (!(p.alpha >= 0) || !(p.l1_ratio >= 0 && p.l1_ratio <= 1))
          return detail::bad_saved(saved_what, "invalid alpha or l1_ratio");
        auto est = std::make_unique<linear_estimator>(p, ctx);
        if (auto err = est->restore(in)) return err;
        return std::unique_ptr<estimator>{std::move(est)};
      });
}

} // namespace

estimator_family linear_family() {
  estimator_family f;
  f.name = family_name;
  f.max_steps = 100;
  f.takes_nan = false;
  f.native_categorical = false;
  f.make = make_linear;
  f.load = load_linear;
  return f;
}

caf::expected<std::vector<double>>
linear_coefficients(const std::vector<uint8_t>& bytes) {
  return read_checkpoint<schema::LinearEstimator>(
      bytes, saved_what,
      [&](schema::LinearEstimator::Reader in)
          -> caf::expected<std::vector<double>> {
        std::vector<double> out;
        for (auto w : in.getWeights())
          out.push_back(w);
        return out;
      });
}

} // namespace troupe::models
