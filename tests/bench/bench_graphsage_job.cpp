// GraphSAGE jobs through actors (issue 19: "GraphSAGE epoch time with 1
// and 2 workers on the package graph, and test accuracy"): `troupe train`
// of a graphsage job on Debian's package graph (every Packages file apt
// keeps, or --packages A,B), its nodes in 2 METIS shards served by
// graph.shard actors, with 1 worker of 2 intra-op threads against 2
// workers of 1 thread (the same cores), each sampling its share of every
// minibatch through the shards and the replicas' gradients all-reduced
// (gloo); on one node of 2 slots, alternating, --rounds times each. The
// epoch time: the job's step_seconds (from the first step) over its
// epochs; its spread over the rounds; the held-out packages' accuracy of
// both (the same net up to the order of float sums) against the majority
// section's.
//
//   bench_graphsage_job [--epochs 3] [--batch 512] [--dims 256]
//                       [--rounds 3] [--packages FILE,FILE,...]
// bench-timeout: 3600

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/graph/debian_packages.hpp"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_process.hpp"
#include "tests/bench/bench_training.hpp"

using namespace troupe;
using namespace troupe::bench;

namespace {

std::string job_toml(const std::vector<std::string>& files, uint64_t workers,
                     uint64_t threads, uint64_t batch, uint64_t dims,
                     uint64_t epochs) {
  std::string list;
  for (auto& f : files)
    list += (list.empty() ? "\"" : ", \"") + f + "\"";
  return "family = \"graphsage\"\n[data]\npackages = [" + list +
         "]\n[model]\ndims = " + std::to_string(dims) +
         "\n[run]\nworkers = " + std::to_string(workers) +
         "\nthreads = " + std::to_string(threads) +
         "\nshards = 2\nbatch = " + std::to_string(batch) +
         "\nepochs = " + std::to_string(epochs) +
         "\ncheckpoint_seconds = 0\nseed = 1\n";
}

struct run_result {
  double epoch_seconds = 0;
  double accuracy = 0;
  double majority = 0;
  double data_share = 0;
  uint64_t nodes = 0, edges = 0;
};

run_result train(const std::string& dir, const std::string& name,
                 uint64_t epochs) {
  auto out = dir + "/" + name;
  auto pid = spawn({TROUPE_BIN, "train", "--config", dir + "/" + name + ".toml",
                    "--out", out, "--slots", "2", "--quiet"},
                   dir + "/" + name + ".log");
  auto st = wait_child(pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail("troupe train " + name + " failed (see " + dir + "/" + name + ".log)");
  std::ifstream in{out + "/summary.json"};
  auto s = nlohmann::json::parse(in, nullptr, false);
  if (!s.is_object()) fail("no summary in " + out);
  run_result r;
  r.epoch_seconds =
      s["step_seconds"].get<double>() / static_cast<double>(epochs);
  r.accuracy = s["valid"].value("accuracy", 0.0);
  r.majority = s["majority_accuracy"].get<double>();
  r.data_share = s.value("data_wait_share", 0.0);
  r.nodes = s["nodes"].get<uint64_t>();
  r.edges = s["edges"].get<uint64_t>();
  return r;
}

} // namespace

int main(int argc, char** argv) {
  auto dir = start_bench("bench_graphsage_job");
  auto epochs = arg_or(argc, argv, "--epochs", 3);
  auto batch = arg_or(argc, argv, "--batch", 512);
  auto dims = arg_or(argc, argv, "--dims", 256);
  auto rounds = arg_or(argc, argv, "--rounds", 3);
  auto files = arg_list(argc, argv, "--packages");
  if (files.empty()) files = graph::apt_package_files();
  if (files.empty()) fail("no Packages files (apt-get update, or --packages)");
  for (auto [name, w] :
       {std::pair<const char*, uint64_t>{"one", 1}, {"two", 2}}) {
    std::ofstream f{dir + "/" + name + ".toml"};
    // the same cores: one worker gets both threads
    f << job_toml(files, w, w == 1 ? 2 : 1, batch, dims, epochs);
  }
  std::vector<double> one, two;
  run_result r1, r2;
  for (uint64_t r = 0; r < rounds; ++r) {
    // alternating which runs first
    if (r % 2 == 0) {
      r1 = train(dir, "one", epochs);
      r2 = train(dir, "two", epochs);
    } else {
      r2 = train(dir, "two", epochs);
      r1 = train(dir, "one", epochs);
    }
    one.push_back(r1.epoch_seconds);
    two.push_back(r2.epoch_seconds);
    progress("round %llu: 1 worker %.2f s, 2 workers %.2f s an epoch",
             static_cast<unsigned long long>(r + 1), r1.epoch_seconds,
             r2.epoch_seconds);
  }
  auto m1 = median(one), m2 = median(two);
  std::printf("bench_graphsage_job: %llu packages, %llu edges, 2 shard "
              "actors, batch %llu, %llu epochs, %llu rounds, %u cores\n",
              static_cast<unsigned long long>(r1.nodes),
              static_cast<unsigned long long>(r1.edges),
              static_cast<unsigned long long>(batch),
              static_cast<unsigned long long>(epochs),
              static_cast<unsigned long long>(rounds), nproc());
  std::printf("1 worker of 2 threads: epoch %.2f s (%.2f-%.2f), test accuracy "
              "%.3f, waiting for data %.0f%%\n",
              m1, quantile(one, 0), quantile(one, 1), r1.accuracy,
              100 * r1.data_share);
  std::printf("2 workers of 1 thread: epoch %.2f s (%.2f-%.2f), test accuracy "
              "%.3f, waiting for data %.0f%%\n",
              m2, quantile(two, 0), quantile(two, 1), r2.accuracy,
              100 * r2.data_share);
  std::printf("ratio: 2 workers %.2fx faster; the majority section: accuracy "
              "%.3f (%+.1f points for GraphSAGE)\n",
              m1 / m2, r1.majority, 100 * (r2.accuracy - r1.majority));
  return 0;
}
