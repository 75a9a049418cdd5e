// bench-timeout: 1800
// bench_nas: neural architecture search against a hand-designed CNN of the
// same budget. Runs `troupe nas --baseline` on the full Fashion-MNIST
// (dataset-fashion-mnist: 60,000 training images, of which --validation are
// held out to score candidates, and 10,000 test images): a MobileNet-like
// supernet trained with one sub-network of <= 100,000 parameters per batch,
// an evolutionary search (or --strategy rl) scored with the supernet's
// weights, the best network retrained for --epochs epochs, and the
// LeNet-5-like CNN (conv 5x5 20 + BN + pool, conv 5x5 40 + BN + pool,
// fc 40, fc 10: 99,470 parameters) trained from scratch for the same
// epochs on the same images. Reports both test accuracies (goal: the
// searched network's is higher) and the search's cost in multiples of one
// full training of the searched network (wall clock, and image passes with
// a scoring pass counted as a third of a training pass). CPU only. The
// defaults (2 epochs each, 16 candidates, 1 intra-op thread) took 22 minutes
// on this machine's 2 cores, shared by several sessions (1 epoch each: 10
// minutes); a first try with 2 intra-op threads got 23% of a core and had
// not finished the supernet's first epoch after 12 minutes.
//
//   bench_nas [--epochs 2] [--supernet-epochs 2] [--candidates 16]
//             [--validation 2000] [--train-images 0] [--threads 1]
//             [--seed 0] [--strategy evolution|rl] [--from-scratch 0|1]
//             [--data /usr/share/datasets/fashion-mnist]

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench_common.hpp"

namespace {

std::string arg_text(int argc, char** argv, const char* flag,
                     std::string fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0) return argv[i + 1];
  return fallback;
}

} // namespace

int main(int argc, char** argv) {
  using troupe::bench::arg_or;
  auto epochs = arg_or(argc, argv, "--epochs", 2);
  auto supernet_epochs = arg_or(argc, argv, "--supernet-epochs", 2);
  auto candidates = arg_or(argc, argv, "--candidates", 16);
  auto validation = arg_or(argc, argv, "--validation", 2000);
  auto train_images = arg_or(argc, argv, "--train-images", 0);
  auto threads = arg_or(argc, argv, "--threads", 1);
  auto seed = arg_or(argc, argv, "--seed", 0);
  auto scratch = arg_or(argc, argv, "--from-scratch", 0);
  auto strategy = arg_text(argc, argv, "--strategy", "evolution");
  auto data =
      arg_text(argc, argv, "--data", "/usr/share/datasets/fashion-mnist");
  if (!std::filesystem::exists(data + "/train-images-idx3-ubyte.gz")) {
    std::fprintf(stderr,
                 "bench_nas: no Fashion-MNIST in %s (apt-get install "
                 "dataset-fashion-mnist)\n",
                 data.c_str());
    return 1;
  }
  auto out = std::filesystem::temp_directory_path() /
             ("bench_nas." + std::to_string(::getpid()));
  std::filesystem::create_directories(out);
  auto cmd = std::string{TROUPE_BIN} + " nas --data " + data + " --out " +
             out.string() + " --space mobilenet --strategy " + strategy +
             " --max-params 100000 --supernet-epochs " +
             std::to_string(supernet_epochs) + " --epochs " +
             std::to_string(epochs) + " --candidates " +
             std::to_string(candidates) + " --validation " +
             std::to_string(validation) + " --train-images " +
             std::to_string(train_images) + " --threads " +
             std::to_string(threads) + " --seed " + std::to_string(seed) +
             (scratch ? " --from-scratch" : "") + " --baseline 1>&2";
  std::fprintf(stderr, "bench_nas: %s\n", cmd.c_str());
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "bench_nas: troupe nas failed\n");
    return 1;
  }
  std::ifstream in{out / "summary.json"};
  auto s = nlohmann::json::parse(in, nullptr, false);
  std::filesystem::remove_all(out);
  if (s.is_discarded()) {
    std::fprintf(stderr, "bench_nas: summary.json does not parse\n");
    return 1;
  }
  double ours = s["accuracy"]["test"];
  double base = s["baseline"]["test_accuracy"];
  double wall = s["search_cost_full_trainings"]["wall_clock"];
  double passes = s["search_cost_full_trainings"]["image_passes"];
  int64_t params = s["best"]["params"];
  int64_t flops = s["best"]["flops"];
  std::printf(
      "bench_nas: Fashion-MNIST test accuracy, <= 100,000 parameters, %llu "
      "epochs each: searched %s network (%s; %lld params, %.2f MFLOPs) "
      "%.4f vs LeNet-5-like CNN (99,470 params) %.4f (%s, %+.2f points); "
      "search cost %.2f full trainings by wall clock, %.2f by image passes\n",
      static_cast<unsigned long long>(epochs), strategy.c_str(),
      s["best"]["description"].get<std::string>().c_str(),
      static_cast<long long>(params), static_cast<double>(flops) / 1e6, ours,
      base, ours > base ? "higher" : "not higher", (ours - base) * 100, wall,
      passes);
  nlohmann::json j;
  j["bench"] = "bench_nas";
  j["searched_test_accuracy"] = ours;
  j["baseline_test_accuracy"] = base;
  j["goal_met"] = ours > base;
  j["baseline"] = "LeNet-5-like CNN: conv5x5(20)+BN+ReLU+maxpool, "
                  "conv5x5(40)+BN+ReLU+maxpool, fc 1960->40, fc 40->10";
  j["summary"] = s;
  j["summary"].erase("history");
  j["nproc"] = troupe::bench::nproc();
  j["cpu"] = troupe::bench::cpu_model();
  j["date"] = troupe::bench::utc_now();
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
