#include "actors/serving/autoscaler.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "runtime/errors.hpp"

namespace troupe::serving {

namespace {

std::string ms_text(std::chrono::steady_clock::duration d) {
  return std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) +
         " ms";
}

/// ceil(x) as a count, saturating at `cap`; NaN and negatives give 0.
size_t ceil_count(double x, size_t cap) {
  if (!(x > 0)) return 0;
  if (x >= static_cast<double>(cap)) return cap;
  return static_cast<size_t>(std::ceil(x));
}

} // namespace

caf::error validate(const autoscaler_options& opts) {
  auto bad = [](const std::string& what) {
    return make_error(errc::invalid_argument, "autoscaler: " + what);
  };
  if (opts.min_replicas < 1)
    return bad("min_replicas must be at least 1, got 0");
  if (opts.max_replicas < opts.min_replicas)
    return bad("max_replicas (" + std::to_string(opts.max_replicas) +
               ") must be at least min_replicas (" +
               std::to_string(opts.min_replicas) + ")");
  if (!(opts.target_in_flight_per_replica > 0) ||
      !std::isfinite(opts.target_in_flight_per_replica))
    return bad("target_in_flight_per_replica must be a positive number, got " +
               std::to_string(opts.target_in_flight_per_replica));
  if (!(opts.target_p99_ms >= 0) || !std::isfinite(opts.target_p99_ms))
    return bad("target_p99_ms must be 0 (off) or positive, got " +
               std::to_string(opts.target_p99_ms));
  auto zero = autoscaler_options::duration::zero();
  if (opts.upscale_delay < zero)
    return bad("upscale_delay must not be negative, got " +
               ms_text(opts.upscale_delay));
  if (opts.downscale_delay < zero)
    return bad("downscale_delay must not be negative, got " +
               ms_text(opts.downscale_delay));
  if (!(opts.max_upscale_factor >= 1) ||
      !std::isfinite(opts.max_upscale_factor))
    return bad("max_upscale_factor must be at least 1, got " +
               std::to_string(opts.max_upscale_factor));
  if (opts.smoothing_window < zero)
    return bad("smoothing_window must not be negative, got " +
               ms_text(opts.smoothing_window));
  return {};
}

autoscaler::autoscaler(autoscaler_options opts) : opts_(opts) {
  // Invalid options are the caller's bug; keep the answers in range anyway.
  opts_.min_replicas = std::max<size_t>(opts_.min_replicas, 1);
  opts_.max_replicas = std::max(opts_.max_replicas, opts_.min_replicas);
}

void autoscaler::reset() {
  samples_.clear();
  up_since_.reset();
  down_since_.reset();
  wanted_ = 0;
}

size_t autoscaler::want(size_t current) const {
  double load = 0;
  double latency = 0;
  size_t latency_samples = 0;
  for (auto& s : samples_) {
    if (s.in_flight > 0) load += s.in_flight;
    if (s.p99_ms > 0) {
      latency += s.p99_ms;
      ++latency_samples;
    }
  }
  load /= static_cast<double>(samples_.size());
  auto cap = opts_.max_replicas;
  auto by_load = ceil_count(load / opts_.target_in_flight_per_replica, cap);
  size_t by_latency = 0;
  if (opts_.target_p99_ms > 0 && latency_samples > 0) {
    latency /= static_cast<double>(latency_samples);
    if (latency > opts_.target_p99_ms)
      by_latency =
          ceil_count(static_cast<double>(std::max<size_t>(current, 1)) *
                         latency / opts_.target_p99_ms,
                     cap);
  }
  return std::clamp(std::max(by_load, by_latency), opts_.min_replicas, cap);
}

size_t autoscaler::observe(time_point now, double in_flight, double p99_ms,
                           size_t current) {
  samples_.push_back(sample{now, in_flight, p99_ms});
  while (samples_.size() > 1 &&
         now - samples_.front().at >= opts_.smoothing_window)
    samples_.pop_front();
  wanted_ = want(current);
  auto in_range = std::clamp(current, opts_.min_replicas, opts_.max_replicas);
  if (in_range != current) {
    up_since_.reset();
    down_since_.reset();
    return in_range;
  }
  if (wanted_ > current) {
    down_since_.reset();
    if (!up_since_) up_since_ = now;
    if (now - *up_since_ < opts_.upscale_delay) return current;
    up_since_ = now; // the next scale-up waits a full delay again
    auto step =
        ceil_count(static_cast<double>(current) * opts_.max_upscale_factor,
                   opts_.max_replicas);
    return std::min(wanted_, std::max(step, current + 1));
  }
  if (wanted_ < current) {
    up_since_.reset();
    if (!down_since_) down_since_ = now;
    if (now - *down_since_ < opts_.downscale_delay) return current;
    down_since_ = now;
    return wanted_;
  }
  up_since_.reset();
  down_since_.reset();
  return current;
}

} // namespace troupe::serving
