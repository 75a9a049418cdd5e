#include "actors/models/stacking.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

using tabular::task_kind;

namespace {

/// FISTA iterations of one stacker fit: the problem is small and well
/// conditioned (standardized features, a ridge penalty), so this converges.
constexpr int stacker_steps = 150;

/// The ridge penalties tried (alpha of the linear family).
constexpr double stacker_alphas[] = {1e-4, 1e-3, 1e-2, 1e-1};

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, "stacking: " + std::move(msg));
}

estimator_context context_of(task_kind task, size_t classes, uint64_t seed) {
  estimator_context ctx;
  ctx.task = task;
  ctx.classes = task == task_kind::regression ? 0 : classes;
  ctx.threads = 1;
  ctx.seed = seed;
  return ctx;
}

/// The stacker's feature of one score.
float feature(task_kind task, float s) {
  constexpr float eps = 1e-6f;
  switch (task) {
  case task_kind::binary: {
    auto p = std::clamp(s, eps, 1 - eps);
    return std::log(p / (1 - p));
  }
  case task_kind::multiclass:
    return std::log(std::clamp(s, eps, 1.0f));
  case task_kind::regression:
    break;
  }
  return s;
}

/// The stacker's matrix of the rows `rows` of the members' scores: member
/// m's score g of a row is column m x width + g.
tabular::matrix features(const std::vector<const std::vector<float>*>& each,
                         const std::vector<size_t>& rows, size_t width,
                         task_kind task) {
  tabular::matrix x;
  x.rows = rows.size();
  x.cols = each.size() * width;
  x.values.resize(x.rows * x.cols);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t m = 0; m < each.size(); ++m)
      for (size_t g = 0; g < width; ++g)
        x.values[i * x.cols + m * width + g] =
            feature(task, (*each[m])[rows[i] * width + g]);
  return x;
}

caf::expected<std::unique_ptr<estimator>>
fit_on(const tabular::matrix& x, const estimator_context& ctx, double alpha) {
  auto family = find_estimator_family(stacker_family);
  if (!family) return family.error();
  tabular::config cfg{{"alpha", alpha}, {"l1_ratio", 0.0}};
  auto e = (*family)->make(cfg, ctx);
  if (!e) return e.error();
  for (int i = 0; i < stacker_steps; ++i)
    if (auto err = (*e)->fit_step(x)) return err;
  return std::move(*e);
}

} // namespace

caf::expected<stacker>
stacker::fit(const std::vector<std::vector<float>>& scores,
             const std::vector<float>& y, task_kind task, size_t classes,
             double alpha, uint64_t seed) {
  if (scores.empty()) return invalid("no members");
  auto ctx = context_of(task, classes, seed);
  auto width = score_width(ctx);
  std::vector<const std::vector<float>*> each;
  for (size_t m = 0; m < scores.size(); ++m) {
    if (scores[m].size() != y.size() * width)
      return invalid("member " + std::to_string(m) + " has " +
                     std::to_string(scores[m].size()) + " scores for " +
                     std::to_string(y.size()) + " rows x " +
                     std::to_string(width));
    each.push_back(&scores[m]);
  }
  std::vector<size_t> rows(y.size());
  std::iota(rows.begin(), rows.end(), size_t{0});
  auto x = features(each, rows, width, task);
  x.labels = y;
  auto e = fit_on(x, ctx, alpha);
  if (!e) return e.error();
  return stacker{std::shared_ptr<const estimator>(std::move(*e)), ctx,
                 scores.size()};
}

caf::expected<stacker> stacker::load(const std::vector<uint8_t>& bytes,
                                     task_kind task, size_t classes,
                                     size_t members) {
  if (members == 0) return invalid("a stacker over no members");
  auto family = find_estimator_family(stacker_family);
  if (!family) return family.error();
  auto ctx = context_of(task, classes, 0);
  auto e = (*family)->load(bytes, ctx);
  if (!e) return e.error();
  return stacker{std::shared_ptr<const estimator>(std::move(*e)), ctx, members};
}

