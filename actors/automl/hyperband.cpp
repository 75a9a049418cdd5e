#include "actors/automl/hyperband.hpp"

#include <algorithm>

namespace troupe::automl {

// -- hyperband ---------------------------------------------------------------

std::vector<bracket_plan> hyperband::plan(const budget_options& opts) {
  auto eta = std::max<uint64_t>(opts.eta, 2);
  auto r = std::max<uint64_t>(opts.min_resource, 1);
  auto R = std::max(opts.max_resource, r);
  // s_max = ⌊log_η(R/r)⌋, in integers: the largest s with r·η^s <= R.
  std::vector<uint64_t> pow{1};
  while (r * pow.back() * eta <= R)
    pow.push_back(pow.back() * eta);
  auto s_max = static_cast<int>(pow.size()) - 1;
  std::vector<bracket_plan> result;
  for (int s = s_max; s >= 0; --s) {
    bracket_plan b;
    b.s = s;
    // n = ⌈(s_max+1)·η^s / (s+1)⌉
    auto num = static_cast<uint64_t>(s_max + 1) * pow[s];
    auto den = static_cast<uint64_t>(s + 1);
    auto n = (num + den - 1) / den;
    for (int i = 0; i <= s; ++i) {
      b.sizes.push_back(n / pow[i]);
      // R·η^(i-s), rounded half up, at least 1.
      auto budget = (2 * R * pow[i] + pow[s]) / (2 * pow[s]);
      b.budgets.push_back(std::max<uint64_t>(budget, 1));
    }
    result.push_back(std::move(b));
  }
  return result;
}

hyperband::hyperband(options opts) : opts_(opts), plan_(plan(opts)) {}

int64_t hyperband::bracket_of(trial_id id) const {
  auto it = trials_.find(id);
  return it == trials_.end() ? -1 : it->second.bracket;
}

int hyperband::s_of(int64_t bracket) const {
  auto n = static_cast<int64_t>(plan_.size());
  return plan_[static_cast<size_t>(((bracket % n) + n) % n)].s;
}

int64_t hyperband::filling() {
  if (!brackets_.empty()) {
    auto& [serial, last] = *brackets_.rbegin();
    if (last.added < last.n) return serial;
  }
  auto per_iteration = static_cast<int64_t>(plan_.size());
  if (opts_.iterations != 0 &&
      next_bracket_ >= static_cast<int64_t>(opts_.iterations) * per_iteration)
    return -1;
  auto& p = plan_[static_cast<size_t>(next_bracket_ % per_iteration)];
  bracket b;
  b.s = p.s;
  b.n = p.sizes.front();
  for (size_t i = 0; i < p.sizes.size(); ++i) {
    rung r;
    r.budget = p.budgets[i];
    r.planned = p.sizes[i];
    b.rungs.push_back(std::move(r));
  }
  brackets_.emplace(next_bracket_, std::move(b));
  return next_bracket_++;
}

void hyperband::on_trial_add(trial_id id, const config&, int64_t bracket) {
  if (trials_.count(id) != 0) return;
  auto it = brackets_.find(bracket);
  if (it == brackets_.end() || it->second.added >= it->second.n)
    it = brackets_.find(filling());
  if (it == brackets_.end()) {
    // No bracket wants more trials: this one is stopped at its first report.
    trials_.emplace(id, trial_info{-1, 0, state::stopped});
    return;
  }
  auto& b = it->second;
  ++b.added;
  b.rungs.front().members.insert(id);
  trials_.emplace(id, trial_info{it->first, 0, state::running});
}

decision hyperband::on_result(trial_id id, uint64_t step, double value) {
  auto it = trials_.find(id);
  if (it == trials_.end()) return {action::stop, 0};
  auto& t = it->second;
  if (t.st == state::paused || t.st == state::queued) return {action::pause, 0};
  if (t.st != state::running) return {action::stop, 0};
  auto& b = brackets_.at(t.bracket);
  auto& r = b.rungs[t.rung];
  if (step < r.budget || r.results.count(id) != 0)
    return {action::proceed, r.budget};
  r.results.emplace(id, to_loss(opts_.dir, value));
  observe(id, r.budget, value);
  auto last = t.rung + 1 == b.rungs.size();
  if (!last) t.st = state::paused;
  auto promoted = try_close(t.bracket, t.rung, id);
  if (last) return {action::proceed, r.budget};
  if (promoted) return {action::proceed, b.rungs[t.rung].budget};
  if (t.st == state::stopped) return {action::stop, 0};
  return {action::pause, 0};
}

bool hyperband::try_close(int64_t serial, size_t i,
                          std::optional<trial_id> reporter) {
  auto& b = brackets_.at(serial);
  auto& r = b.rungs[i];
  if (r.closed || b.finished) return false;
  if (i == 0 && b.added < b.n) return false;
  if (r.results.size() + r.gone.size() < r.members.size()) return false;
  r.closed = true;
  if (i + 1 == b.rungs.size()) {
    b.finished = true;
    return false;
  }
  std::vector<std::pair<double, trial_id>> ranked;
  for (auto& [id, loss] : r.results)
    ranked.emplace_back(loss, id);
  std::sort(ranked.begin(), ranked.end());
  auto& up = b.rungs[i + 1];
  auto keep = std::min<size_t>(up.planned, ranked.size());
  if (keep == 0) b.finished = true;
  auto reporter_promoted = false;
  for (size_t k = 0; k < ranked.size(); ++k) {
    auto id = ranked[k].second;
    auto& t = trials_.at(id);
    auto is_reporter = reporter && *reporter == id;
    if (k < keep) {
      up.members.insert(id);
      t.rung = i + 1;
      if (is_reporter) {
        t.st = state::running;
        reporter_promoted = true;
      } else {
        t.st = state::queued;
        resumes_.emplace_back(id, up.budget);
      }
    } else {
      t.st = state::stopped;
      if (!is_reporter) pruned_.push_back(id);
    }
  }
  return reporter_promoted;
}

void hyperband::leave_rung(trial_id id, trial_info& t) {
  if (t.bracket < 0) return;
  auto& r = brackets_.at(t.bracket).rungs[t.rung];
  if (r.closed) return;
  r.results.erase(id);
  r.gone.insert(id);
  try_close(t.bracket, t.rung, std::nullopt);
}

void hyperband::on_complete(trial_id id, double) {
  auto it = trials_.find(id);
  if (it == trials_.end()) return;
  auto& t = it->second;
  if (t.st == state::stopped || t.st == state::failed ||
      t.st == state::complete)
    return;
  t.st = state::complete;
  // A trial that ends before its rung's budget leaves the rung.
  if (t.bracket >= 0 &&
      brackets_.at(t.bracket).rungs[t.rung].results.count(id) == 0)
    leave_rung(id, t);
}

void hyperband::on_error(trial_id id) {
  auto it = trials_.find(id);
  if (it == trials_.end()) return;
  auto& t = it->second;
  auto was = t.st;
  t.st = state::failed;
  if (was != state::stopped && was != state::failed && was != state::complete)
    leave_rung(id, t);
}

work hyperband::next() {
  work w;
  while (!resumes_.empty()) {
    auto [id, budget] = resumes_.front();
    resumes_.pop_front();
    auto& t = trials_.at(id);
    if (t.st != state::queued) continue;
    t.st = state::running;
    w.what = work::kind::resume;
    w.id = id;
    w.budget = budget;
    return w;
  }
  auto serial = filling();
  if (serial >= 0) {
    w.what = work::kind::start;
    w.budget = brackets_.at(serial).rungs.front().budget;
    w.bracket = serial;
    w.params = propose();
    return w;
  }
  auto busy = std::any_of(brackets_.begin(), brackets_.end(),
                          [](auto& kv) { return !kv.second.finished; });
  w.what = busy ? work::kind::wait : work::kind::done;
  return w;
}

std::vector<trial_id> hyperband::take_pruned() {
  std::vector<trial_id> result;
  result.swap(pruned_);
  return result;
}

// -- bohb --------------------------------------------------------------------

bohb::bohb(options opts, config_sources sources)
    : hyperband(opts), random_fraction_(opts.random_fraction),
      min_observations_(opts.min_observations), sources_(std::move(sources)),
      rng_(opts.seed) {}

void bohb::on_trial_add(trial_id id, const config& params, int64_t bracket) {
  params_.emplace(id, params);
  hyperband::on_trial_add(id, params, bracket);
}

std::map<uint64_t, size_t> bohb::observation_counts() const {
  std::map<uint64_t, size_t> result;
  for (auto& [budget, records] : observations_)
    result.emplace(budget, records.size());
  return result;
}

std::optional<config> bohb::propose() {
  // The model is fitted at the largest budget with enough results.
  for (auto it = observations_.rbegin(); it != observations_.rend(); ++it) {
    if (it->second.size() < min_observations_) continue;
    auto u = static_cast<double>(rng_() >> 11) * 0x1.0p-53; // [0, 1)
    if (u < random_fraction_) break;
    return sources_.model(it->first, it->second);
  }
  return sources_.random();
}

void bohb::observe(trial_id id, uint64_t budget, double value) {
  trial_record rec;
  rec.id = id;
  auto p = params_.find(id);
  if (p != params_.end()) rec.params = p->second;
  rec.state = trial_state::complete;
  rec.intermediate.emplace(budget, value);
  rec.value = value;
  observations_[budget].push_back(std::move(rec));
}

} // namespace troupe::automl
