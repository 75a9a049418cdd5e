// bench_graph_idmap: the graph ID map of issue 19 (actors/graph): after a
// graph is partitioned and renumbered so that each partition owns a
// contiguous range of IDs, partition_map translates a global ID to
// (partition, local ID) with its P + 1 boundaries; the peers are the
// per-node tables a system keeps without renumbering, from each node's ID
// to its place: std::unordered_map, and an open-addressing table (linear
// probing, load <= 0.5, 16-byte slots: the fastest plain hash map).
//
// The graph: generated, Chung-Lu power law. --nodes N (default 2^24) nodes
// of weight (rank + 1)^-0.8 (degree exponent about 2.25), ranks mapped to
// IDs by a seeded random permutation; --edges E (default 10^8) edges whose
// two ends are drawn independently by weight (self loops dropped). It is
// partitioned into --parts P (default 16) by troupe's streaming partitioner
// (linear deterministic greedy, 5% slack) and renumbered.
//
// Measured, on one thread (a core): bytes each map holds (the hash maps'
// through a counting allocator: every byte they allocate) and translations
// per second over --queries Q (default 2^24) uniformly random nodes, each
// pass looking every query up and summing the places (the sums must agree:
// all three maps give every node the same place). Passes alternate between
// the maps, --repeats R (default 5) each; medians and the spread are
// reported. Also the partitioner's time and edge cut.
// Goals (issue 19): memory O(P) (bytes independent of the node count),
// >= 100 million translations/s/core, >= 5x the faster hash map.
//
//   bench_graph_idmap [--nodes N] [--edges E] [--parts P] [--queries Q]
//                     [--repeats R] [--seed S]
// bench-timeout: 1800

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/graph/csr.hpp"
#include "actors/graph/partition.hpp"
#include "actors/graph/partition_map.hpp"
#include "runtime/errors.hpp"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_process.hpp"
#include "tests/bench/power_law_graph.hpp"

using namespace troupe;
using namespace troupe::bench;
using namespace troupe::graph;

