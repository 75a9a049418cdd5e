#include "actors/models/ensemble.hpp"

#include <cmath>

#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"

namespace troupe::models {

std::vector<float>
weighted_average(const std::vector<std::vector<float>>& scores,
                 const std::vector<double>& weights) {
  if (scores.empty()) return {};
  if (scores.size() == 1) return scores.front();
  auto n = scores.front().size();
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    double v = 0;
    for (size_t k = 0; k < scores.size(); ++k)
      v += weights[k] * static_cast<double>(scores[k][i]);
    out[i] = static_cast<float>(v);
  }
  return out;
}

std::vector<size_t> rows_every_candidate_predicts(
    const std::vector<const std::vector<float>*>& scores, size_t n,
    size_t groups, size_t cap) {
  std::vector<size_t> rows;
  for (size_t r = 0; r < n; ++r) {
    bool all = true;
    for (auto* c : scores)
      for (size_t g = 0; g < groups && all; ++g)
        all = std::isfinite((*c)[r * groups + g]);
    if (all) rows.push_back(r);
  }
  if (cap > 0 && rows.size() > cap) { // an even sample
    auto k = (rows.size() + cap - 1) / cap;
    size_t w = 0;
    for (size_t i = 0; i < rows.size(); i += k)
      rows[w++] = rows[i];
    rows.resize(w);
  }
  return rows;
}

caf::expected<ensemble_choice>
select_ensemble(const std::vector<ensemble_candidate>& candidates,
                const std::vector<float>& y, const std::string& metric,
                size_t classes, size_t rounds) {
  auto info = tabular::find_metric(metric);
  if (!info) return info.error();
  bool maximize = info->better == tabular::direction::maximize;
  if (candidates.empty())
    return make_error(errc::invalid_argument,
                      "ensemble selection: no candidates");
  auto groups = classes > 2 ? classes : size_t{1};
  auto n = y.size();
  for (size_t c = 0; c < candidates.size(); ++c)
    if (candidates[c].oof.size() != n * groups)
      return make_error(errc::invalid_argument,
                        "ensemble selection: candidate " + std::to_string(c) +
                            " has " + std::to_string(candidates[c].oof.size()) +
                            " predictions for " + std::to_string(n) +
                            " rows x " + std::to_string(groups));
  std::vector<const std::vector<float>*> each;
  for (auto& c : candidates)
    each.push_back(&c.oof);
  auto rows =
      rows_every_candidate_predicts(each, n, groups, max_selection_rows);
  if (rows.empty())
    return make_error(errc::invalid_argument,
                      "ensemble selection: no row that every candidate "
                      "predicts");
  std::vector<float> labels;
  labels.reserve(rows.size());
  for (auto r : rows)
    labels.push_back(y[r]);
  // Each candidate's predictions on those rows, as doubles to sum.
  auto m = rows.size() * groups;
  std::vector<std::vector<double>> preds(candidates.size());
  for (size_t c = 0; c < candidates.size(); ++c) {
    preds[c].reserve(m);
    for (auto r : rows)
      for (size_t g = 0; g < groups; ++g)
        preds[c].push_back(candidates[c].oof[r * groups + g]);
  }
  std::vector<float> avg(m);
  auto score_of = [&](const std::vector<double>& sum,
                      double count) -> caf::expected<double> {
    for (size_t i = 0; i < m; ++i)
      avg[i] = static_cast<float>(sum[i] / count);
    return tabular::evaluate(metric, labels, avg, classes);
  };
  auto better = [&](double a, double b) { return maximize ? a > b : a < b; };
  ensemble_choice out;
  out.rows = rows.size();
  // Start from the best single candidate.
  std::vector<double> zero(m, 0.0);
  bool have = false;
  for (size_t c = 0; c < candidates.size(); ++c) {
    auto s = score_of(preds[c], 1.0);
    if (!s) return s.error();
    if (std::isfinite(*s) && (!have || better(*s, out.best_single))) {
      out.best_single = *s;
      out.best_index = c;
      have = true;
    }
  }
  if (!have)
    return make_error(errc::invalid_argument,
                      "ensemble selection: no candidate has a finite " +
                          metric);
  std::vector<size_t> picks(candidates.size(), 0);
  picks[out.best_index] = 1;
  std::vector<double> sum = preds[out.best_index];
  std::vector<size_t> kept = picks;
  out.score = out.best_single;
  std::vector<double> trial(m);
  for (size_t round = 2; round <= std::max<size_t>(rounds, 1); ++round) {
    size_t pick = candidates.size();
    double pick_score = 0;
    for (size_t c = 0; c < candidates.size(); ++c) {
      for (size_t i = 0; i < m; ++i)
        trial[i] = sum[i] + preds[c][i];
      auto s = score_of(trial, static_cast<double>(round));
      if (!s) return s.error();
      if (std::isfinite(*s) &&
          (pick == candidates.size() || better(*s, pick_score))) {
        pick = c;
        pick_score = *s;
      }
    }
    if (pick == candidates.size()) break;
    ++picks[pick];
    for (size_t i = 0; i < m; ++i)
      sum[i] += preds[pick][i];
    out.rounds = round;
    // keep the best round; a tie keeps the smaller ensemble
    if (better(pick_score, out.score)) {
      out.score = pick_score;
      out.kept_round = round;
      kept = picks;
    }
  }
  if (out.kept_round == 0) out.kept_round = 1;
  if (out.rounds == 0) out.rounds = 1;
  double total = 0;
  for (auto k : kept)
    total += static_cast<double>(k);
  out.weights.resize(candidates.size());
  for (size_t c = 0; c < candidates.size(); ++c)
    out.weights[c] = static_cast<double>(kept[c]) / total;
  return out;
}

} // namespace troupe::models
