#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/serving/traffic.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using namespace troupe::serving;

namespace {

std::vector<std::string> picks(traffic_split& split, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    auto v = split.pick();
    REQUIRE(v);
    out.push_back(*v);
  }
  return out;
}

int64_t total_of(const version_weights& w) {
  int64_t total = 0;
  for (auto& kv : w)
    total += kv.second;
  return total;
}

/// After every pick n, each version's count is within less than one pick of
/// n·w/W, i.e. |count·W − n·w| < W.
void check_prefixes(const std::vector<std::string>& seq,
                    const version_weights& w) {
  auto total = total_of(w);
  std::map<std::string, int64_t> count;
  for (size_t n = 1; n <= seq.size(); ++n) {
    ++count[seq[n - 1]];
    for (auto& [version, weight] : w) {
      auto err = count[version] * total - static_cast<int64_t>(n) * weight;
      if (err >= total || err <= -total)
        FAIL("version " << version << " picked " << count[version]
                        << " times in " << n << " picks");
    }
  }
}

/// Over every window of `len` picks, each version's count c keeps
/// |c·W − len·w| < limit; limit 1 asks for the exact split.
void check_windows(const std::vector<std::string>& seq,
                   const version_weights& w, size_t len, int64_t limit) {
  auto total = total_of(w);
  std::map<std::string, int64_t> count;
  for (size_t i = 0; i < seq.size(); ++i) {
    ++count[seq[i]];
    if (i >= len) --count[seq[i - len]];
    if (i + 1 < len) continue;
    for (auto& [version, weight] : w) {
      auto err = count[version] * total - static_cast<int64_t>(len) * weight;
      if (err >= limit || err <= -limit)
        FAIL("version " << version << " picked " << count[version]
                        << " times in the window of " << len
                        << " picks ending at " << i);
    }
  }
}

} // namespace

