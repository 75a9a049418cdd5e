#pragma once

// The replica count of a deployment, decided from its load (Ray Serve's
// autoscaling policy and the Kubernetes HPA rule).
//
// At every tick the caller reports the deployment's requests in flight
// (queued plus running, summed over its replicas), its p99 latency and its
// current replica count. Over the samples of the last smoothing_window the
// autoscaler averages both metrics and computes the wanted count:
//
//   by load    = ceil(in_flight / target_in_flight_per_replica)
//              (= ceil(current · per-replica load / target), HPA's rule)
//   by latency = ceil(current · p99 / target_p99_ms) when the target is set
//                and p99 exceeds it, otherwise no vote (latency never argues
//                for fewer replicas: it does not fall in proportion to load)
//   wanted     = clamp(max(by load, by latency), min_replicas, max_replicas)
//
// The answer changes only when the wanted count stays on one side of the
// current count for a whole delay: above it for upscale_delay, below it for
// downscale_delay. Any tick that wants the current count, or the other
// direction, restarts the wait; so a spike shorter than the delay does
// nothing. A scale-up adds at most max_upscale_factor times the current
// count (at least one replica); a scale-down goes straight to the wanted
// count. After a scaling action the wait starts over from that moment, so
// the next action in the same direction comes one full delay later at the
// earliest (the cooldown). A current count outside [min, max] is corrected
// at once.
//
// The autoscaler reads no clock: observe() takes the time.

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

#include <caf/error.hpp>

namespace troupe::serving {

/// Settings of an autoscaler.
struct autoscaler_options {
  using duration = std::chrono::steady_clock::duration;
  /// Fewest replicas (at least 1).
  size_t min_replicas = 1;
  /// Most replicas (at least min_replicas).
  size_t max_replicas = 1;
  /// Requests in flight (queued plus running) per replica to aim for (> 0).
  double target_in_flight_per_replica = 4.0;
  /// p99 latency to stay under, in milliseconds; 0 turns it off.
  double target_p99_ms = 0.0;
  /// How long more replicas must be wanted before adding them.
  duration upscale_delay = std::chrono::seconds(5);
  /// How long fewer replicas must be wanted before removing them.
  duration downscale_delay = std::chrono::seconds(30);
  /// A scale-up reaches at most ceil(current · factor) replicas, and at
  /// least current + 1 (>= 1; 2 means "at most double").
  double max_upscale_factor = 2.0;
  /// The metrics are averaged over the samples of this window; 0 uses the
  /// latest sample only.
  duration smoothing_window = duration::zero();
};

/// Checks autoscaler options; the error names the bad setting.
caf::error validate(const autoscaler_options& opts);

/// Decides a deployment's replica count from its load, one tick at a time.
class autoscaler {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Requires valid options (see validate()).
  explicit autoscaler(autoscaler_options opts);

  /// Takes one tick's sample and answers the replica count the deployment
  /// should have, in [min_replicas, max_replicas]. `in_flight`: requests
  /// queued plus running over all replicas. `p99_ms`: the latest p99
  /// latency; 0 or less means "no data" (e.g. no requests). `current`: the
  /// count the deployment is set to (the last answer applied, not only the
  /// replicas already up). Times must not go backwards.
  size_t observe(time_point now, double in_flight, double p99_ms,
                 size_t current);

  /// The count the last observe() wanted before delays and step limits.
  size_t wanted() const { return wanted_; }

  /// Forgets samples and pending waits, e.g. after a manual scale.
  void reset();

  const autoscaler_options& options() const { return opts_; }

private:
  struct sample {
    time_point at;
    double in_flight;
    double p99_ms;
  };

  size_t want(size_t current) const;

  autoscaler_options opts_;
  std::deque<sample> samples_;
  /// Since when more (or fewer) replicas have been wanted without a break.
  std::optional<time_point> up_since_;
  std::optional<time_point> down_since_;
  size_t wanted_ = 0;
};

} // namespace troupe::serving
