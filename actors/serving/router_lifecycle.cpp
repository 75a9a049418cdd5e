// The router core's replica lifecycle: starting replicas of the live
// versions, retiring the ones not needed, draining before stopping
// (router_core.hpp).

#include "actors/serving/router_core.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/errors.hpp"
#include "schemas/serving.capnp.h"

namespace troupe::serving {

void router_core::model_fetched(uint32_t version,
                                caf::expected<envelope> model) {
  fetching_[version] = false;
  if (!model) {
    logger_->error("deployment {}: cannot fetch {} v{}: {}", spec_.name,
                   spec_.model, version, describe(model.error()));
    return;
  }
  models_[version] = std::move(*model);
}

void router_core::start_replica(uint32_t version) {
  if (auto b = start_after_.find(version);
      b != start_after_.end() && clock_->now() < b->second)
    return;
  auto m = models_.find(version);
  if (m == models_.end()) {
    if (fetching_[version]) return;
    fetching_[version] = true;
    io_.fetch(spec_.model, version);
    return;
  }
  auto name = "serving." + spec_.name + ".v" + std::to_string(version) + "." +
              std::to_string(next_replica_++);
  replicas_.push_back(
      replica_slot{name, "", version, false, replica_phase::starting, 0, 0});
  auto spec = make_envelope<schema::DeploymentSpec>(
      [&](auto b) { to_schema(spec_, b); });
  io_.start(name, m->second, spec);
}

bool router_core::replica_placed(const std::string& name,
                                 const std::string& node) {
  auto* r = find(name);
  if (!r) return false;
  r->placed = true;
  r->node = node;
  return true;
}

void router_core::replica_ready(const std::string& name) {
  auto* r = find(name);
  if (!r) return;
  r->phase = replica_phase::ready;
  publish_gauges();
  logger_->info("deployment {}: replica {} ready on {}", spec_.name, name,
                r->node);
  unpark();
}

void router_core::replica_start_failed(const std::string& name,
                                       const std::string& why) {
  auto it = std::find_if(replicas_.begin(), replicas_.end(),
                         [&](auto& r) { return r.name == name; });
  if (it == replicas_.end()) return;
  logger_->warn("deployment {}: replica {} did not start: {}; next try in "
                "{} ms",
                spec_.name, name, why,
                std::chrono::milliseconds{router_start_backoff}.count());
  start_after_[it->version] = clock_->now() + router_start_backoff;
  auto placed = it->placed;
  replicas_.erase(it);
  if (placed) io_.stop(name);
}

void router_core::retire_replica(const std::string& name) {
  auto* r = find(name);
  if (!r || r->phase == replica_phase::draining) return;
  if (!r->placed) { // still starting: forget it
    replicas_.erase(std::find_if(replicas_.begin(), replicas_.end(),
                                 [&](auto& x) { return x.name == name; }));
    return;
  }
  r->phase = replica_phase::draining;
  logger_->info("deployment {}: draining replica {}", spec_.name, name);
  io_.drain(name);
}

void router_core::replica_drained(const std::string& name) {
  io_.stop(name);
  auto it = std::find_if(replicas_.begin(), replicas_.end(),
                         [&](auto& x) { return x.name == name; });
  if (it != replicas_.end()) replicas_.erase(it);
}

std::map<uint32_t, uint32_t> router_core::targets() const {
  std::map<uint32_t, uint32_t> out;
  auto live = live_versions();
  uint64_t total_weight = 0;
  for (auto v : live)
    total_weight += weights_.at(v);
  for (auto v : live) {
    auto share = static_cast<double>(desired_) *
                 static_cast<double>(weights_.at(v)) /
                 static_cast<double>(total_weight);
    out[v] = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(share)));
  }
  return out;
}

void router_core::reconcile() {
  auto want = targets();
  for (auto& [v, n] : want) {
    auto have = count_replicas(v, false);
    for (auto k = have; k < n; ++k)
      start_replica(v);
    if (have > n) {
      // retire the idlest ones (never below the target)
      std::vector<replica_slot*> mine;
      for (auto& r : replicas_)
        if (r.version == v && r.phase != replica_phase::draining)
          mine.push_back(&r);
      std::sort(mine.begin(), mine.end(), [](auto* a, auto* b) {
        return (a->phase == replica_phase::ready) <
                   (b->phase == replica_phase::ready) ||
               ((a->phase == replica_phase::ready) ==
                    (b->phase == replica_phase::ready) &&
                a->in_flight < b->in_flight);
      });
      std::vector<std::string> names;
      for (size_t k = 0; k < have - n; ++k)
        names.push_back(mine[k]->name);
      for (auto& name : names)
        retire_replica(name);
    }
  }
  // Versions that lost their traffic keep their replicas until every
  // version that has traffic has a ready one: a promotion or a rollback
  // never leaves the deployment without a replica to answer.
  bool live_ready = std::all_of(want.begin(), want.end(), [&](auto& vn) {
    return std::any_of(replicas_.begin(), replicas_.end(), [&](auto& r) {
      return r.version == vn.first && r.phase == replica_phase::ready;
    });
  });
  std::vector<std::string> old;
  for (auto& r : replicas_)
    if (!want.count(r.version) && r.phase != replica_phase::draining &&
        (live_ready || r.phase != replica_phase::ready))
      old.push_back(r.name);
  for (auto& name : old)
    retire_replica(name);
  publish_gauges();
}

} // namespace troupe::serving