caf::expected<std::vector<float>>
stacker::combine(const std::vector<std::vector<float>>& each) const {
  if (each.size() != members_)
    return invalid("the stacker combines " + std::to_string(members_) +
                   " members, not " + std::to_string(each.size()));
  auto width = score_width(ctx_);
  auto n = each.front().size();
  if (n % width != 0)
    return invalid(std::to_string(n) + " scores are not rows x " +
                   std::to_string(width));
  std::vector<const std::vector<float>*> ptrs;
  for (auto& s : each) {
    if (s.size() != n)
      return invalid("members gave " + std::to_string(s.size()) + " and " +
                     std::to_string(n) + " scores");
    ptrs.push_back(&s);
  }
  std::vector<size_t> rows(n / width);
  std::iota(rows.begin(), rows.end(), size_t{0});
  return model_->predict(features(ptrs, rows, width, ctx_.task));
}

caf::expected<stacking_choice>
select_stacker(const std::vector<ensemble_candidate>& candidates,
               const std::vector<float>& y, const std::string& metric,
               task_kind task, size_t classes, uint64_t seed, size_t folds) {
  auto info = tabular::find_metric(metric);
  if (!info) return info.error();
  bool maximize = info->better == tabular::direction::maximize;
  if (candidates.size() < 2) return invalid("fewer than two candidates");
  if (folds < 2) return invalid("fewer than two folds");
  auto ctx = context_of(task, classes, seed);
  auto width = score_width(ctx);
  auto n = y.size();
  std::vector<const std::vector<float>*> each;
  for (size_t c = 0; c < candidates.size(); ++c) {
    if (candidates[c].oof.size() != n * width)
      return invalid("candidate " + std::to_string(c) + " has " +
                     std::to_string(candidates[c].oof.size()) +
                     " predictions for " + std::to_string(n) + " rows x " +
                     std::to_string(width));
    each.push_back(&candidates[c].oof);
  }
  auto rows = rows_every_candidate_predicts(each, n, width, max_stacking_rows);
  if (rows.size() < 2 * folds)
    return invalid(std::to_string(rows.size()) +
                   " rows predicted by every candidate; need " +
                   std::to_string(2 * folds));
  auto x = features(each, rows, width, task);
  for (auto r : rows)
    x.labels.push_back(y[r]);
  // folds of the scored rows: a seeded shuffle dealt round-robin
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 gen{seed};
  std::shuffle(order.begin(), order.end(), gen);
  std::vector<size_t> fold_of(rows.size());
  for (size_t i = 0; i < order.size(); ++i)
    fold_of[order[i]] = i % folds;

  stacking_choice best;
  bool have = false;
  for (double alpha : stacker_alphas) {
    std::vector<float> oof(rows.size() * width);
    for (size_t f = 0; f < folds; ++f) {
      std::vector<size_t> in, out;
      for (size_t i = 0; i < rows.size(); ++i)
        (fold_of[i] == f ? out : in).push_back(i);
      auto e = fit_on(tabular::take_rows(x, in), ctx, alpha);
      if (!e) return e.error();
      auto p = (*e)->predict(tabular::take_rows(x, out));
      if (!p) return p.error();
      for (size_t i = 0; i < out.size(); ++i)
        for (size_t g = 0; g < width; ++g)
          oof[out[i] * width + g] = (*p)[i * width + g];
    }
    auto s = tabular::evaluate(metric, x.labels, oof,
                               task == task_kind::regression ? 0 : classes);
    if (!s) return s.error();
    if (!std::isfinite(*s)) continue;
    if (!have || (maximize ? *s > best.score : *s < best.score)) {
      best.score = *s;
      best.alpha = alpha;
      have = true;
    }
  }
  if (!have) return invalid("no penalty gave a finite " + metric);
  best.rows = rows.size();
  auto e = fit_on(x, ctx, best.alpha);
  if (!e) return e.error();
  best.model = std::shared_ptr<const stacker>(new stacker(
      std::shared_ptr<const estimator>(std::move(*e)), ctx, candidates.size()));
  return best;
}

caf::expected<std::vector<float>>
combine_members(const std::vector<std::vector<float>>& each,
                const std::vector<double>& weights, const stacker* stack) {
  if (stack) return stack->combine(each);
  return weighted_average(each, weights);
}

} // namespace troupe::models
