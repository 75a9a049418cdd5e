// bench_graphsage: GraphSAGE (actors/models/torch_sage) on Debian's package
// graph (issue 19: "GraphSAGE epoch time with 1 and 2 workers on the
// package graph, and test accuracy"): every Packages file apt keeps (or
// --packages A,B), nodes renumbered by 2 METIS parts, minibatches sampled
// through the 2 shards (fanouts 10, 5); features: each name's hashed
// character trigrams (--dims 256) and log(1 + degree); label: the
// package's Section. A fifth of the packages (by a hash of the node) is
// held out; the baseline predicts the training set's most common section.
//
// 1 worker: --threads (2) intra-op threads. 2 workers: data-parallel
// threads of this process, 1 intra-op thread each, in a gloo group over
// loopback, each on its half of every minibatch (--batch 512 seeds), the
// gradients all-reduced. --epochs (3) epochs each; the epoch time is the
// median epoch; the accuracy the held-out packages' after the last.
//
// Then the same two runs through graph shard actors (actors/graph/
// shard_actor.hpp): an in-process cluster of a head and a worker node
// joined over loopback, one shard per node loaded from its partition's
// file shipped through the dataset caches; each worker's thread samples
// its minibatches and fetches their nodes' features from the shards
// (Cap'n Proto envelopes), holding no feature table of its own.
//
//   bench_graphsage [--epochs 3] [--batch 512] [--dims 256] [--threads 2]
//                   [--packages FILE,FILE,...]
// bench-timeout: 1800

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/graph/debian_packages.hpp"
#include "actors/graph/halo.hpp"
#include "actors/graph/node_task.hpp"
#include "actors/graph/sampler.hpp"
#include "actors/graph/shard_actor.hpp"
#include "actors/graph/shard_client.hpp"
#include "actors/graph/shard_file.hpp"
#include "actors/graph/shard_placement.hpp"
#include "actors/models/torch_group.hpp"
#include "actors/models/torch_sage.hpp"
#include "runtime/errors.hpp"
#include "runtime/node.hpp"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_process.hpp"

using namespace troupe;
using namespace troupe::bench;
using namespace troupe::graph;
namespace nn = troupe::models::torch_nn;

namespace {

struct outcome {
  std::vector<double> epoch_seconds;
  std::vector<double> losses;
  double accuracy = 0;
};

} // namespace

