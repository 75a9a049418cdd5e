#include "actors/automl/asha.hpp"

#include <algorithm>
#include <iterator>

#include "actors/automl/pareto.hpp"

namespace troupe::automl {

asha::asha(options opts) : opts_(opts) {
  for (uint64_t m = std::max<uint64_t>(opts_.min_resource, 1);
       m < opts_.max_resource; m *= std::max<uint64_t>(opts_.eta, 2))
    milestones_.push_back(m);
}

void asha::on_trial_add(trial_id id, const config& params, int64_t) {
  trial_info t;
  if (auto i = params.find("family"); i != params.end())
    if (auto* f = std::get_if<std::string>(&i->second)) t.group = *f;
  trials_.emplace(id, std::move(t));
}

asha::trial_info& asha::info(trial_id id) {
  // Trials the study never announced are adopted at their first report.
  return trials_.try_emplace(id).first->second;
}

std::vector<asha::rung>& asha::rungs_of(trial_id id) {
  auto& r = rungs_[info(id).group];
  if (r.size() != milestones_.size()) r.resize(milestones_.size());
  return r;
}

size_t asha::recorded(size_t k) const {
  size_t n = 0;
  for (auto& [g, r] : rungs_)
    n += r.at(k).results.size();
  return n;
}

size_t asha::promoted(size_t k) const {
  size_t n = 0;
  for (auto& [g, r] : rungs_)
    n += r.at(k).promoted.size();
  return n;
}

uint64_t asha::budget_of(size_t k) const {
  return k < milestones_.size() ? milestones_[k] : opts_.max_resource;
}

void asha::record(size_t k, trial_id id, double loss) {
  auto& r = rungs_of(id)[k];
  if (r.results.emplace(id, loss).second) r.ranked.emplace(loss, id);
}

decision asha::on_result(trial_id id, uint64_t step, double value) {
  auto& t = info(id);
  if (t.st == state::stopped || t.st == state::failed) return {action::stop, 0};
  if (t.st == state::paused) return {action::pause, 0};
  if (step >= opts_.max_resource) return {action::proceed, opts_.max_resource};
  auto loss = to_loss(opts_.dir, value);
  return opts_.mode == asha_mode::stop ? on_result_stop(id, t, step, loss)
                                       : on_result_promote(id, t, step, loss);
}

decision asha::on_result_stop(trial_id id, trial_info& t, uint64_t step,
                              double loss) {
  // The next rung above the step, where the trial must report next.
  auto above = std::upper_bound(milestones_.begin(), milestones_.end(), step);
  decision go{action::proceed,
              budget_of(static_cast<size_t>(above - milestones_.begin()))};
  if (above == milestones_.begin()) return go;
  // Judge only at the highest rung passed, once (Ray's _Bracket.on_result).
  auto k = static_cast<size_t>(above - milestones_.begin()) - 1;
  auto& r = rungs_of(id)[k];
  if (r.results.count(id) != 0) return go;
  record(k, id, loss);
  auto keep = std::max<size_t>(1, r.results.size() / opts_.eta);
  auto rank = static_cast<size_t>(
      std::distance(r.ranked.begin(), r.ranked.find({loss, id})));
  if (rank < keep) return go;
  t.st = state::stopped;
  return {action::stop, 0};
}

decision asha::on_result_promote(trial_id id, trial_info& t, uint64_t step,
                                 double loss) {
  auto target = budget_of(t.rung);
  if (step < target || t.rung >= milestones_.size())
    return {action::proceed, target};
  record(t.rung, id, loss);
  t.st = state::paused;
  return {action::pause, 0};
}

void asha::on_complete(trial_id id, double) {
  info(id).st = state::complete;
}

void asha::on_error(trial_id id) {
  info(id).st = state::failed;
  latest_.erase(id);
}

std::vector<trial_id> asha::ranked_ids(const std::vector<rung>& rungs,
                                       size_t k) const {
  auto& r = rungs[k];
  std::vector<trial_id> ids;
  if (r.losses.empty()) {
    for (auto& [loss, id] : r.ranked)
      ids.push_back(id);
    return ids;
  }
  std::vector<std::vector<double>> points;
  for (auto& [id, l] : r.losses) {
    ids.push_back(id);
    points.push_back(l);
  }
  std::vector<trial_id> out;
  for (auto i : nds_order(points, ids))
    out.push_back(ids[i]);
  return out;
}

bool asha::on_front(trial_id id, const std::vector<double>& losses) const {
  for (auto& [other, l] : latest_)
    if (other != id && dominates(l, losses)) return false;
  return true;
}

decision asha::on_result_objectives(trial_id id, uint64_t step,
                                    const std::vector<double>& values) {
  if (values.size() < 2)
    return on_result(id, step, values.empty() ? std::nan("") : values[0]);
  auto& t = info(id);
  if (t.st == state::stopped || t.st == state::failed) return {action::stop, 0};
  if (t.st == state::paused) return {action::pause, 0};
  if (step >= opts_.max_resource) return {action::proceed, opts_.max_resource};
  auto losses = to_losses(opts_.dir, values);
  if (opts_.mode == asha_mode::promote) {
    auto target = budget_of(t.rung);
    if (step < target || t.rung >= milestones_.size())
      return {action::proceed, target};
    record(t.rung, id, losses[0]);
    rungs_of(id)[t.rung].losses.emplace(id, losses);
    latest_[id] = losses;
    t.st = state::paused;
    return {action::pause, 0};
  }
  auto above = std::upper_bound(milestones_.begin(), milestones_.end(), step);
  decision go{action::proceed,
              budget_of(static_cast<size_t>(above - milestones_.begin()))};
  if (above == milestones_.begin()) return go;
  // Judged once, at the highest rung passed, as in the single-objective rule.
  auto k = static_cast<size_t>(above - milestones_.begin()) - 1;
  auto& rs = rungs_of(id);
  auto& r = rs[k];
  if (r.results.count(id) != 0) return go;
  record(k, id, losses[0]);
  r.losses.emplace(id, losses);
  latest_[id] = losses;
  auto keep = std::max<size_t>(1, r.results.size() / opts_.eta);
  auto order = ranked_ids(rs, k);
  auto rank = static_cast<size_t>(std::find(order.begin(), order.end(), id) -
                                  order.begin());
  if (rank < keep || on_front(id, losses)) return go;
  t.st = state::stopped;
  return {action::stop, 0};
}

void asha::on_complete_objectives(trial_id id,
                                  const std::vector<double>& values) {
  if (values.size() >= 2) latest_[id] = to_losses(opts_.dir, values);
  info(id).st = state::complete;
}

work asha::next() {
  work w;
  if (opts_.mode == asha_mode::promote) {
    // get_job: promote from the highest rung that has a candidate (of
    // any group).
    for (size_t k = milestones_.size(); k-- > 0;) {
      for (auto& [group, rs] : rungs_) {
        auto& r = rs[k];
        auto top = r.results.size() / opts_.eta;
        if (top == 0) continue;
        auto order = ranked_ids(rs, k);
        for (size_t i = 0; i < top && i < order.size(); ++i) {
          auto id = order[i];
          auto& t = trials_.at(id);
          if (r.promoted.count(id) != 0 || t.st != state::paused) continue;
          r.promoted.insert(id);
          t.st = state::running;
          t.rung = k + 1;
          w.what = work::kind::resume;
          w.id = id;
          w.budget = budget_of(k + 1);
          return w;
        }
      }
    }
  }
  w.what = work::kind::start;
  w.budget = budget_of(0);
  return w;
}

} // namespace troupe::automl