TEST_CASE("the split converges to the weights within one pick",
          "[serving][traffic]") {
  for (auto w : {version_weights{{"v1", 90}, {"v2", 10}},
                 version_weights{{"a", 1}, {"b", 1}, {"c", 1}},
                 version_weights{{"v1", 0}, {"v2", 100}},
                 version_weights{{"a", 5}, {"b", 3}, {"c", 1}, {"d", 1}}}) {
    traffic_split split;
    REQUIRE_FALSE(split.set_weights(w));
    auto seq = picks(split, 10'000);
    check_prefixes(seq, w);
    // Every stretch of one full cycle (W picks) hits the split exactly, and
    // any window is within less than two picks (one, for two versions).
    auto total = total_of(w);
    check_windows(seq, w, static_cast<size_t>(total), 1);
    for (size_t len = 1; len <= 150; ++len)
      check_windows(seq, w, len, (w.size() == 2 ? 1 : 2) * total);
  }
}

TEST_CASE("the split follows new weights from the change on",
          "[serving][traffic]") {
  traffic_split split;
  REQUIRE_FALSE(split.set_weights({{"v1", 90}, {"v2", 10}}));
  auto before = picks(split, 5'003);
  version_weights next{{"v1", 50}, {"v2", 30}, {"v3", 20}};
  REQUIRE_FALSE(split.set_weights(next));
  auto after = picks(split, 10'000);
  check_prefixes(after, next);
  std::map<std::string, int> count;
  for (auto& v : after)
    ++count[v];
  CHECK(count["v1"] == 5'000);
  CHECK(count["v2"] == 3'000);
  CHECK(count["v3"] == 2'000);
}

TEST_CASE("a version of weight 0 is never picked", "[serving][traffic]") {
  traffic_split split;
  REQUIRE_FALSE(split.set_weights({{"a", 0}, {"b", 3}, {"c", 1}}));
  for (auto& v : picks(split, 10'000))
    REQUIRE(v != "a");
  CHECK(split.weights().count("a") == 1);
}

TEST_CASE("an empty split picks nothing", "[serving][traffic]") {
  traffic_split split;
  CHECK_FALSE(split.pick());
}

TEST_CASE("bad weights are refused, naming the bad weight, and change "
          "nothing",
          "[serving][traffic]") {
  traffic_split split;
  REQUIRE_FALSE(split.set_weights({{"v1", 1}, {"v2", 1}}));
  auto check = [&](const version_weights& w, std::vector<std::string> parts) {
    auto err = split.set_weights(w);
    REQUIRE(err);
    auto text = describe(err);
    for (auto& part : parts)
      CHECK_THAT(text, Catch::Contains(part));
    CHECK(split.weights() == version_weights{{"v1", 1}, {"v2", 1}});
  };
  check({{"v1", 90}, {"v2", -5}}, {"'v2'", "-5", "negative"});
  check({{"v1", 0}, {"v2", 0}}, {"'v1'", "'v2'", "positive"});
  check({}, {"no versions"});
  check({{"", 3}}, {"empty"});
  check({{"v1", max_version_weight + 1}}, {"'v1'", "maximum"});
  CHECK(picks(split, 4) == std::vector<std::string>{"v1", "v2", "v1", "v2"});
}

TEST_CASE("promote and rollback move all the weight", "[serving][traffic]") {
  traffic_split split;
  CHECK(split.rollback()); // no stable version yet
  REQUIRE_FALSE(split.set_weights({{"v1", 100}}));
  CHECK(split.stable() == std::optional<std::string>{"v1"});
  REQUIRE_FALSE(split.set_weights({{"v1", 90}, {"v2", 10}}));
  CHECK(split.stable() == std::optional<std::string>{"v1"});

  SECTION("rollback returns to the stable version") {
    REQUIRE_FALSE(split.rollback());
    CHECK(split.weights() == version_weights{{"v1", 100}, {"v2", 0}});
    for (auto& v : picks(split, 100))
      REQUIRE(v == "v1");
  }
  SECTION("promote makes the canary the stable version") {
    REQUIRE_FALSE(split.promote("v2"));
    CHECK(split.weights() == version_weights{{"v1", 0}, {"v2", 100}});
    CHECK(split.stable() == std::optional<std::string>{"v2"});
    for (auto& v : picks(split, 100))
      REQUIRE(v == "v2");
    REQUIRE_FALSE(split.set_weights({{"v2", 80}, {"v3", 20}}));
    REQUIRE_FALSE(split.rollback());
    CHECK(split.weights() == version_weights{{"v2", 100}, {"v3", 0}});
  }
  SECTION("promoting an unknown version is an error") {
    auto err = split.promote("v9");
    REQUIRE(err);
    CHECK_THAT(describe(err), Catch::Contains("'v9'"));
    CHECK(split.weights() == version_weights{{"v1", 90}, {"v2", 10}});
  }
  SECTION("weights that drop the stable version forget it") {
    REQUIRE_FALSE(split.set_weights({{"v2", 60}, {"v3", 40}}));
    CHECK_FALSE(split.stable());
    CHECK(split.rollback());
  }
}

TEST_CASE("least_loaded picks the healthy replica with the fewest rows",
          "[serving][traffic]") {
  least_loaded ll;
  // Outstanding rows: 1: 6, 2: 4, 3: 7.
  std::vector<replica_load> rs{
      {1, 1, 5, true}, {2, 4, 0, true}, {3, 7, 0, true}};
  for (int i = 0; i < 5; ++i)
    CHECK(ll.pick(rs) == std::optional<uint64_t>{2});
  rs[1].healthy = false;
  CHECK(ll.pick(rs) == std::optional<uint64_t>{1});
  rs[0].healthy = false;
  rs[2].healthy = false;
  CHECK_FALSE(ll.pick(rs));
  CHECK_FALSE(ll.pick({}));
}

TEST_CASE("least_loaded takes turns among equally loaded replicas",
          "[serving][traffic]") {
  SECTION("loads unchanged: round-robin by id, whatever the listing order") {
    least_loaded ll;
    std::vector<replica_load> rs{{30, 2, 0, true}, {10, 2, 0, true},
                                 {40, 2, 0, true}, {20, 2, 0, true},
                                 {50, 9, 0, true}, {60, 0, 0, false}};
    std::map<uint64_t, int> count;
    std::vector<uint64_t> first;
    for (int i = 0; i < 400; ++i) {
      auto id = ll.pick(rs);
      REQUIRE(id);
      ++count[*id];
      if (i < 5) first.push_back(*id);
    }
    CHECK(first == std::vector<uint64_t>{10, 20, 30, 40, 10});
    CHECK(count ==
          std::map<uint64_t, int>{{10, 100}, {20, 100}, {30, 100}, {40, 100}});
  }
  SECTION("loads rising with each pick stay even") {
    least_loaded ll;
    std::vector<replica_load> rs{
        {1, 0, 0, true}, {2, 0, 0, true}, {3, 0, 0, true}};
    for (int i = 0; i < 300; ++i) {
      auto id = ll.pick(rs);
      REQUIRE(id);
      auto& r = rs[*id - 1];
      for (auto& other : rs)
        REQUIRE(r.in_flight <= other.in_flight);
      ++r.in_flight;
    }
    for (auto& r : rs)
      CHECK(r.in_flight == 100);
  }
}
