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
//   bench_graphsage [--epochs 3] [--batch 512] [--dims 256] [--threads 2]
//                   [--packages FILE,FILE,...]
// bench-timeout: 1800

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/graph/debian_packages.hpp"
#include "actors/graph/halo.hpp"
#include "actors/graph/node_task.hpp"
#include "actors/graph/sampler.hpp"
#include "actors/models/torch_group.hpp"
#include "actors/models/torch_sage.hpp"
#include "runtime/errors.hpp"
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
  auto train_worker = [&](int world, int rank, nn::group_ptr group,
                          outcome& out) {
    torch::manual_seed(5);
    nn::sage_net net(t->cols, to.hidden, classes);
    for (uint32_t e = 0; e < epochs; ++e) {
      auto o = to;
      o.seed = e + 1;
      auto t0 = clock_type::now();
      auto losses =
          nn::train_sage(net, x, labels, train, through_shards, o, group);
      out.epoch_seconds.push_back(seconds_since(t0));
      out.losses.push_back(losses.back());
    }
    if (rank == 0)
      out.accuracy = nn::sage_accuracy(net, x, labels, test, through_shards);
    (void)world;
  };
  outcome one;
  {
    std::thread t([&] {
      at::set_num_threads(threads);
      train_worker(1, 0, {}, one);
    });
    t.join();
  }
  progress("1 worker done");
  std::vector<outcome> two(2);
  try {
    nn::run_group_threads(
        2, "sage", threads / 2, [&](int rank, const nn::group_ptr& grp) {
          train_worker(2, rank, grp, two[static_cast<size_t>(rank)]);
        });
  } catch (const std::exception& e) {
    fail(e.what());
  }
  std::vector<double> two_s;
  for (size_t e = 0; e < two[0].epoch_seconds.size(); ++e)
    two_s.push_back(std::max(two[0].epoch_seconds[e], two[1].epoch_seconds[e]));
  std::printf(
      "bench_graphsage: %u packages, %llu edges, %zu sections: epoch %.2f s "
      "with 1 worker (%d threads), %.2f s with 2 workers (%.2fx faster); "
      "test accuracy %.3f (1 worker), %.3f (2 workers) against %.3f for the "
      "majority section (%+.1f points)\n",
      n, static_cast<unsigned long long>(g.edges()), l->label_names.size(),
      median(one.epoch_seconds), threads, median(two_s),
      median(one.epoch_seconds) / median(two_s), one.accuracy, two[0].accuracy,
      majority_accuracy, 100 * (one.accuracy - majority_accuracy));
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
                     {"majority_accuracy", majority_accuracy},
                     {"sources", files},
                     {"nproc", nproc()},
                     {"cpu", cpu_model()},
                     {"date", utc_now()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
