#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <tuple>
#include <vector>

#include "actors/serving/autoscaler.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using namespace troupe::serving;
using namespace std::chrono_literals;

namespace {

using time_point = std::chrono::steady_clock::time_point;

const time_point t0{};

autoscaler_options opts(size_t min, size_t max) {
  autoscaler_options o;
  o.min_replicas = min;
  o.max_replicas = max;
  o.target_in_flight_per_replica = 4;
  o.upscale_delay = 5s;
  o.downscale_delay = 30s;
  o.max_upscale_factor = 2;
  return o;
}

/// A scaling action: at second `at`, from `from` replicas to `to`.
using change = std::tuple<int, size_t, size_t>;

/// A deployment ticked once a second, applying every answer at once. The
/// load function gets the second and the current replica count and answers
/// (in flight, p99 ms).
struct deployment {
  using load_fn = std::function<std::pair<double, double>(int, size_t)>;

  deployment(autoscaler_options o, size_t start) : scaler(o), replicas(start) {}

  void run(int from, int to, const load_fn& load) {
    for (int s = from; s < to; ++s) {
      auto [in_flight, p99] = load(s, replicas);
      auto next = scaler.observe(t0 + std::chrono::seconds(s), in_flight, p99,
                                 replicas);
      if (next != replicas) changes.emplace_back(s, replicas, next);
      replicas = next;
      highest = std::max(highest, replicas);
      lowest = std::min(lowest, replicas);
    }
  }

  autoscaler scaler;
  size_t replicas;
  size_t highest = 0;
  size_t lowest = SIZE_MAX;
  std::vector<change> changes;
};

} // namespace

TEST_CASE("a burst scales up step by step after the upscale delay, and back "
          "down to min only after the downscale delay",
          "[serving][autoscaler]") {
  deployment d{opts(1, 10), 1};
  // 30 s of 200 requests in flight: 50 times the target of one replica.
  d.run(0, 30, [](int, size_t) { return std::pair{200.0, 0.0}; });
  // Up at most doubling, one delay apart, and never past max.
  std::vector<change> up{{5, 1, 2}, {10, 2, 4}, {15, 4, 8}, {20, 8, 10}};
  CHECK(d.changes == up);
  CHECK(d.scaler.wanted() == 10);
  // The burst is over: nothing in flight.
  d.run(30, 120, [](int, size_t) { return std::pair{0.0, 0.0}; });
  auto all = up;
  all.emplace_back(60, 10, 1);
  CHECK(d.changes == all);
  CHECK(d.highest == 10);
  CHECK(d.replicas == 1);
}

TEST_CASE("a spike shorter than the upscale delay does nothing",
          "[serving][autoscaler]") {
  deployment d{opts(1, 10), 2};
  // At target (8 in flight for 2 replicas), with 4 s spikes of 10x the
  // target and one ordinary second between them.
  d.run(0, 120, [](int s, size_t n) {
    bool spike = s >= 10 && s % 5 != 0;
    return std::pair{spike ? 80.0 : 4.0 * static_cast<double>(n), 0.0};
  });
  CHECK(d.changes.empty());
  CHECK(d.replicas == 2);
}

TEST_CASE("a lull shorter than the downscale delay does nothing",
          "[serving][autoscaler]") {
  deployment d{opts(1, 10), 4};
  d.run(0, 200, [](int s, size_t) {
    bool lull = (s / 30) % 2 == 1 && s % 30 != 29; // 29 s idle, 1 s busy
    return std::pair{lull ? 0.0 : 16.0, 0.0};
  });
  CHECK(d.changes.empty());
  CHECK(d.replicas == 4);
}

TEST_CASE("the replica count stays within min and max",
          "[serving][autoscaler]") {
  SECTION("a count below min is raised at once") {
    deployment d{opts(2, 3), 0};
    d.run(0, 100, [](int, size_t) { return std::pair{0.0, 0.0}; });
    CHECK(d.changes == std::vector<change>{{0, 0, 2}});
    CHECK(d.replicas == 2);
  }
  SECTION("a count above max is lowered at once") {
    deployment d{opts(2, 3), 7};
    d.run(0, 100, [](int, size_t) { return std::pair{1000.0, 0.0}; });
    CHECK(d.changes == std::vector<change>{{0, 7, 3}});
    CHECK(d.replicas == 3);
  }
  SECTION("load far beyond the target stops at max") {
    deployment d{opts(2, 3), 2};
    d.run(0, 100, [](int, size_t) { return std::pair{1e9, 0.0}; });
    CHECK(d.changes == std::vector<change>{{5, 2, 3}});
  }
}

