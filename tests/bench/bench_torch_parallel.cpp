// bench_torch_parallel: data-parallel LibTorch as a troupe training job
// (family mlp) against PyTorch DDP (python3-torch, gloo backend) with the
// same model, global batch, epochs and threads, at 1 and 2 workers (issue
// 18's goals: >= 1.0x DDP's examples/s, test accuracy equal within 0.3
// points).
//
// Data: Fashion-MNIST, all 60,000 training and 10,000 test images
// (Debian's dataset-fashion-mnist, /usr/share/datasets/fashion-mnist, or
// --data DIR). Model: the mlp family's net (inputs standardised inside it,
// --layers hidden layers of --width units, ReLU), AdamW (lr 1e-3, weight
// decay 1e-5), global batch --batch, --epochs epochs, one intra-op thread
// per worker; repeat r uses seed r on both sides, and the peer draws the
// weights and deals the rows in troupe's order (ddp_mlp.py), so the two
// sides' accuracies compare seed by seed.
//
// troupe: a cluster of real processes on loopback, `troupe node --head`
// (1 slot) and one worker node (1 slot): a job of 1 worker takes one slot,
// a job of 2 one on each node, so every worker is its own process, as
// DDP's are. Its examples/s are counted from the first worker's first step
// to the last reply (summary.json's examples_per_second_stepping): without
// shipping the rows to the workers or joining the group, as the peer's
// time leaves out reading the data and building the model; the job's
// whole time (examples_per_second, from placement) is printed beside it.
// The peer: tests/bench/peers/ddp_mlp.py, DDP over gloo in --workers
// processes. Runs alternate; medians and the spread are reported.
//
//   bench_torch_parallel [--repeats 3] [--epochs 3] [--batch 128]
//                        [--width 128] [--layers 2] [--data DIR]
//                        [--conv 8,16]  (a small CNN first, on both sides)
//                        [--script]  (the same net as a TorchScript file
//                        that both sides train: troupe's torchscript job)
//
// --script: for each seed the peer writes the net (scripted, scaling the
// raw pixels by 1/255 instead of standardising them) to one .pt file; the
// troupe job of family torchscript and DDP (torch.jit.load) both train it.
// bench-timeout: 1800

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/training/wire.hpp"
#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_process.hpp"
#include "tests/bench/bench_training.hpp"

using namespace troupe;
using namespace troupe::bench;
namespace fs = std::filesystem;

namespace {

struct side {
  std::vector<double> rate, accuracy, whole;
};

} // namespace

