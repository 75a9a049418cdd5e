#include "actors/nas/controller.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace troupe::nas {

controller::controller(const search_space& space,
                       const controller_options& opts)
    : space_(&space), opts_(opts) {
  for (auto n : space.decisions())
    logits_.emplace_back(n, 0.0);
}

std::vector<double> controller::probabilities(size_t i) const {
  auto& l = logits_[i];
  auto top = *std::max_element(l.begin(), l.end());
  std::vector<double> p(l.size());
  double total = 0;
  for (size_t k = 0; k < l.size(); ++k)
    total += p[k] = std::exp(l[k] - top);
  for (auto& x : p)
    x /= total;
  return p;
}

genes controller::sample(std::mt19937_64& rng) const {
  genes g(logits_.size());
  std::uniform_real_distribution<double> u(0, 1);
  for (size_t i = 0; i < logits_.size(); ++i) {
    auto p = probabilities(i);
    auto x = u(rng);
    size_t k = 0;
    while (k + 1 < p.size() && x >= p[k])
      x -= p[k++];
    g[i] = static_cast<int>(k);
  }
  return g;
}

genes controller::mode() const {
  genes g(logits_.size());
  for (size_t i = 0; i < logits_.size(); ++i)
    g[i] = static_cast<int>(
        std::max_element(logits_[i].begin(), logits_[i].end()) -
        logits_[i].begin());
  return g;
}

void controller::update(const std::vector<genes>& batch,
                        const std::vector<double>& rewards) {
  if (batch.empty()) return;
  double mean = 0;
  for (auto r : rewards)
    mean += r;
  mean /= static_cast<double>(rewards.size());
  if (!has_baseline_) {
    baseline_ = mean; // the first batch only sets the baseline
    has_baseline_ = true;
  }
  auto scale = opts_.learning_rate / static_cast<double>(batch.size());
  std::vector<std::vector<double>> grad;
  for (auto& l : logits_)
    grad.emplace_back(l.size(), 0.0);
  for (size_t b = 0; b < batch.size(); ++b) {
    auto adv = rewards[b] - baseline_;
    for (size_t i = 0; i < logits_.size(); ++i) {
      if (!space_->active(batch[b], i)) continue;
      auto p = probabilities(i);
      // d log p(a) / d logit_k = [k == a] - p_k
      for (size_t k = 0; k < p.size(); ++k)
        grad[i][k] +=
            adv * ((static_cast<int>(k) == batch[b][i] ? 1.0 : 0.0) - p[k]);
    }
  }
  for (size_t i = 0; i < logits_.size(); ++i) {
    auto p = probabilities(i);
    double h = 0; // entropy
    for (auto x : p)
      h -= x > 0 ? x * std::log(x) : 0;
    for (size_t k = 0; k < p.size(); ++k) {
      // d H / d logit_k = -p_k (log p_k + H)
      auto dh = -p[k] * ((p[k] > 0 ? std::log(p[k]) : 0) + h);
      logits_[i][k] +=
          scale * grad[i][k] + opts_.learning_rate * opts_.entropy_weight * dh;
    }
  }
  baseline_ =
      opts_.baseline_decay * baseline_ + (1 - opts_.baseline_decay) * mean;
}

search_result search_rl(sampler& s, const evaluator& eval,
                        const controller_options& opts) {
  search_result out;
  controller ctl{s.space(), opts};
  std::map<genes, double> seen;
  auto budget = std::max<size_t>(opts.budget, 1);
  auto batch_size = std::max<size_t>(opts.batch, 1);
  size_t draws = 0, max_draws = 50 * budget + 100;
  auto canonical = [&](genes g) {
    for (size_t i = 0; i < g.size(); ++i)
      if (!s.space().active(g, i)) g[i] = 0;
    return g;
  };
  while (out.history.size() < budget && draws < 2 * max_draws) {
    std::vector<genes> batch;
    std::vector<double> rewards;
    while (batch.size() < batch_size && out.history.size() < budget &&
           draws < 2 * max_draws) {
      ++draws;
      auto g = draws <= max_draws ? ctl.sample(s.rng()) : s.sample();
      double r = 0;
      if (within(s.space().resolve(g), s.bounds())) {
        auto key = canonical(g);
        if (auto i = seen.find(key); i != seen.end()) {
          r = i->second;
        } else {
          r = eval(g);
          seen.emplace(key, r);
          out.history.push_back({g, r});
          if (out.history.size() == 1 || r > out.best.score) out.best = {g, r};
        }
      }
      batch.push_back(std::move(g));
      rewards.push_back(r);
    }
    ctl.update(batch, rewards);
  }
  if (out.history.empty()) { // nothing within the limits was drawn
    auto g = s.space().smallest();
    out.best = {g, eval(g)};
    out.history.push_back(out.best);
  }
  return out;
}

} // namespace troupe::nas