TEST_CASE("a p99 latency over its target scales up when the target is set",
          "[serving][autoscaler]") {
  // Load exactly at target, but p99 at 2.5 times its target.
  auto load = [](int, size_t n) {
    return std::pair{4.0 * static_cast<double>(n), 250.0};
  };
  SECTION("latency target off: nothing happens") {
    deployment d{opts(1, 10), 2};
    d.run(0, 60, load);
    CHECK(d.changes.empty());
  }
  SECTION("latency target 100 ms: ceil(2 x 2.5) = 5 wanted, doubling first") {
    auto o = opts(1, 10);
    o.target_p99_ms = 100;
    deployment d{o, 2};
    d.run(0, 6, load);
    CHECK(d.changes == std::vector<change>{{5, 2, 4}});
    CHECK(d.scaler.wanted() == 5);
  }
  SECTION("latency under its target does not hold a scale-down back") {
    auto o = opts(1, 10);
    o.target_p99_ms = 100;
    deployment d{o, 4};
    d.run(0, 40, [](int, size_t) { return std::pair{0.0, 90.0}; });
    CHECK(d.changes == std::vector<change>{{30, 4, 1}});
  }
  SECTION("no latency data (0) is no vote") {
    auto o = opts(1, 10);
    o.target_p99_ms = 100;
    deployment d{o, 2};
    d.run(0, 20, [](int, size_t) { return std::pair{8.0, 0.0}; });
    CHECK(d.changes.empty());
  }
}

TEST_CASE("the smoothing window sees a noisy overload that single samples "
          "miss",
          "[serving][autoscaler]") {
  // Alternating 0 and 12 in flight for one replica: 6 on average.
  auto noisy = [](int s, size_t) {
    return std::pair{s % 2 == 0 ? 0.0 : 12.0, 0.0};
  };
  SECTION("latest sample only: the wanted count flips every tick") {
    deployment d{opts(1, 10), 1};
    std::vector<size_t> wanted;
    for (int s = 0; s < 60; ++s) {
      d.run(s, s + 1, noisy);
      wanted.push_back(d.scaler.wanted());
    }
    // 0 in flight wants 1, 12 wants ceil(12 / 4) = 3: neither lasts the
    // 5 s upscale delay, so nothing changes
    for (size_t s = 0; s < wanted.size(); ++s) {
      INFO("second " << s);
      CHECK(wanted[s] == (s % 2 == 0 ? 1u : 3u));
    }
    CHECK(d.changes.empty());
  }
  SECTION("a 2 s window: ceil(6 / 4) = 2 wanted throughout") {
    auto o = opts(1, 10);
    o.smoothing_window = 2s;
    deployment d{o, 1};
    d.run(0, 8, noisy);
    // The first tick alone averages 0; the wait starts at 1 s.
    CHECK(d.changes == std::vector<change>{{6, 1, 2}});
  }
}

TEST_CASE("autoscaler options are validated", "[serving][autoscaler]") {
  CHECK_FALSE(validate(opts(1, 10)));
  auto check = [](autoscaler_options o, const char* setting) {
    auto err = validate(o);
    REQUIRE(err);
    CHECK_THAT(describe(err), Catch::Contains(setting));
  };
  check(opts(0, 10), "min_replicas");
  check(opts(5, 4), "max_replicas");
  auto o = opts(1, 10);
  o.target_in_flight_per_replica = 0;
  check(o, "target_in_flight_per_replica");
  o = opts(1, 10);
  o.target_p99_ms = -1;
  check(o, "target_p99_ms");
  o = opts(1, 10);
  o.upscale_delay = -1s;
  check(o, "upscale_delay");
  o = opts(1, 10);
  o.downscale_delay = -1s;
  check(o, "downscale_delay");
  o = opts(1, 10);
  o.max_upscale_factor = 0.5;
  check(o, "max_upscale_factor");
  o = opts(1, 10);
  o.smoothing_window = -1s;
  check(o, "smoothing_window");
}