int main(int argc, char** argv) {
  auto root = start_bench("bench_torch_parallel");
  int repeats = std::stoi(arg_text(argc, argv, "--repeats", "3"));
  auto epochs = arg_text(argc, argv, "--epochs", "3");
  auto batch = arg_text(argc, argv, "--batch", "128");
  auto width = arg_text(argc, argv, "--width", "128");
  auto layers = arg_text(argc, argv, "--layers", "2");
  // a CNN first: "8,16" (troupe's [model] conv = [8, 16]); "": an MLP
  auto conv = arg_text(argc, argv, "--conv", "");
  bool script = has_flag(argc, argv, "--script");
  auto data =
      arg_text(argc, argv, "--data", "/usr/share/datasets/fashion-mnist");
  if (!fs::exists(data))
    fail("no Fashion-MNIST at " + data +
         " (apt-get install dataset-fashion-mnist, or --data DIR)");
  training_cluster cluster{root, 1};
  cluster.start_worker("w1", 1);
  cluster.wait_nodes(2);

  auto peer = std::string{"/usr/bin/python3 "} + TROUPE_SOURCE_DIR +
              "/tests/bench/peers/ddp_mlp.py --data " + data + " --width " +
              width + " --layers " + layers +
              (conv.empty() ? std::string{} : " --conv " + conv);
  // --script: the net of seed r as one TorchScript file for both sides
  auto module_of = [&](int seed) {
    auto path = root + "/net-" + std::to_string(seed) + ".pt";
    if (fs::exists(path)) return path;
    auto [rc, out] =
        run_capture(peer + " --seed " + std::to_string(seed) +
                    " --write-module " + path + " 2>" + root + "/peer.err");
    if (rc != 0) fail("the peer could not write " + path + ": " + out);
    return path;
  };
  int job = 0;
  auto troupe_run = [&](int workers, int seed, side& s) {
    auto id = "job-" + std::to_string(job++);
    auto model =
        script ? "family = \"torchscript\"\n[data]\nimages = \"" + data +
                     "\"\n[model]\nmodule = \"" + module_of(seed) + "\""
               : "family = \"mlp\"\n[data]\nimages = \"" + data +
                     "\"\n[model]\nlayers = " + layers + "\nwidth = " + width +
                     (conv.empty() ? std::string{} : "\nconv = [" + conv + "]");
    auto toml = model +
                "\nlr = 0.001\nweight_decay = 0.00001\n[run]\nworkers = " +
                std::to_string(workers) + "\nbatch = " + batch +
                "\nepochs = " + epochs +
                "\nthreads = 1\nseed = " + std::to_string(seed) +
                "\ncheckpoint_seconds = 0\n";
    auto v = cluster.run(id, toml, 1200);
    if (nodes_of(v) != static_cast<size_t>(workers))
      fail(id + ": its workers share a node");
    auto sum = nlohmann::json::parse(v.summary);
    s.rate.push_back(sum["examples_per_second_stepping"].get<double>());
    s.whole.push_back(sum["examples_per_second"].get<double>());
    s.accuracy.push_back(sum["valid"]["accuracy"].get<double>());
  };
  auto peer_run = [&](int workers, int seed, side& s) {
    auto cmd = peer + " --workers " + std::to_string(workers) + " --epochs " +
               epochs + " --batch " + batch + " --seed " +
               std::to_string(seed) +
               (script ? " --module " + module_of(seed) : std::string{}) +
               " 2>" + root + "/peer.err";
    auto [rc, out] = run_capture(cmd);
    if (rc != 0) fail("the DDP peer failed (see " + root + "/peer.err)");
    auto j = nlohmann::json::parse(out, nullptr, false);
    if (j.is_discarded()) fail("the DDP peer printed no JSON: " + out);
    s.rate.push_back(j["examples_per_s"].get<double>());
    s.accuracy.push_back(j["test_accuracy"].get<double>());
  };

  nlohmann::json out{{"bench", "bench_torch_parallel"},
                     {"epochs", std::stoi(epochs)},
                     {"global_batch", std::stoi(batch)},
                     {"width", std::stoi(width)},
                     {"layers", std::stoi(layers)},
                     {"repeats", repeats},
                     {"conv", conv},
                     {"script", script}};
  bool met = true;
  for (int workers : {1, 2}) {
    side t, p;
    for (int r = 0; r < repeats; ++r) {
      // each repeat a seed of its own (weights, shuffles), the same for
      // both sides: accuracies are compared over seeds
      if (r % 2 == 0) {
        troupe_run(workers, r, t);
        peer_run(workers, r, p);
      } else {
        peer_run(workers, r, p);
        troupe_run(workers, r, t);
      }
      progress("%d worker(s), repeat %d: troupe %.0f examples/s (%.0f from "
               "placement), accuracy %.4f; DDP %.0f examples/s, accuracy %.4f",
               workers, r + 1, t.rate.back(), t.whole.back(), t.accuracy.back(),
               p.rate.back(), p.accuracy.back());
    }
    std::vector<double> ratios;
    for (size_t i = 0; i < t.rate.size(); ++i)
      ratios.push_back(t.rate[i] / p.rate[i]);
    auto ratio = median(ratios);
    auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
    auto gap = 100 * (median(t.accuracy) - median(p.accuracy));
    bool ok = ratio >= 1.0 && std::abs(gap) <= 0.3;
    met = met && ok;
    std::printf("bench_torch_parallel%s%s%s: %d worker(s): troupe %.0f "
                "examples/s, "
                "DDP %.0f examples/s (medians), ratio %.2fx (spread "
                "%.2f-%.2f; goal >= 1.0x); test accuracy troupe %.4f, DDP "
                "%.4f (%+.2f points; goal within 0.3); %s\n",
                script ? " --script" : "", conv.empty() ? "" : " --conv ",
                conv.c_str(), workers, median(t.rate), median(p.rate), ratio,
                *lo, *hi, median(t.accuracy), median(p.accuracy), gap,
                ok ? "met" : "not met");
    out[std::to_string(workers) + "_workers"] = {
        {"troupe_examples_per_s", t.rate},
        {"troupe_examples_per_s_from_placement", t.whole},
        {"troupe_accuracy", t.accuracy},
        {"ddp_examples_per_s", p.rate},
        {"ddp_accuracy", p.accuracy},
        {"median_ratio", ratio},
        {"accuracy_gap_points", gap}};
  }
  out["goal_met"] = met;
  out["nproc"] = nproc();
  out["cpu"] = cpu_model();
  out["date"] = utc_now();
  std::printf("%s\n", out.dump().c_str());
  cluster.stop();
  fs::remove_all(root);
  return 0;
}
