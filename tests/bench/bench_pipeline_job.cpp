// Pipeline jobs through actors: `troupe train` of the same net (layers x
// width, ReLU) cut into K stage actors (one thread each, their tensors as
// PipelineTensor envelopes) against the unsplit net (one stage of K
// threads: the same cores), on one node of K slots, alternating, `--rounds`
// times each: examples per second from the first step (the job's
// examples_per_second_stepping), medians and spread, their ratio, and the
// validation AUC of both (the same net: it must match). Data: the shipped spam
// table (4,601 rows x 57).
//
//   bench_pipeline_job [--stages 2] [--micro 8] [--layers 8] [--width 512]
//                      [--batch 256] [--epochs 3] [--rounds 3]

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_process.hpp"
#include "tests/bench/bench_training.hpp"

using namespace troupe;
using namespace troupe::bench;

namespace {

std::string job_toml(uint64_t stages, uint64_t threads, uint64_t micro,
                     uint64_t layers, uint64_t width, uint64_t batch,
                     uint64_t epochs) {
  return std::string{"family = \"pipeline\"\n[data]\ntrain = \""} +
         TROUPE_SOURCE_DIR +
         "/tests/data/spam.csv\"\ntarget = \"type\"\n[model]\nlayers = " +
         std::to_string(layers) + "\nwidth = " + std::to_string(width) +
         "\nactivation = \"relu\"\n[run]\nstages = " + std::to_string(stages) +
         "\nthreads = " + std::to_string(threads) +
         "\nmicro = " + std::to_string(micro) +
         "\nbatch = " + std::to_string(batch) +
         "\nepochs = " + std::to_string(epochs) +
         "\ncheckpoint_seconds = 0\nseed = 1\n";
}

struct run_result {
  double per_second = 0;
  double auc = 0;
};

run_result train(const std::string& dir, const std::string& name,
                 uint64_t slots) {
  auto out = dir + "/" + name;
  auto pid = spawn({TROUPE_BIN, "train", "--config", dir + "/" + name + ".toml",
                    "--out", out, "--slots", std::to_string(slots), "--quiet"},
                   dir + "/" + name + ".log");
  auto st = wait_child(pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail("troupe train " + name + " failed (see " + dir + "/" + name + ".log)");
  std::ifstream in{out + "/summary.json"};
  auto s = nlohmann::json::parse(in, nullptr, false);
  if (!s.is_object()) fail("no summary in " + out);
  return {s["examples_per_second_stepping"].get<double>(),
          s["valid"].value("auc", 0.0)};
}

} // namespace

int main(int argc, char** argv) {
  auto dir = start_bench("bench_pipeline_job");
  auto stages = arg_or(argc, argv, "--stages", 2);
  auto micro = arg_or(argc, argv, "--micro", 8);
  auto layers = arg_or(argc, argv, "--layers", 8);
  auto width = arg_or(argc, argv, "--width", 512);
  auto batch = arg_or(argc, argv, "--batch", 256);
  auto epochs = arg_or(argc, argv, "--epochs", 3);
  auto rounds = arg_or(argc, argv, "--rounds", 3);
  for (auto [name, k] :
       {std::pair<const char*, uint64_t>{"whole", 1}, {"cut", stages}}) {
    std::ofstream f{dir + "/" + name + ".toml"};
    // the same cores: the unsplit net gets a thread for each stage's
    f << job_toml(k, k == 1 ? stages : 1, micro, layers, width, batch, epochs);
  }
  std::vector<double> whole, cut;
  double auc_whole = 0, auc_cut = 0;
  for (uint64_t r = 0; r < rounds; ++r) {
    auto w = train(dir, "whole", stages);
    auto c = train(dir, "cut", stages);
    whole.push_back(w.per_second);
    cut.push_back(c.per_second);
    auc_whole = w.auc;
    auc_cut = c.auc;
    progress("round %llu: 1 stage %.1f, %llu stages %.1f examples/s",
             static_cast<unsigned long long>(r + 1), w.per_second,
             static_cast<unsigned long long>(stages), c.per_second);
  }
  auto mw = median(whole), mc = median(cut);
  std::printf("bench_pipeline_job: %llu layers x %llu, batch %llu in %llu "
              "micro-batches (1f1b), %llu epochs of spam, %llu rounds, %u "
              "cores\n",
              static_cast<unsigned long long>(layers),
              static_cast<unsigned long long>(width),
              static_cast<unsigned long long>(batch),
              static_cast<unsigned long long>(micro),
              static_cast<unsigned long long>(epochs),
              static_cast<unsigned long long>(rounds), nproc());
  std::printf("1 stage of %llu threads: %.1f examples/s (%.1f-%.1f)\n",
              static_cast<unsigned long long>(stages), mw, quantile(whole, 0),
              quantile(whole, 1));
  std::printf("%llu stage actors: %.1f examples/s (%.1f-%.1f)\n",
              static_cast<unsigned long long>(stages), mc, quantile(cut, 0),
              quantile(cut, 1));
  std::printf("ratio: %.2fx the unsplit net; validation AUC %.6f and %.6f "
              "(%s)\n",
              mc / mw, auc_whole, auc_cut,
              auc_whole == auc_cut ? "the same net" : "DIFFERENT");
  return auc_whole == auc_cut ? 0 : 1;
}
