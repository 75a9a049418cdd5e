#include "actors/serving/traffic.hpp"

#include "runtime/errors.hpp"

namespace troupe::serving {

namespace {

caf::error bad(const std::string& what) {
  return make_error(errc::invalid_argument, "traffic split: " + what);
}

} // namespace

caf::error validate(const version_weights& weights) {
  if (weights.empty()) return bad("no versions given");
  bool any_positive = false;
  for (auto& [version, weight] : weights) {
    if (version.empty())
      return bad("a version name is empty (weight " + std::to_string(weight) +
                 ")");
    if (weight < 0)
      return bad("weight of version '" + version +
                 "' must not be negative, got " + std::to_string(weight));
    if (weight > max_version_weight)
      return bad("weight of version '" + version + "' is " +
                 std::to_string(weight) + ", above the maximum " +
                 std::to_string(max_version_weight));
    any_positive = any_positive || weight > 0;
  }
  if (!any_positive) {
    std::string names;
    for (auto& kv : weights)
      names += (names.empty() ? "'" : ", '") + kv.first + "'";
    return bad("at least one version needs a positive weight; " + names +
               (weights.size() == 1 ? " has weight 0" : " all have weight 0"));
  }
  return {};
}

caf::error traffic_split::set_weights(const version_weights& weights) {
  if (auto err = validate(weights)) return err;
  weights_ = weights;
  entries_.clear();
  total_ = 0;
  for (auto& [version, weight] : weights) {
    if (weight == 0) continue;
    entries_.push_back(entry{version, weight, 0});
    total_ += weight;
  }
  if (entries_.size() == 1)
    stable_ = entries_.front().version;
  else if (stable_ && weights_.count(*stable_) == 0)
    stable_.reset();
  return {};
}

std::optional<std::string> traffic_split::pick() {
  if (entries_.empty()) return std::nullopt;
  entry* best = nullptr;
  for (auto& e : entries_) {
    e.score += e.weight;
    if (best == nullptr || e.score > best->score) best = &e;
  }
  best->score -= total_;
  return best->version;
}

caf::error traffic_split::promote(const std::string& version) {
  if (weights_.count(version) == 0)
    return make_error(errc::not_found,
                      "traffic split: cannot promote unknown version '" +
                          version + "'");
  auto all = weights_;
  for (auto& kv : all)
    kv.second = kv.first == version ? 100 : 0;
  return set_weights(all);
}

caf::error traffic_split::rollback() {
  if (!stable_)
    return make_error(errc::not_found,
                      "traffic split: no stable version to roll back to");
  auto all = weights_;
  for (auto& kv : all)
    kv.second = 0;
  all[*stable_] = 100;
  return set_weights(all);
}

std::optional<uint64_t>
least_loaded::pick(const std::vector<replica_load>& replicas) {
  const replica_load* best = nullptr;
  // Among equal loads, prefer the smallest id after the last pick; failing
  // that, the smallest id overall.
  auto after_last = [this](const replica_load& r) {
    return last_ && r.id > *last_;
  };
  auto better = [&](const replica_load& r) {
    auto load = r.in_flight + r.queued;
    auto best_load = best->in_flight + best->queued;
    if (load != best_load) return load < best_load;
    if (after_last(r) != after_last(*best)) return after_last(r);
    return r.id < best->id;
  };
  for (auto& r : replicas) {
    if (!r.healthy) continue;
    if (best == nullptr || better(r)) best = &r;
  }
  if (best == nullptr) return std::nullopt;
  last_ = best->id;
  return best->id;
}

} // namespace troupe::serving
