#pragma once

// Time as troupe's timed decisions read it, injected rather than read from
// the system (as KJ's Timer and Ray's fake clocks are): a monotonic clock for
// durations and deadlines, and the wall clock for what journals and people
// see. Production code is given real_clock(); tests give a manual_clock that
// moves only when told, so a decision that waits for time can be driven
// without sleeping.
//
// Timers stay CAF's (delayed_send): the deterministic test coordinator moves
// them with the same advance that moves a manual_clock
// (tests/actors/fixture.hpp).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace troupe {

/// The clocks a timed decision reads. Implementations are thread-safe: an
/// actor and its engine thread may read one clock.
class clock {
public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~clock();

  /// Monotonic time: only differences mean anything.
  virtual time_point now() const = 0;

  /// Wall-clock milliseconds since the Unix epoch (UTC).
  virtual int64_t wall_ms() const = 0;
};

/// A shared, read-only clock, as actors and engines hold it.
using clock_ptr = std::shared_ptr<const clock>;

/// The system's clocks: std::chrono::steady_clock and system_clock.
clock_ptr real_clock();

/// A clock that stands still until advance() or set_wall_ms(); both of its
/// readings move together. Starts at monotonic time 1 h (so that "an hour
/// ago" is still a valid time point) and wall time 2024-01-01T00:00:00Z.
class manual_clock final : public clock {
public:
  static constexpr int64_t default_wall_ms = 1704067200000;

  manual_clock();

  time_point now() const override;
  int64_t wall_ms() const override;

  /// Moves both readings forward by `d` (d >= 0).
  void advance(duration d);

  /// Sets the wall clock (the monotonic one keeps its reading).
  void set_wall_ms(int64_t ms);

private:
  std::atomic<int64_t> mono_ns_;
  std::atomic<int64_t> wall_ns_;
};

} // namespace troupe
