#pragma once

// The rows a deployment has outstanding, averaged over time (what its
// autoscaler reads). Plain C++; reads no clock: every call takes the time.

#include <chrono>

#include "runtime/clock.hpp"

namespace troupe::serving {

/// Rows outstanding (arrived, not answered), and their average over time
/// since the last reading: what the autoscaler reads, since a count taken
/// at each tick misses the requests that come and go between ticks.
struct load_meter {
  using time_point = troupe::clock::time_point;

  double rows = 0;
  double area = 0; ///< row-seconds since `window`
  time_point since;
  time_point window;

  /// A meter with nothing outstanding since `start`.
  explicit load_meter(time_point start = {}) : since(start), window(start) {}

  /// `delta` rows arrived (> 0) or were answered (< 0) at `now`.
  void change(double delta, time_point now) {
    area += rows * std::chrono::duration<double>(now - since).count();
    since = now;
    rows += delta;
  }

  /// The average since the last call.
  double average(time_point now) {
    change(0, now);
    auto span = std::chrono::duration<double>(now - window).count();
    auto avg = span > 0 ? area / span : rows;
    area = 0;
    window = now;
    return avg;
  }
};

} // namespace troupe::serving
