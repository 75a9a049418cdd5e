#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "actors/features/routing.hpp"

using namespace troupe::features;

namespace {

/// `n` distinct random binary keys of 1..32 bytes.
std::vector<std::string> random_keys(size_t n, uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::uniform_int_distribution<int> len{1, 32};
  std::uniform_int_distribution<int> byte{0, 255};
  std::set<std::string> seen;
  std::vector<std::string> out;
  while (out.size() < n) {
    std::string k(static_cast<size_t>(len(rng)), '\0');
    for (auto& c : k)
      c = static_cast<char>(byte(rng));
    if (seen.insert(k).second) out.push_back(k);
  }
  return out;
}

std::vector<std::string> sequential_keys(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back("user:" + std::to_string(i));
  return out;
}

} // namespace

TEST_CASE("jump_hash agrees with the published reference values",
          "[features][routing]") {
  // Golden values of Lamping and Veach's algorithm, as pinned by Guava's
  // HashingTest (consistentHash uses the same generator).
  const uint32_t golden100[] = {0,  55, 62, 8,  45, 59, 86, 97, 82, 59,
                                73, 37, 17, 56, 86, 21, 90, 37, 38, 83};
  for (uint64_t i = 0; i < 20; ++i)
    CHECK(jump_hash(i, 100) == golden100[i]);
  CHECK(jump_hash(10863919174838991ull, 11) == 6);
  CHECK(jump_hash(2016238256797177309ull, 11) == 3);
  CHECK(jump_hash(1673758223894951030ull, 11) == 5);
  CHECK(jump_hash(2, 100001) == 80343);
  CHECK(jump_hash(2201, 100001) == 22152);
  CHECK(jump_hash(2202, 100001) == 15018);
}

TEST_CASE("entity_hash is FNV-1a with the splitmix64 finalizer, pinned",
          "[features][routing]") {
  // Computed once by an independent implementation of the documented
  // algorithm; a change here reshuffles every deployed store.
  CHECK(entity_hash("") == 0xf52a15e9a9b5e89bull);
  CHECK(entity_hash("a") == 0x02c0bdbf481420f8ull);
  CHECK(entity_hash(std::string_view{"a\0", 2}) == 0xd0137a57d0ef408full);
  CHECK(entity_hash("user:42") == 0xd68cb863fc5e0c34ull);
  CHECK(entity_hash(std::string_view{"\xff\x00"
                                     "bin",
                                     5}) == 0x55dead1a9cc0c235ull);
  CHECK(shard_of("user:42", 8) == 6);
  CHECK(shard_of("user:42", 1000) == 61);
  CHECK(shard_of("", 1000) == 978);
}

TEST_CASE("entity_hash tells apart keys that differ only in length or NULs",
          "[features][routing]") {
  std::vector<std::string> keys{"",
                                "a",
                                std::string{"a\0", 2},
                                std::string{"\0a", 2},
                                std::string{"\0", 1},
                                std::string{"\0\0", 2},
                                "ab",
                                "ba",
                                "abc",
                                std::string{"ab\0", 3}};
  std::set<uint64_t> hashes;
  for (auto& k : keys)
    hashes.insert(entity_hash(k));
  CHECK(hashes.size() == keys.size());
}

TEST_CASE("routing is deterministic and stays in range",
          "[features][routing]") {
  auto keys = random_keys(2000, 7);
  for (uint32_t shards : {1u, 2u, 3u, 8u, 17u, 1000u, 1u << 20}) {
    for (auto& k : keys) {
      auto s = shard_of(k, shards);
      REQUIRE(s < shards);
      REQUIRE(shard_of(k, shards) == s);
      REQUIRE(jump_hash(entity_hash(k), shards) == s);
    }
  }
  std::mt19937_64 rng{11};
  for (int i = 0; i < 2000; ++i) {
    auto key = rng();
    CHECK(jump_hash(key, 1) == 0);
    CHECK(jump_hash(key, 64) < 64);
  }
}

TEST_CASE("keys spread evenly over 8 shards", "[features][routing]") {
  for (auto keys : {random_keys(100000, 42), sequential_keys(100000)}) {
    std::vector<size_t> count(8);
    for (auto& k : keys)
      ++count[shard_of(k, 8)];
    double mean = static_cast<double>(keys.size()) / 8;
    for (size_t s = 0; s < 8; ++s) {
      INFO("shard " << s << " holds " << count[s] << " keys");
      CHECK(static_cast<double>(count[s]) > mean * 0.95);
      CHECK(static_cast<double>(count[s]) < mean * 1.05);
    }
  }
}

TEST_CASE("growing from n to n + 1 shards moves only keys to the new shard, "
          "about 1/(n+1) of them",
          "[features][routing]") {
  auto keys = random_keys(100000, 2024);
  for (uint32_t n = 1; n <= 16; ++n) {
    size_t moved = 0;
    for (auto& k : keys) {
      auto before = shard_of(k, n);
      auto after = shard_of(k, n + 1);
      if (before != after) {
        INFO("n = " << n);
        REQUIRE(after == n);
        ++moved;
      }
    }
    double fraction = static_cast<double>(moved) / keys.size();
    double expected = 1.0 / (n + 1);
    INFO("n = " << n << ": moved " << fraction << ", expected " << expected);
    CHECK(fraction > expected - 0.02);
    CHECK(fraction < expected + 0.02);
  }
}
