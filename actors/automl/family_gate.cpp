#include "actors/automl/family_gate.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "actors/models/model_choice.hpp"

namespace troupe::automl {

namespace {

std::string family_of(const config& c) {
  auto i = c.find(models::family_key);
  if (i == c.end()) return {};
  auto* s = std::get_if<std::string>(&i->second);
  return s ? *s : std::string{};
}

} // namespace

family_gate::family_gate(std::vector<std::string> families, direction dir,
                         size_t min_trials)
    : families_(std::move(families)), dir_(dir),
      min_trials_(std::max<size_t>(1, min_trials)) {}

std::set<std::string>
family_gate::dropped(const std::vector<trial_record>& history) const {
  std::set<std::string> out;
  if (families_.size() < 2) return out;
  bool max = dir_ == direction::maximize;
  auto better = [&](double a, double b) { return max ? a > b : a < b; };
  std::map<std::string, std::vector<double>> values;
  for (auto& t : history) {
    std::optional<double> v = t.value;
    for (auto& [step, x] : t.intermediate)
      if (std::isfinite(x) && (!v || better(x, *v))) v = x;
    if (!v || !std::isfinite(*v)) continue;
    values[family_of(t.params)].push_back(*v);
  }
  // the leader: the family of the best value
  std::string leader;
  double lead = 0;
  for (auto& [f, xs] : values)
    for (double x : xs)
      if (leader.empty() || better(x, lead)) {
        leader = f;
        lead = x;
      }
  if (leader.empty() || values[leader].size() < min_trials_) return out;
  auto lx = values[leader];
  std::sort(lx.begin(), lx.end(), better); // best first
  double median = lx[(lx.size() - 1) / 2];
  for (auto& [f, xs] : values) {
    if (f == leader || f.empty() || xs.size() < min_trials_) continue;
    double best = xs.front();
    for (double x : xs)
      if (better(x, best)) best = x;
    if (better(median, best)) out.insert(f);
  }
  return out;
}

config family_gate::choose(const std::function<config()>& draw,
                           const std::vector<trial_record>& history,
                           const search_space& space, std::mt19937_64& rng,
                           size_t tries) const {
  auto gone = dropped(history);
  if (gone.empty()) return draw();
  for (size_t i = 0; i < tries; ++i) {
    auto c = draw();
    if (!gone.count(family_of(c))) return c;
  }
  // uniform over the live families' subspaces: families are equally likely
  // in a uniform draw, so a bounded number of draws finds a live one
  for (size_t i = 0; i < 1000; ++i) {
    auto c = space.sample(rng);
    if (!gone.count(family_of(c))) return c;
  }
  return draw();
}

} // namespace troupe::automl
