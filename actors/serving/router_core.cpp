// The router core's settings and status (router_core.hpp).

#include "actors/serving/router_core.hpp"

#include <algorithm>

#include "runtime/errors.hpp"
#include "schemas/serving.capnp.h"

namespace troupe::serving {

router_io::~router_io() = default;

const char* to_string(replica_phase p) {
  switch (p) {
  case replica_phase::starting:
    return "starting";
  case replica_phase::ready:
    return "ready";
  default:
    return "draining";
  }
}

double percentile(std::vector<double> xs, double q) {
  if (xs.empty()) return 0;
  auto k = static_cast<size_t>(q * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + static_cast<long>(k), xs.end());
  return xs[k];
}

schema::ReplicaState to_schema(replica_phase p) {
  switch (p) {
  case replica_phase::starting:
    return schema::ReplicaState::STARTING;
  case replica_phase::ready:
    return schema::ReplicaState::READY;
  default:
    return schema::ReplicaState::DRAINING;
  }
}

namespace {

constexpr size_t latency_window = 4096;

} // namespace

router_core::router_core(router_io& io, clock_ptr time,
                         std::shared_ptr<prediction_sink> log)
    : io_(io), clock_(time ? std::move(time) : real_clock()),
      log_(std::move(log)), logger_(log::get("serving")), load_(clock_->now()) {
}

caf::error router_core::configure(const envelope& status) {
  deployment_settings spec;
  std::map<uint32_t, uint32_t> weights;
  uint32_t stable = 0;
  auto ok = status.visit<schema::DeploymentStatus>([&](auto s) {
    spec = from_schema(s.getSpec());
    for (auto t : s.getTraffic())
      weights[t.getVersion()] = t.getWeight();
    stable = s.getStableVersion();
  });
  if (!ok) return ok.error();
  if (auto err = validate(spec)) return err;
  version_weights named;
  for (auto& [v, w] : weights)
    named[std::to_string(v)] = w;
  traffic_split split;
  if (auto err = split.set_weights(named)) return err;
  autoscaler_options opts;
  opts.min_replicas = spec.min_replicas;
  opts.max_replicas = spec.max_replicas;
  opts.target_in_flight_per_replica = spec.target_in_flight;
  opts.target_p99_ms = spec.target_p99_ms;
  opts.upscale_delay = std::chrono::milliseconds{spec.upscale_delay_ms};
  opts.downscale_delay = std::chrono::milliseconds{spec.downscale_delay_ms};
  if (auto err = validate(opts)) return err;
  spec_ = std::move(spec);
  split_ = std::move(split);
  weights_ = std::move(weights);
  stable_ = stable;
  scaler_.emplace(opts);
  if (!configured_) {
    configured_ = true;
    desired_ = spec_.min_replicas;
    metrics_ = deployment_metrics{spec_.name};
  }
  desired_ = std::clamp(desired_, spec_.min_replicas, spec_.max_replicas);
  return caf::none;
}

envelope router_core::status() const {
  return make_envelope<schema::DeploymentStatus>([&](auto b) {
    to_schema(spec_, b.initSpec());
    auto tl = b.initTraffic(static_cast<unsigned>(weights_.size()));
    unsigned i = 0;
    for (auto& [v, weight] : weights_) {
      tl[i].setVersion(v);
      tl[i].setWeight(weight);
      ++i;
    }
    auto rl = b.initReplicas(static_cast<unsigned>(replicas_.size()));
    for (unsigned k = 0; k < replicas_.size(); ++k) {
      auto& r = replicas_[k];
      rl[k].setName(r.name);
      rl[k].setNode(r.node);
      rl[k].setVersion(r.version);
      rl[k].setInFlight(r.in_flight);
      rl[k].setState(to_string(r.phase)); // deprecated, kept for old readers
      rl[k].setStateKind(to_schema(r.phase));
      rl[k].setServed(r.served);
    }
    b.setDesiredReplicas(desired_);
    b.setRequests(requests_);
    b.setRows(rows_);
    b.setErrors(errors_);
    b.setShed(shed_);
    b.setRetries(retries_);
    size_t parked_rows = 0;
    for (auto id : parked_)
      if (auto o = pending_.find(id); o != pending_.end())
        parked_rows += o->second.rows;
    b.setQueuedRows(static_cast<uint32_t>(parked_rows));
    b.setP50Us(percentile(latencies_us_, 0.5));
    b.setP99Us(percentile(latencies_us_, 0.99));
    b.setStableVersion(stable_);
  });
}

const replica_slot* router_core::find_replica(const std::string& name) const {
  for (auto& r : replicas_)
    if (r.name == name) return &r;
  return nullptr;
}

replica_slot* router_core::find(const std::string& name) {
  for (auto& r : replicas_)
    if (r.name == name) return &r;
  return nullptr;
}

std::vector<uint32_t> router_core::live_versions() const {
  std::vector<uint32_t> out;
  for (auto& [v, w] : weights_)
    if (w > 0) out.push_back(v);
  return out;
}

size_t router_core::count_replicas(uint32_t version, bool with_draining) const {
  size_t n = 0;
  for (auto& r : replicas_)
    if (r.version == version &&
        (with_draining || r.phase != replica_phase::draining))
      ++n;
  return n;
}

void router_core::record_latency(double us) {
  if (spec_.target_p99_ms > 0) tick_latencies_us_.push_back(us);
  if (latencies_us_.size() < latency_window)
    latencies_us_.push_back(us);
  else
    latencies_us_[latency_next_++ % latency_window] = us;
}

void router_core::publish_gauges() {
  uint32_t current = 0;
  for (auto& r : replicas_)
    if (r.phase != replica_phase::draining) ++current;
  metrics_.gauges(static_cast<double>(current), load_.rows);
}

} // namespace troupe::serving
