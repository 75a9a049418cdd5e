#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "actors/serving/batcher.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using namespace troupe::serving;
using namespace std::chrono_literals;

namespace {

using time_point = std::chrono::steady_clock::time_point;
using duration = std::chrono::steady_clock::duration;

const time_point t0{};

batcher_options opts(size_t max_rows, duration delay, size_t bound = 1024) {
  batcher_options o;
  o.max_batch_rows = max_rows;
  o.max_queue_delay = delay;
  o.queue_bound = bound;
  return o;
}

std::vector<uint64_t> ids(const batch& b) {
  std::vector<uint64_t> out;
  for (auto& item : b.items)
    out.push_back(item.id);
  return out;
}

struct dispatch {
  batch b;
  time_point at;
};

/// Drives one replica on a fake clock: request i (one row) arrives at
/// arrivals[i]; a free replica asks for a batch at every event (an arrival,
/// the end of a batch, the batcher's deadline) and then stays busy for
/// `service`.
std::vector<dispatch> simulate(batcher& b,
                               const std::vector<time_point>& arrivals,
                               duration service) {
  std::vector<dispatch> out;
  std::optional<time_point> busy_until;
  size_t next = 0;
  auto now = arrivals.empty() ? t0 : arrivals.front();
  for (;;) {
    if (busy_until && *busy_until <= now) busy_until.reset();
    while (next < arrivals.size() && arrivals[next] <= now) {
      REQUIRE(b.push(next, 1, arrivals[next]) == admission::accepted);
      ++next;
    }
    if (!busy_until) {
      if (auto bt = b.pop_ready(now)) {
        out.push_back(dispatch{std::move(*bt), now});
        busy_until = now + service;
      }
    }
    std::optional<time_point> wake;
    auto consider = [&](time_point t) {
      if (!wake || t < *wake) wake = t;
    };
    if (next < arrivals.size()) consider(arrivals[next]);
    if (busy_until)
      consider(*busy_until);
    else if (auto d = b.deadline()) {
      REQUIRE(*d > now); // a free replica left nothing due behind
      consider(*d);
    }
    if (!wake) break;
    now = *wake;
  }
  return out;
}

/// Every request handed out exactly once, in arrival order.
void check_order(const std::vector<dispatch>& ds, size_t n) {
  uint64_t expect = 0;
  for (auto& d : ds)
    for (auto& item : d.b.items)
      REQUIRE(item.id == expect++);
  CHECK(expect == n);
}

} // namespace

TEST_CASE("a steady stream is served in batches of the configured size",
          "[serving][batcher]") {
  // One request per ms. A replica busy for 8 ms per batch sees 8 new
  // requests per batch; one busy for 12 ms falls behind and always finds a
  // full batch waiting.
  for (auto service : {8ms, 12ms}) {
    INFO("service time " << service.count() << " ms");
    batcher b{opts(8, 5ms)};
    std::vector<time_point> arrivals;
    for (int i = 0; i < 1000; ++i)
      arrivals.push_back(t0 + i * 1ms);
    auto ds = simulate(b, arrivals, service);
    check_order(ds, 1000);
    REQUIRE(ds.size() > 100);
    for (size_t i = 1; i + 1 < ds.size(); ++i) {
      INFO("batch " << i);
      CHECK(ds[i].b.rows == 8);
      CHECK(ds[i].b.items.size() == 8);
    }
    // The first batch went when the first request's delay ran out.
    CHECK(ds.front().at == t0 + 5ms);
    CHECK(ds.front().b.rows == 6);
    CHECK(b.empty());
  }
}

TEST_CASE("with slow arrivals no request waits longer than max_queue_delay",
          "[serving][batcher]") {
  // Gaps of 1 to 12 ms, scrambled; the replica needs 3 ms per batch.
  batcher b{opts(8, 5ms)};
  std::vector<time_point> arrivals;
  auto t = t0;
  uint64_t lcg = 12345;
  for (int i = 0; i < 2000; ++i) {
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    t += std::chrono::milliseconds(1 + (lcg >> 33) % 12);
    arrivals.push_back(t);
  }
  auto ds = simulate(b, arrivals, 3ms);
  check_order(ds, arrivals.size());
  size_t waited_full_delay = 0;
  size_t batched = 0;
  for (auto& d : ds) {
    if (d.b.items.size() > 1) ++batched;
    for (auto& item : d.b.items) {
      auto wait = d.at - item.enqueued;
      REQUIRE(wait >= duration::zero());
      REQUIRE(wait <= 5ms);
      if (wait == 5ms) ++waited_full_delay;
    }
  }
  // The bound is reached (timer-driven batches) and batching still happens.
  CHECK(waited_full_delay > 100);
  CHECK(batched > 100);
}

TEST_CASE("with a delay of 0 a free replica takes whatever is queued",
          "[serving][batcher]") {
  batcher b{opts(8, 0ms)};
  REQUIRE(b.push(1, 1, t0) == admission::accepted);
  auto first = b.pop_ready(t0);
  REQUIRE(first);
  CHECK(ids(*first) == std::vector<uint64_t>{1});
  // While the replica is busy the queue grows; when it is free it takes all.
  for (uint64_t id = 2; id <= 4; ++id)
    REQUIRE(b.push(id, 1, t0 + 1ms) == admission::accepted);
  auto second = b.pop_ready(t0 + 2ms);
  REQUIRE(second);
  CHECK(ids(*second) == std::vector<uint64_t>{2, 3, 4});
  CHECK_FALSE(b.pop_ready(t0 + 3ms));
}

