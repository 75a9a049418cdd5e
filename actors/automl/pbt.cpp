#include "actors/automl/pbt.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::automl {

pbt::pbt(options o,
         std::function<config(const config&, std::mt19937_64&)> perturb)
    : opts_(o), perturb_(std::move(perturb)), rng_(o.seed) {
  opts_.population = std::max<size_t>(opts_.population, 2);
  opts_.min_resource = std::max<uint64_t>(opts_.min_resource, 1);
}

void pbt::on_trial_add(trial_id id, const config& params, int64_t) {
  member m;
  m.params = params;
  if (pending_) { // a child: it starts where its parent paused
    parents_[id] = pending_->first;
    m.step = pending_->second;
    pending_.reset();
  }
  members_[id] = std::move(m);
  ++alive_;
}

decision pbt::on_result(trial_id id, uint64_t step, double value) {
  auto it = members_.find(id);
  if (it == members_.end()) return {action::stop, 0};
  auto& m = it->second;
  m.step = step;
  m.loss = to_loss(opts_.dir, value);
  if (step >= opts_.max_resource) return {action::proceed, step};
  if (step % opts_.min_resource == 0) { // an interval's end: checkpoint
    m.paused = true;
    m.saved = step;
    return {action::pause, 0};
  }
  auto next = (step / opts_.min_resource + 1) * opts_.min_resource;
  return {action::proceed, std::min(next, opts_.max_resource)};
}

void pbt::on_complete(trial_id id, double value) {
  if (auto it = members_.find(id); it != members_.end() && it->second.alive) {
    it->second.loss = to_loss(opts_.dir, value);
    it->second.alive = false;
    it->second.paused = false;
    --alive_;
  }
}

void pbt::on_error(trial_id id) {
  if (auto it = members_.find(id); it != members_.end() && it->second.alive) {
    it->second.alive = false;
    it->second.paused = false;
    --alive_;
  }
}

std::vector<trial_id> pbt::ranking() const {
  std::vector<trial_id> out;
  for (auto& [id, m] : members_)
    if (m.alive && !std::isnan(m.loss)) out.push_back(id);
  std::stable_sort(out.begin(), out.end(), [&](trial_id a, trial_id b) {
    return members_.at(a).loss < members_.at(b).loss;
  });
  return out;
}

work pbt::next() {
  work w;
  pending_.reset(); // a child handed out and not started is forgotten
  // fill the population first
  if (alive_ < opts_.population) {
    w.what = work::kind::start;
    w.budget = std::min(opts_.min_resource, opts_.max_resource);
    return w;
  }
  // the paused member that is furthest behind goes on next
  std::optional<trial_id> chosen;
  for (auto& [id, m] : members_)
    if (m.alive && m.paused && (!chosen || m.step < members_.at(*chosen).step))
      chosen = id;
  if (!chosen) {
    w.what = work::kind::wait;
    return w;
  }
  auto& m = members_.at(*chosen);
  auto ranked = ranking();
  auto cut = std::max<size_t>(
      1, static_cast<size_t>(
             std::floor(opts_.quantile * static_cast<double>(ranked.size()))));
  auto pos = std::find(ranked.begin(), ranked.end(), *chosen) - ranked.begin();
  bool bottom =
      ranked.size() >= 2 && static_cast<size_t>(pos) >= ranked.size() - cut;
  if (bottom) {
    // exploit a top member whose last checkpoint is at least as far along
    std::vector<trial_id> donors;
    for (size_t i = 0; i < cut && i < ranked.size(); ++i) {
      auto& d = members_.at(ranked[i]);
      if (ranked[i] != *chosen && d.saved > 0 && d.saved >= m.step)
        donors.push_back(ranked[i]);
    }
    if (!donors.empty()) {
      auto parent = donors[rng_() % donors.size()];
      auto& p = members_.at(parent);
      m.alive = false;
      m.paused = false;
      --alive_;
      pruned_.push_back(*chosen);
      pending_ = std::make_pair(parent, p.saved);
      w.what = work::kind::start;
      w.params = perturb_(p.params, rng_);
      w.from = parent;
      w.budget = std::min(p.saved + opts_.min_resource, opts_.max_resource);
      return w;
    }
  }
  m.paused = false;
  w.what = work::kind::resume;
  w.id = *chosen;
  w.budget = std::min(m.step + opts_.min_resource, opts_.max_resource);
  return w;
}

std::vector<trial_id> pbt::take_pruned() {
  std::vector<trial_id> out;
  out.swap(pruned_);
  return out;
}

} // namespace troupe::automl
