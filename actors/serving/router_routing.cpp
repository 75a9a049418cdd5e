// The router core's routing: requests to the least-loaded ready replica of
// their version, answers back to their callers, retries when a replica is
// lost (router_core.hpp).

#include "actors/serving/router_core.hpp"

#include <algorithm>

#include <caf/sec.hpp>

#include "runtime/errors.hpp"
#include "schemas/serving.capnp.h"

namespace troupe::serving {

uint64_t router_core::open(const envelope& req, const router_ticket& t) {
  auto id = next_request_++;
  auto& o = pending_[id];
  o.request = req;
  o.request_id = t.request_id.empty() ? spec_.name + "-" + std::to_string(id)
                                      : t.request_id;
  o.version = t.version;
  o.rows = t.rows;
  o.arrived = clock_->now();
  load_.change(static_cast<double>(t.rows), o.arrived);
  return id;
}

void router_core::route(uint64_t id) {
  auto i = pending_.find(id);
  if (i == pending_.end()) return;
  auto& o = i->second;
  std::vector<replica_load> loads;
  for (size_t k = 0; k < replicas_.size(); ++k) {
    auto& r = replicas_[k];
    if (r.version != o.version) continue;
    loads.push_back(
        replica_load{k, r.in_flight, 0, r.phase == replica_phase::ready});
  }
  auto pick = chooser_.pick(loads);
  if (!pick) {
    parked_.push_back(id);
    return;
  }
  auto& r = replicas_[*pick];
  r.in_flight += static_cast<uint32_t>(o.rows);
  o.replica = r.name;
  o.sent = clock_->now();
  ++o.attempt;
  io_.send(router_attempt{id, o.attempt, r.name, static_cast<uint32_t>(o.rows)},
           o.request);
}

void router_core::on_answer(const router_attempt& a, const envelope& answer) {
  // What the attempt put on the replica comes off it whatever the outcome,
  // even when the request was meanwhile answered through another replica.
  if (auto* r = find(a.replica)) {
    r->in_flight -= std::min(r->in_flight, a.rows);
    r->served += a.rows;
  }
  auto i = pending_.find(a.id);
  if (i == pending_.end() || i->second.replica != a.replica ||
      i->second.attempt != a.number)
    return; // answered by another replica after a retry
  auto& p = i->second;
  auto us = std::chrono::duration<double, std::micro>(clock_->now() - p.arrived)
                .count();
  record_latency(us);
  ++requests_;
  rows_ += p.rows;
  uint32_t batch_rows = 0;
  (void)answer.visit<schema::PredictResponse>(
      [&](auto r) { batch_rows = r.getBatchRows(); });
  metrics_.answered(p.version, p.rows, us, batch_rows);
  if (log_)
    log_->submit(spec_.name, p.request, answer, static_cast<int64_t>(us),
                 spec_.log_inputs == "hash");
  io_.answer(a.id, answer);
  load_.change(-static_cast<double>(p.rows), clock_->now());
  pending_.erase(i);
  unpark();
}

void router_core::on_error(const router_attempt& a, caf::error err) {
  if (auto* r = find(a.replica)) r->in_flight -= std::min(r->in_flight, a.rows);
  auto i = pending_.find(a.id);
  if (i == pending_.end() || i->second.replica != a.replica ||
      i->second.attempt != a.number)
    return;
  if (went_away(err) || is(err, troupe::errc::shutting_down)) {
    lose_replica(a.replica, describe(err));
    return;
  }
  auto shed = is(err, errc::overloaded) || is(err, errc::too_large);
  fail(a.id, std::move(err), shed);
  unpark();
}

void router_core::replica_down(const std::string& name,
                               const std::string& why) {
  lose_replica(name, why);
}

void router_core::fail(uint64_t id, caf::error err, bool shed) {
  auto i = pending_.find(id);
  if (i == pending_.end()) return;
  if (shed) {
    ++shed_;
    metrics_.shed();
  } else {
    ++errors_;
    metrics_.errors(i->second.version);
  }
  io_.fail(id, std::move(err));
  load_.change(-static_cast<double>(i->second.rows), clock_->now());
  pending_.erase(i);
}

void router_core::unpark() {
  auto parked = std::move(parked_);
  parked_.clear();
  for (auto id : parked)
    route(id);
}

void router_core::lose_replica(std::string name, const std::string& why) {
  auto it = std::find_if(replicas_.begin(), replicas_.end(),
                         [&](auto& r) { return r.name == name; });
  if (it == replicas_.end()) return;
  logger_->warn("deployment {}: replica {} on {} lost: {}", spec_.name, name,
                it->node, why);
  replicas_.erase(it);
  std::vector<uint64_t> again;
  for (auto& [id, o] : pending_)
    if (o.replica == name) again.push_back(id);
  for (auto id : again) {
    auto& o = pending_[id];
    o.replica.clear();
    if (o.attempt >= router_max_attempts) {
      fail(id, make_error(errc::replicas_lost,
                          "request " + o.request_id + ": " +
                              std::to_string(o.attempt) +
                              " replicas were lost while serving it (last: " +
                              name + ", " + why + ")"));
      continue;
    }
    ++retries_;
    metrics_.retries();
    route(id);
  }
}

void router_core::shutdown() {
  for (auto& [id, o] : pending_)
    io_.fail(id, make_error(troupe::errc::shutting_down,
                            "deployment " + spec_.name + " stopped"));
  pending_.clear();
  parked_.clear();
  for (auto& r : replicas_)
    if (r.placed) io_.stop(r.name);
  metrics_.retire();
}

} // namespace troupe::serving
