// The router core's tick: request and attempt timeouts, then the
// autoscaler's replica count (router_core.hpp).

#include "actors/serving/router_core.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "runtime/errors.hpp"

namespace troupe::serving {

void router_core::tick() {
  auto now = clock_->now();
  // requests parked too long fail
  std::deque<uint64_t> keep;
  for (auto id : parked_) {
    auto i = pending_.find(id);
    if (i == pending_.end()) continue;
    auto& o = i->second;
    if (now - o.arrived > router_request_timeout)
      fail(id, make_error(errc::no_replica,
                          "request " + o.request_id + ": no replica of " +
                              spec_.name + " v" + std::to_string(o.version) +
                              " became ready in 30 s"));
    else
      keep.push_back(id);
  }
  parked_ = std::move(keep);
  // a replica that has not answered an attempt in time is stuck: stop it
  // and retry its requests elsewhere
  std::set<std::string> stuck;
  for (auto& [id, o] : pending_)
    if (!o.replica.empty() && now - o.sent > router_request_timeout)
      stuck.insert(o.replica);
  for (auto& name : stuck) {
    io_.stop(name);
    lose_replica(name, "no answer in 30 s");
  }
  // The p99 of the requests answered since the last tick, for a latency
  // target (none answered: 0, no data and no vote); the upscale delay
  // asks for it to stay high.
  double p99_ms =
      percentile(std::exchange(tick_latencies_us_, {}), 0.99) / 1000.0;
  desired_ = static_cast<uint32_t>(scaler_->observe(
      now, load_.average(now), p99_ms, std::max<uint32_t>(desired_, 1)));
  reconcile();
}

} // namespace troupe::serving
