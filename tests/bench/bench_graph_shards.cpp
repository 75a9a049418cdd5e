// bench_graph_shards: neighbour sampling through graph shard actors at the
// scale of issue 19's generated graph (tests/bench/power_law_graph.hpp:
// Chung-Lu, --nodes N (2^24) nodes, --edges E (10^8) edges, power-law
// degrees). It is partitioned into --parts P (4) by the streaming
// partitioner (METIS does not take 10^8 edges here), renumbered so that
// each partition owns a contiguous range, and each partition's shard file
// (adjacency, halo, labels) is written and loaded by a graph.shard actor
// on an in-process cluster of a head and a worker node joined over
// loopback (partitions alternate between the nodes; files read by path:
// one machine).
//
// Measured: GraphSAGE-style two-hop samples (--fanouts 10,5) of
// --batches B (40) minibatches of --batch S (512) uniformly random seeds,
// through the shard actors (a shard_client: every shard asked at once per
// hop, Cap'n Proto envelopes over loopback) and, side by side, in this
// process over the whole graph (the single-process sampler the shards must
// equal: every minibatch is compared). Passes alternate, --repeats R (3)
// each; seeds and sampled neighbours per second, medians and spread.
//
//   bench_graph_shards [--nodes N] [--edges E] [--parts P] [--batches B]
//                      [--batch S] [--repeats R] [--seed S]
// bench-timeout: 3600

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/graph/partition.hpp"
#include "actors/graph/sampler.hpp"
#include "actors/graph/shard_actor.hpp"
#include "actors/graph/shard_client.hpp"
#include "actors/graph/shard_file.hpp"
#include "actors/graph/shard_placement.hpp"
#include "runtime/errors.hpp"
#include "runtime/node.hpp"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_process.hpp"
#include "tests/bench/power_law_graph.hpp"

using namespace troupe;
using namespace troupe::bench;
using namespace troupe::graph;

namespace {

double now_s() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t sampled(const neighbourhood& n) {
  uint64_t out = 0;
  for (auto& h : n.hops)
    out += h.neighbours.size();
  return out;
}

} // namespace