TEST_CASE("a partial batch waits for its deadline, not longer",
          "[serving][batcher]") {
  batcher b{opts(4, 10ms)};
  CHECK_FALSE(b.deadline());
  CHECK_FALSE(b.pop_ready(t0));
  REQUIRE(b.push(7, 1, t0) == admission::accepted);
  REQUIRE(b.push(8, 2, t0 + 4ms) == admission::accepted);
  REQUIRE(b.deadline());
  CHECK(*b.deadline() == t0 + 10ms);
  CHECK_FALSE(b.ready(t0 + 9ms));
  CHECK_FALSE(b.pop_ready(t0 + 9ms));
  CHECK(b.queued_rows() == 3);
  CHECK(b.ready(t0 + 10ms));
  auto bt = b.pop_ready(t0 + 10ms);
  REQUIRE(bt);
  CHECK(ids(*bt) == std::vector<uint64_t>{7, 8});
  CHECK(bt->rows == 3);
  CHECK_FALSE(b.deadline());
}

TEST_CASE("a batch is full when the next request would not fit",
          "[serving][batcher]") {
  batcher b{opts(8, 1h)};
  for (uint64_t id = 0; id < 3; ++id)
    REQUIRE(b.push(id, 3, t0) == admission::accepted);
  // 3 + 3 rows cannot grow by waiting: the third request does not fit.
  auto bt = b.pop_ready(t0);
  REQUIRE(bt);
  CHECK(ids(*bt) == std::vector<uint64_t>{0, 1});
  CHECK(bt->rows == 6);
  CHECK_FALSE(b.pop_ready(t0));
  CHECK(b.queued_rows() == 3);
  CHECK(b.queued_items() == 1);
}

TEST_CASE("the queue bound refuses and leaves the queue unchanged",
          "[serving][batcher]") {
  batcher b{opts(4, 1h, 10)};
  REQUIRE(b.push(1, 4, t0) == admission::accepted);
  REQUIRE(b.push(2, 4, t0) == admission::accepted);
  CHECK(b.push(3, 3, t0) == admission::overloaded);
  CHECK(b.queued_rows() == 8);
  CHECK(b.queued_items() == 2);
  CHECK(*b.deadline() == t0 + 1h);
  // Exactly at the bound is allowed.
  CHECK(b.push(4, 2, t0) == admission::accepted);
  CHECK(b.push(5, 1, t0) == admission::overloaded);
  auto all = b.drain_all();
  REQUIRE(all.size() == 3);
  CHECK(all[0].id == 1);
  CHECK(all[1].id == 2);
  CHECK(all[2].id == 4);
  CHECK(b.empty());
  CHECK(b.queued_rows() == 0);
  // More rows than the bound can never be queued, not even alone.
  CHECK(b.push(6, 11, t0) == admission::too_large);
  CHECK(b.empty());
  CHECK(to_string(admission::overloaded) == "overloaded");
}

TEST_CASE("max_batch_rows 1 gives single-request batches",
          "[serving][batcher]") {
  batcher b{opts(1, 1h)};
  for (uint64_t id = 0; id < 5; ++id)
    REQUIRE(b.push(id, 1, t0) == admission::accepted);
  for (uint64_t id = 0; id < 5; ++id) {
    auto bt = b.pop_ready(t0);
    REQUIRE(bt);
    CHECK(ids(*bt) == std::vector<uint64_t>{id});
  }
  CHECK_FALSE(b.pop_ready(t0 + 2h));
}

TEST_CASE("a request larger than max_batch_rows forms a batch alone",
          "[serving][batcher]") {
  batcher b{opts(4, 1h, 100)};
  REQUIRE(b.push(1, 1, t0) == admission::accepted);
  REQUIRE(b.push(2, 9, t0) == admission::accepted);
  REQUIRE(b.push(3, 1, t0) == admission::accepted);
  auto a = b.pop_ready(t0);
  REQUIRE(a);
  CHECK(ids(*a) == std::vector<uint64_t>{1});
  auto big = b.pop_ready(t0);
  REQUIRE(big);
  CHECK(ids(*big) == std::vector<uint64_t>{2});
  CHECK(big->rows == 9);
  // The last one is a partial batch again and waits for its delay.
  CHECK_FALSE(b.pop_ready(t0));
  auto rest = b.pop_now();
  REQUIRE(rest);
  CHECK(ids(*rest) == std::vector<uint64_t>{3});
  CHECK_FALSE(b.pop_now());
}

TEST_CASE("batcher options are validated", "[serving][batcher]") {
  CHECK_FALSE(validate(opts(8, 5ms, 64)));
  auto zero = validate(opts(0, 5ms, 64));
  REQUIRE(zero);
  CHECK_THAT(describe(zero), Catch::Contains("max_batch_rows"));
  auto negative = validate(opts(8, -1ms, 64));
  REQUIRE(negative);
  CHECK_THAT(describe(negative), Catch::Contains("max_queue_delay"));
  auto small = validate(opts(8, 5ms, 4));
  REQUIRE(small);
  CHECK_THAT(describe(small), Catch::Contains("queue_bound"));
}