int main(int argc, char** argv) {
  program_name = "bench_graphsage";
  auto epochs = static_cast<uint32_t>(arg_or(argc, argv, "--epochs", 3));
  auto batch = static_cast<uint32_t>(arg_or(argc, argv, "--batch", 512));
  auto dims = static_cast<uint32_t>(arg_or(argc, argv, "--dims", 256));
  auto threads = static_cast<int>(arg_or(argc, argv, "--threads", 2));
  auto files = arg_list(argc, argv, "--packages");
  if (files.empty()) files = apt_package_files();
  if (files.empty()) fail("no Packages files (apt-get update, or --packages)");
  auto l = debian_package_graph(files);
  if (!l) fail(describe(l.error()));
  auto t = node_task_of(*l, 2, dims);
  if (!t) fail(describe(t.error()));
  auto& g = t->graph;
  auto n = g.nodes;
  auto x =
      torch::from_blob(t->features.data(), {static_cast<int64_t>(n),
                                            static_cast<int64_t>(t->cols)});
  auto& labels = t->labels;
  auto& train = t->train;
  auto& test = t->test;
  auto majority_accuracy = t->majority_accuracy;
  std::vector<shard_view> shards;
  for (uint32_t p = 0; p < 2; ++p) {
    auto s = shard_of(g, t->map, p);
    if (!s) fail(describe(s.error()));
    shards.push_back(std::move(*s));
  }
  nn::sage_sampler through_shards = [&](const std::vector<uint32_t>& seeds,
                                        uint64_t round) {
    sample_options o;
    o.fanouts = {10, 5};
    o.seed = round;
    auto s = sample_through_shards(
        t->map, seeds, o,
        ask_each([&](uint32_t p, const std::vector<uint32_t>& nodes, uint32_t k,
                     uint32_t hop) {
          return sample_owned(shards[p], nodes, k, o.seed, hop);
        }));
    if (!s) throw std::runtime_error(describe(s.error()));
    std::vector<nn::sage_hop> hops;
    for (auto& h : s->hops)
      hops.push_back({h.frontier, h.offsets, h.neighbours});
    return hops;
  };
  progress("package graph: %u nodes, %llu edges, %zu sections; %zu train, "
           "%zu test",
           n, static_cast<unsigned long long>(g.edges()), l->label_names.size(),
           train.size(), test.size());

  nn::sage_train_options to;
  to.batch = batch;
  to.epochs = 1;
  auto classes = static_cast<int64_t>(l->label_names.size());
  // each worker trains epoch by epoch (timed), from the same initial net
  auto train_worker = [&](int rank, nn::group_ptr group,
                          const nn::sage_sampler& sample, outcome& out) {
    torch::manual_seed(5);
    nn::sage_net net(t->cols, to.hidden, classes);
    for (uint32_t e = 0; e < epochs; ++e) {
      auto o = to;
      o.seed = e + 1;
      auto t0 = clock_type::now();
      auto losses = nn::train_sage(net, x, labels, train, sample, o, group);
      out.epoch_seconds.push_back(seconds_since(t0));
      out.losses.push_back(losses.back());
    }
    if (rank == 0)
      out.accuracy = nn::sage_accuracy(net, x, labels, test, sample);
  };
  // one worker and two, each worker's sampler made on its own thread
  using sampler_maker = std::function<nn::sage_sampler()>;
  auto one_and_two = [&](const std::string& name, const sampler_maker& make,
                         outcome& one, std::vector<double>& two_s,
                         outcome& two0) {
    {
      std::thread th([&] {
        at::set_num_threads(threads);
        train_worker(0, {}, make(), one);
      });
      th.join();
    }
    progress("%s: 1 worker done", name.c_str());
    std::vector<outcome> two(2);
    try {
      nn::run_group_threads(2, "sage-" + name, threads / 2,
                            [&](int rank, const nn::group_ptr& grp) {
                              train_worker(rank, grp, make(),
                                           two[static_cast<size_t>(rank)]);
                            });
    } catch (const std::exception& e) {
      fail(e.what());
    }
    for (size_t e = 0; e < two[0].epoch_seconds.size(); ++e)
      two_s.push_back(
          std::max(two[0].epoch_seconds[e], two[1].epoch_seconds[e]));
    two0 = two[0];
    progress("%s: 2 workers done", name.c_str());
  };
  outcome one, two0;
  std::vector<double> two_s;
  one_and_two(
      "in-process", [&] { return through_shards; }, one, two_s, two0);
  std::vector<outcome> two{two0};

  // through shard actors on two nodes
  auto dir = std::filesystem::temp_directory_path() /
             ("bench_graphsage." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<std::string> shard_files;
  for (uint32_t p = 0; p < 2; ++p) {
    auto sh = graph_shard_of(g, t->map, p, t->features, t->cols, labels);
    if (!sh) fail(describe(sh.error()));
    shard_files.push_back((dir / ("part-" + std::to_string(p))).string());
    if (auto err = write_graph_shard(shard_files.back(), *sh))
      fail(describe(err));
  }
  auto cluster = local_cluster::start(1, 1, register_graph_kinds, {}, {},
                                      (dir / "nodes").string());
  if (!cluster) fail(describe(cluster.error()));
  auto& sys = (*cluster)->head_system();
  auto placed = place_shards(sys, (*cluster)->directory(), {"head", "worker-1"},
                             shard_files);
  if (!placed) fail(describe(placed.error()));
  auto shard_actors = *placed;
  // each worker's client lives as long as its sampler
  auto through_actors = [&] {
    auto client = std::make_shared<shard_client>(sys, t->map, shard_actors);
    return nn::sage_sampler{
        [client](const std::vector<uint32_t>& seeds, uint64_t round) {
          sample_options o;
          o.fanouts = {10, 5};
          o.seed = round;
          auto b = client->batch(seeds, o);
          if (!b) throw std::runtime_error(describe(b.error()));
          auto rows = torch::from_blob(b->rows.values.data(),
                                       {static_cast<int64_t>(b->nodes.size()),
                                        static_cast<int64_t>(b->rows.dims)})
                          .clone();
          std::vector<nn::sage_hop> hops;
          for (auto& h : b->hops.hops)
            hops.push_back({h.frontier, h.offsets, h.neighbours});
          return nn::sage_batch{std::move(hops), rows};
        }};
  };
  outcome a_one, a_two0;
  std::vector<double> a_two_s;
  one_and_two("shard actors", through_actors, a_one, a_two_s, a_two0);
  cluster->reset();
  std::filesystem::remove_all(dir);
  std::printf(
      "bench_graphsage: %u packages, %llu edges, %zu sections: epoch %.2f s "
      "with 1 worker (%d threads), %.2f s with 2 workers (%.2fx faster); "
      "test accuracy %.3f (1 worker), %.3f (2 workers) against %.3f for the "
      "majority section (%+.1f points)\n",
      n, static_cast<unsigned long long>(g.edges()), l->label_names.size(),
      median(one.epoch_seconds), threads, median(two_s),
      median(one.epoch_seconds) / median(two_s), one.accuracy, two[0].accuracy,
      majority_accuracy, 100 * (one.accuracy - majority_accuracy));
  std::printf(
      "bench_graphsage: through 2 shard actors on 2 nodes (samples and "
      "features as envelopes): epoch %.2f s with 1 worker, %.2f s with 2 "
      "workers (%.2fx faster); %.2fx and %.2fx the in-process shards' "
      "epoch; test accuracy %.3f, %.3f\n",
      median(a_one.epoch_seconds), median(a_two_s),
      median(a_one.epoch_seconds) / median(a_two_s),
      median(a_one.epoch_seconds) / median(one.epoch_seconds),
      median(a_two_s) / median(two_s), a_one.accuracy, a_two0.accuracy);
  nlohmann::json out{{"bench", "bench_graphsage"},
                     {"nodes", n},
                     {"edges", g.edges()},
                     {"sections", l->label_names.size()},
                     {"train", train.size()},
                     {"test", test.size()},
                     {"dims", dims},
                     {"batch", batch},
                     {"epochs", epochs},
                     {"one_worker",
                      {{"epoch_seconds", one.epoch_seconds},
                       {"losses", one.losses},
                       {"accuracy", one.accuracy}}},
                     {"two_workers",
                      {{"epoch_seconds", two_s},
                       {"losses", two[0].losses},
                       {"accuracy", two[0].accuracy}}},
                     {"shard_actors",
                      {{"one_worker",
                        {{"epoch_seconds", a_one.epoch_seconds},
                         {"losses", a_one.losses},
                         {"accuracy", a_one.accuracy}}},
                       {"two_workers",
                        {{"epoch_seconds", a_two_s},
                         {"losses", a_two0.losses},
                         {"accuracy", a_two0.accuracy}}}}},
                     {"majority_accuracy", majority_accuracy},
                     {"sources", files},
                     {"nproc", nproc()},
                     {"cpu", cpu_model()},
                     {"date", utc_now()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