int main(int argc, char** argv) {
  program_name = "bench_graph_shards";
  auto nodes = static_cast<uint32_t>(arg_or(argc, argv, "--nodes", 1u << 24));
  auto n_edges = arg_or(argc, argv, "--edges", 100000000);
  auto parts = static_cast<uint32_t>(arg_or(argc, argv, "--parts", 4));
  auto batches = arg_or(argc, argv, "--batches", 40);
  auto batch = arg_or(argc, argv, "--batch", 512);
  int repeats = static_cast<int>(arg_or(argc, argv, "--repeats", 3));
  auto seed = arg_or(argc, argv, "--seed", 1);

  auto t0 = now_s();
  std::mt19937_64 rng{seed};
  auto g0 = power_law_graph(nodes, n_edges, rng);
  progress("graph: %u nodes, %llu edges, %.1f s", nodes,
           static_cast<unsigned long long>(g0.edges()), now_s() - t0);
  auto t1 = now_s();
  stream_options so;
  so.parts = parts;
  auto part = stream_partition(g0, so);
  if (!part) fail(describe(part.error()));
  auto cut = edge_cut(g0, *part);
  auto r = renumber(*part, parts);
  if (!r) fail(describe(r.error()));
  *part = std::vector<uint32_t>{};
  auto g = relabel(g0, r->new_id);
  g0 = csr_graph{};
  r->new_id = {};
  progress("partitioned into %u and renumbered in %.1f s (edge cut %.3f)",
           parts, now_s() - t1, cut);

  // the shard files
  auto t2 = now_s();
  auto dir = std::filesystem::temp_directory_path() /
             ("bench_graph_shards." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<std::string> files, where;
  uint64_t halo = 0, file_bytes = 0;
  {
    std::vector<uint32_t> labels(g.nodes, 0);
    for (uint32_t p = 0; p < parts; ++p) {
      auto sh = graph_shard_of(g, r->map, p, {}, 0, labels);
      if (!sh) fail(describe(sh.error()));
      halo += sh->view.halo.size();
      files.push_back((dir / ("part-" + std::to_string(p))).string());
      if (auto err = write_graph_shard(files.back(), *sh)) fail(describe(err));
      file_bytes += std::filesystem::file_size(files.back());
      where.push_back(p % 2 == 0 ? "head" : "worker-1");
    }
  }
  auto cluster = local_cluster::start(1, 1, register_graph_kinds);
  if (!cluster) fail(describe(cluster.error()));
  auto& sys = (*cluster)->head_system();
  shard_placement how;
  how.through_caches = false;
  auto shards = place_shards(sys, (*cluster)->directory(), where, files, how);
  if (!shards) fail(describe(shards.error()));
  auto load_s = now_s() - t2;
  progress("%u shards written (%.2f GB, %llu halo nodes) and loaded in %.1f s",
           parts, static_cast<double>(file_bytes) / 1e9,
           static_cast<unsigned long long>(halo), load_s);

  // the client's scoped actor goes before the cluster
  auto client = std::make_unique<shard_client>(sys, r->map, *shards,
                                               std::chrono::minutes{5});
  sample_options o;
  o.fanouts = {10, 5};
  std::uniform_int_distribution<uint32_t> any{0, g.nodes - 1};
  std::vector<std::vector<uint32_t>> seed_sets(batches);
  for (auto& s : seed_sets)
    for (uint64_t i = 0; i < batch; ++i)
      s.push_back(any(rng));
  std::vector<double> local_rate, shard_rate, local_edges, shard_edges;
  for (int rep = 0; rep < repeats; ++rep) {
    uint64_t edges_a = 0, edges_b = 0;
    std::vector<neighbourhood> whole;
    auto ta = now_s();
    for (uint64_t b = 0; b < batches; ++b) {
      o.seed = seed * 1000 + static_cast<uint64_t>(rep) * batches + b;
      auto n = sample_neighbourhood(g, seed_sets[b], o);
      if (!n) fail(describe(n.error()));
      edges_a += sampled(*n);
      whole.push_back(std::move(*n));
    }
    auto local_s = now_s() - ta;
    auto tb = now_s();
    for (uint64_t b = 0; b < batches; ++b) {
      o.seed = seed * 1000 + static_cast<uint64_t>(rep) * batches + b;
      auto n = client->sample(seed_sets[b], o);
      if (!n) fail(describe(n.error()));
      edges_b += sampled(*n);
      for (size_t h = 0; h < n->hops.size(); ++h)
        if (n->hops[h].neighbours != whole[b].hops[h].neighbours ||
            n->hops[h].offsets != whole[b].hops[h].offsets)
          fail("minibatch " + std::to_string(b) + ": the shards sampled " +
               "another neighbourhood than the whole graph gives");
    }
    auto shard_s = now_s() - tb;
    auto seeds = static_cast<double>(batches * batch);
    local_rate.push_back(seeds / local_s);
    shard_rate.push_back(seeds / shard_s);
    local_edges.push_back(static_cast<double>(edges_a) / local_s);
    shard_edges.push_back(static_cast<double>(edges_b) / shard_s);
    progress("pass %d: %.0f seeds/s in process, %.0f through shards", rep,
             local_rate.back(), shard_rate.back());
  }
  client.reset();
  cluster->reset();
  std::filesystem::remove_all(dir);
  auto lo = [](const std::vector<double>& v) {
    return *std::min_element(v.begin(), v.end());
  };
  auto hi = [](const std::vector<double>& v) {
    return *std::max_element(v.begin(), v.end());
  };
  std::printf(
      "bench_graph_shards: %u nodes, %llu edges, %u shards on 2 nodes: "
      "%.0f seeds/s (%.2f M sampled neighbours/s) through the shard actors, "
      "%.0f seeds/s (%.2f M/s) in one process over the whole graph "
      "(%.2fx; spread %.0f-%.0f and %.0f-%.0f); every minibatch the same\n",
      nodes, static_cast<unsigned long long>(g.edges()), parts,
      median(shard_rate), median(shard_edges) / 1e6, median(local_rate),
      median(local_edges) / 1e6, median(shard_rate) / median(local_rate),
      lo(shard_rate), hi(shard_rate), lo(local_rate), hi(local_rate));
  nlohmann::json out{{"bench", "bench_graph_shards"},
                     {"nodes", nodes},
                     {"edges", g.edges()},
                     {"parts", parts},
                     {"edge_cut", cut},
                     {"halo_nodes", halo},
                     {"shard_file_bytes", file_bytes},
                     {"write_and_load_seconds", load_s},
                     {"batches", batches},
                     {"batch", batch},
                     {"fanouts", o.fanouts},
                     {"shard_seeds_per_s", shard_rate},
                     {"local_seeds_per_s", local_rate},
                     {"shard_neighbours_per_s", shard_edges},
                     {"local_neighbours_per_s", local_edges},
                     {"nproc", nproc()},
                     {"cpu", cpu_model()},
                     {"date", utc_now()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