namespace {

/// Bytes allocated through counting_allocator, in total.
size_t counted_bytes = 0;

template <class T>
struct counting_allocator {
  using value_type = T;
  counting_allocator() = default;
  template <class U>
  counting_allocator(const counting_allocator<U>&) {}
  T* allocate(size_t n) {
    counted_bytes += n * sizeof(T);
    return std::allocator<T>{}.allocate(n);
  }
  void deallocate(T* p, size_t n) {
    counted_bytes -= n * sizeof(T);
    std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  bool operator==(const counting_allocator<U>&) const {
    return true;
  }
  template <class U>
  bool operator!=(const counting_allocator<U>&) const {
    return false;
  }
};

/// A node's place packed for the hash maps: partition and local ID.
struct slot_value {
  uint32_t partition;
  uint32_t local;
};

/// Open addressing, linear probing, capacity a power of two >= 2 n.
class probing_map {
public:
  explicit probing_map(size_t n) {
    size_t cap = 1;
    while (cap < 2 * n)
      cap <<= 1;
    mask_ = cap - 1;
    slots_.assign(cap, slot{empty, {0, 0}});
  }
  void put(uint32_t key, slot_value v) {
    auto i = hash(key) & mask_;
    while (slots_[i].key != empty && slots_[i].key != key)
      i = (i + 1) & mask_;
    slots_[i] = {key, v};
  }
  slot_value get(uint32_t key) const {
    auto i = hash(key) & mask_;
    while (slots_[i].key != key)
      i = (i + 1) & mask_;
    return slots_[i].value;
  }
  size_t bytes() const { return slots_.capacity() * sizeof(slot); }

private:
  static constexpr uint32_t empty = UINT32_MAX;
  struct slot {
    uint32_t key;
    slot_value value;
  };
  static uint64_t hash(uint32_t k) {
    return (static_cast<uint64_t>(k) * 0x9e3779b97f4a7c15ULL) >> 20;
  }
  size_t mask_ = 0;
  std::vector<slot> slots_;
};

double now_s() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

} // namespace

int main(int argc, char** argv) {
  program_name = "bench_graph_idmap";
  auto nodes = static_cast<uint32_t>(arg_or(argc, argv, "--nodes", 1u << 24));
  auto n_edges = arg_or(argc, argv, "--edges", 100000000);
  auto parts = static_cast<uint32_t>(arg_or(argc, argv, "--parts", 16));
  auto n_queries = arg_or(argc, argv, "--queries", 1u << 24);
  int repeats = static_cast<int>(arg_or(argc, argv, "--repeats", 5));
  auto seed = arg_or(argc, argv, "--seed", 1);

  // the graph: Chung-Lu, weights (rank + 1)^-0.8, ranks shuffled to IDs
  auto t0 = now_s();
  std::mt19937_64 rng{seed};
  auto g = std::make_optional(power_law_graph(nodes, n_edges, rng));
  progress("graph: %u nodes, %llu edges, %.1f s", nodes,
           static_cast<unsigned long long>(g->edges()), now_s() - t0);

  auto t1 = now_s();
  stream_options o;
  o.parts = parts;
  auto part = stream_partition(*g, o);
  if (!part) fail(describe(part.error()));
  auto partition_s = now_s() - t1;
  auto cut = edge_cut(*g, *part);
  std::vector<uint32_t> random_part(nodes);
  for (auto& p : random_part)
    p = static_cast<uint32_t>(rng() % parts);
  auto random_cut = edge_cut(*g, random_part);
  random_part = {};
  *g = csr_graph{};
  auto r = renumber(*part, parts);
  if (!r) fail(describe(r.error()));
  progress("partitioned into %u in %.1f s: edge cut %.3f (random %.3f)", parts,
           partition_s, cut, random_cut);

  // the peers' tables: each node's (old) ID -> its place
  counted_bytes = 0;
  std::unordered_map<uint32_t, slot_value, std::hash<uint32_t>,
                     std::equal_to<uint32_t>,
                     counting_allocator<std::pair<const uint32_t, slot_value>>>
      table;
  table.reserve(nodes);
  probing_map probing{nodes};
  for (uint32_t v = 0; v < nodes; ++v) {
    auto place = r->map.locate(r->new_id[v]);
    slot_value sv{place.partition, static_cast<uint32_t>(place.local)};
    table.emplace(v, sv);
    probing.put(v, sv);
  }
  auto table_bytes = counted_bytes;
  // queries: random nodes, by new ID (the map) and by old ID (the tables)
  std::vector<uint32_t> old_of_new(nodes);
  for (uint32_t v = 0; v < nodes; ++v)
    old_of_new[r->new_id[v]] = v;
  std::vector<uint64_t> q_new(n_queries);
  std::vector<uint32_t> q_old(n_queries);
  std::uniform_int_distribution<uint32_t> pick{0, nodes - 1};
  for (size_t i = 0; i < n_queries; ++i) {
    q_new[i] = pick(rng);
    q_old[i] = old_of_new[q_new[i]];
  }
  old_of_new = {};
  *part = std::vector<uint32_t>{};

  const size_t batch = 4096;
  std::vector<uint32_t> out_p(batch);
  std::vector<uint64_t> out_l(batch);
  auto run_map = [&](uint64_t& sum) {
    auto s = now_s();
    for (size_t i = 0; i < n_queries; i += batch) {
      auto n = std::min(batch, n_queries - i);
      r->map.locate(q_new.data() + i, n, out_p.data(), out_l.data());
      for (size_t k = 0; k < n; ++k)
        sum += out_p[k] * 1000003ull + out_l[k];
    }
    return static_cast<double>(n_queries) / (now_s() - s);
  };
  auto run_table = [&](uint64_t& sum) {
    auto s = now_s();
    for (size_t i = 0; i < n_queries; ++i) {
      auto& v = table.find(q_old[i])->second;
      sum += v.partition * 1000003ull + v.local;
    }
    return static_cast<double>(n_queries) / (now_s() - s);
  };
  auto run_probing = [&](uint64_t& sum) {
    auto s = now_s();
    for (size_t i = 0; i < n_queries; ++i) {
      auto v = probing.get(q_old[i]);
      sum += v.partition * 1000003ull + v.local;
    }
    return static_cast<double>(n_queries) / (now_s() - s);
  };
  std::vector<double> map_rate, table_rate, probing_rate;
  for (int k = 0; k < repeats; ++k) {
    uint64_t a = 0, b = 0, c = 0;
    if (k % 2 == 0) {
      map_rate.push_back(run_map(a));
      table_rate.push_back(run_table(b));
      probing_rate.push_back(run_probing(c));
    } else {
      probing_rate.push_back(run_probing(c));
      table_rate.push_back(run_table(b));
      map_rate.push_back(run_map(a));
    }
    if (a != b || a != c)
      fail("the maps disagree: sums " + std::to_string(a) + ", " +
           std::to_string(b) + ", " + std::to_string(c));
    progress("pass %d: partition map %.0f M/s, unordered_map %.0f M/s, "
             "open addressing %.0f M/s",
             k + 1, map_rate.back() / 1e6, table_rate.back() / 1e6,
             probing_rate.back() / 1e6);
  }
  auto faster = std::max(median(table_rate), median(probing_rate));
  std::vector<double> ratios;
  for (int k = 0; k < repeats; ++k)
    ratios.push_back(map_rate[k] / std::max(table_rate[k], probing_rate[k]));
  auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
  auto ratio = median(ratios);
  bool met = median(map_rate) >= 100e6 && ratio >= 5;
  std::printf(
      "bench_graph_idmap: %u nodes, %llu edges, %u partitions: partition map "
      "%zu bytes, %.0f M translations/s/core; unordered_map %zu bytes, "
      "%.0f M/s; open addressing %zu bytes, %.0f M/s; %.1fx the faster "
      "(spread %.1f-%.1f; goals: O(P) bytes, >= 100 M/s, >= 5x); %s\n",
      nodes, static_cast<unsigned long long>(n_edges), parts, r->map.bytes(),
      median(map_rate) / 1e6, table_bytes, median(table_rate) / 1e6,
      probing.bytes(), median(probing_rate) / 1e6, ratio, *lo, *hi,
      met ? "met" : "not met");
  std::printf("bench_graph_idmap: streaming partition (LDG) %.1f s, edge cut "
              "%.3f against %.3f for a random assignment\n",
              partition_s, cut, random_cut);
  nlohmann::json out{{"bench", "bench_graph_idmap"},
                     {"nodes", nodes},
                     {"edges", n_edges},
                     {"parts", parts},
                     {"queries", n_queries},
                     {"map_bytes", r->map.bytes()},
                     {"unordered_map_bytes", table_bytes},
                     {"open_addressing_bytes", probing.bytes()},
                     {"map_per_s", map_rate},
                     {"unordered_map_per_s", table_rate},
                     {"open_addressing_per_s", probing_rate},
                     {"median_ratio_to_faster", ratio},
                     {"faster_hash_map_per_s", faster},
                     {"partition_seconds", partition_s},
                     {"edge_cut", cut},
                     {"random_edge_cut", random_cut},
                     {"goal_met", met},
                     {"nproc", nproc()},
                     {"cpu", cpu_model()},
                     {"date", utc_now()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
