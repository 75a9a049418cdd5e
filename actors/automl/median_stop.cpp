#include "actors/automl/median_stop.hpp"

#include <algorithm>

namespace troupe::automl {

void median_stop::on_trial_add(trial_id id, const config&, int64_t) {
  trials_.try_emplace(id);
}

std::optional<double> median_stop::running_mean(const trial_info& t,
                                                uint64_t step) const {
  auto n = static_cast<size_t>(
      std::upper_bound(t.steps.begin(), t.steps.end(), step) - t.steps.begin());
  if (n == 0) return std::nullopt;
  return t.sums[n - 1] / static_cast<double>(n);
}

std::optional<double> median_stop::median_at(trial_id id, uint64_t step) const {
  std::vector<double> means;
  for (auto& [other, t] : trials_) {
    if (other == id || t.st == state::failed || !t.has_result ||
        t.last_step < step)
      continue;
    if (opts_.only_completed && t.st != state::complete) continue;
    if (auto m = running_mean(t, step)) means.push_back(*m);
  }
  if (means.empty() || means.size() < opts_.min_samples) return std::nullopt;
  std::sort(means.begin(), means.end());
  auto mid = means.size() / 2;
  return means.size() % 2 == 1 ? means[mid] : (means[mid - 1] + means[mid]) / 2;
}

decision median_stop::on_result(trial_id id, uint64_t step, double value) {
  decision go{action::proceed, opts_.max_resource};
  auto& t = trials_[id];
  if (t.st == state::stopped || t.st == state::failed) return {action::stop, 0};
  auto loss = to_loss(opts_.dir, value);
  t.best = t.has_result ? std::min(t.best, loss) : loss;
  t.has_result = true;
  t.last_step = std::max(t.last_step, step);
  if (step >= opts_.grace_period &&
      (t.steps.empty() || step > t.steps.back())) {
    t.sums.push_back((t.sums.empty() ? 0.0 : t.sums.back()) + loss);
    t.steps.push_back(step);
  }
  if (step < opts_.grace_period || step >= opts_.max_resource) return go;
  auto median = median_at(id, step);
  if (!median || !(t.best > *median)) return go;
  t.st = state::stopped;
  return {action::stop, 0};
}

void median_stop::on_complete(trial_id id, double) {
  auto& t = trials_[id];
  if (t.st == state::running) t.st = state::complete;
}

void median_stop::on_error(trial_id id) {
  trials_[id].st = state::failed;
}

work median_stop::next() {
  work w;
  w.budget = opts_.max_resource;
  return w;
}

} // namespace troupe::automl
