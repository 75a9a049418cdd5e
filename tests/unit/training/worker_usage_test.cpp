// A worker's time split (usage_meter, on a clock the test moves), the
// data-starvation rule over a job's workers, and how a split reads.

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <stdexcept>

#include "actors/training/worker_usage.hpp"

using namespace troupe::training;
using namespace std::chrono_literals;

namespace {

/// A clock the test moves by hand.
struct hand_clock {
  std::chrono::steady_clock::time_point now{};
  usage_meter::clock_fn fn() {
    return [this] { return now; };
  }
};

} // namespace

TEST_CASE("a usage meter counts what it timed in its columns and the rest of "
          "the wall time as idle",
          "[worker-usage]") {
  hand_clock c;
  usage_meter m{c.fn()};
  c.now += 2s; // waiting on the job before anything: idle
  m.data([&] { c.now += 3s; });
  auto r = m.comm([&] {
    c.now += 1500ms;
    return 7;
  });
  CHECK(r == 7);
  m.add_compute(4.0); // measured elsewhere (the plugin's phases)
  c.now += 4s;        // ... within this stretch of wall time
  c.now += 500ms;     // a report: idle
  auto t = m.split();
  CHECK(t.data == Approx(3.0));
  CHECK(t.comm == Approx(1.5));
  CHECK(t.compute == Approx(4.0));
  CHECK(t.idle == Approx(2.5));
  CHECK(t.total() == Approx(11.0));
  CHECK(t.share(t.data) == Approx(3.0 / 11.0));
  // a timed call that throws still counts its time
  CHECK_THROWS(m.data([&]() -> int {
    c.now += 1s;
    throw std::runtime_error{"read failed"};
  }));
  CHECK(m.split().data == Approx(4.0));
  // nonsense amounts are ignored
  m.add_compute(-1);
  m.add_comm(std::nan(""));
  CHECK(m.split().compute == Approx(4.0));
  CHECK(m.split().comm == Approx(1.5));
}

TEST_CASE("a usage meter started at the part's arrival counts the wait "
          "before it was built",
          "[worker-usage]") {
  hand_clock c;
  c.now += 10s;
  auto arrived = c.now;
  c.now += 2s; // the shard's fetch, measured by the actor
  usage_meter m{c.fn(), arrived};
  m.add_data(2.0);
  auto t = m.split();
  CHECK(t.data == Approx(2.0));
  CHECK(t.idle == Approx(0.0));
  // idle never goes negative when measured columns overlap the wall
  m.add_compute(5.0);
  CHECK(m.split().idle == 0.0);
}

TEST_CASE("a job is data-starved while its workers together wait for data "
          "more than the threshold of their time",
          "[worker-usage]") {
  starvation_rule rule{0.3, 0.8};
  // one worker starved, one busy: 3 of 12 seconds is 25%
  std::vector<time_split> ws{{1, 3, 1, 1}, {6, 0, 0, 0}};
  CHECK(data_wait_share(ws) == Approx(0.25));
  CHECK_FALSE(data_starved(ws, rule));
  // both waiting: 9 of 18 seconds
  ws[1].data = 6;
  CHECK(data_wait_share(ws) == Approx(0.5));
  CHECK(data_starved(ws, rule));
  // the threshold itself is not above it
  CHECK_FALSE(data_starved(ws, starvation_rule{0.5, 0.8}));
  CHECK(data_starved(ws, starvation_rule{0.49, 0.8}));
  // nothing measured yet: no share, no alert
  CHECK(data_wait_share({}) == 0.0);
  CHECK_FALSE(data_starved({}, starvation_rule{0.0, 0.8}));
  CHECK_FALSE(data_starved({time_split{}}, starvation_rule{0.0, 0.8}));
}

TEST_CASE("a data-starvation alert rises above the threshold and clears only "
          "well below it",
          "[worker-usage]") {
  starvation_rule rule{0.3, 0.8}; // clears at 24% or less
  auto at = [](double data_share) {
    return std::vector<time_split>{{1 - data_share, data_share, 0, 0}};
  };
  CHECK(next_alert(false, at(0.2), rule) == alert_change::none);
  CHECK(next_alert(false, at(0.31), rule) == alert_change::raise);
  // in force: hovering around the threshold keeps it
  CHECK(next_alert(true, at(0.31), rule) == alert_change::none);
  CHECK(next_alert(true, at(0.29), rule) == alert_change::none);
  CHECK(next_alert(true, at(0.25), rule) == alert_change::none);
  CHECK(next_alert(true, at(0.24), rule) == alert_change::clear);
  CHECK(next_alert(true, at(0.05), rule) == alert_change::clear);
  // nothing reported: nothing rises
  CHECK(next_alert(false, {}, starvation_rule{0, 0.8}) == alert_change::none);
}

TEST_CASE("a time split reads as shares of its total", "[worker-usage]") {
  CHECK(describe_split({7, 1, 1.5, 0.5}) ==
        "compute 70%, data 10%, comm 15%, idle 5%");
  time_split a{1, 2, 3, 4};
  a += time_split{1, 1, 1, 1};
  CHECK(a.compute == 2);
  CHECK(a.idle == 5);
  CHECK(a.total() == 14);
}
