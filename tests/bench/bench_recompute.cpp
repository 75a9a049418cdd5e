// bench_recompute: troupe's recomputation (actors/models/torch_recompute)
// against PyTorch's torch.utils.checkpoint (python3-torch) on the same model
// and batch (issue 19: ">= 50% less activation memory at <= 35% more time,
// and at least as good as PyTorch on both").
//
// The model: --blocks (default 16,32,64) blocks of Linear(width, width) and
// ReLU, --width 256, a batch of --batch 256 rows, the loss the sum of the
// squared outputs. troupe cuts the chain by auto_segments(blocks) (the
// memory of sqrt(n) even segments, less recomputation: segments shrinking
// toward the output), by balanced_segments(blocks) (the least memory) and,
// for reference, into sqrt_segments(blocks) even segments; the goals are
// judged on the first. PyTorch gets sqrt_segments(blocks) even
// segments: checkpoint_sequential (reentrant,
// the input requiring a gradient as its documentation asks) and
// checkpoint(use_reentrant=False) over the same segments
// (tests/bench/peers/recompute_peer.py).
//
// The bound the machine sets: recomputing a layer costs its forward pass,
// so the fraction of a plain step the forward pass takes (measured on the
// plain steps: about 40% here, more than the third a Linear's FLOPs
// suggest) times the share of layers the least-memory cut recomputes is
// the least extra time of any cut that saves as much memory (each layer
// recomputed at most once); printed per size.
//
// Peak memory: bytes the CPU allocator hands out minus bytes it takes back
// during one step after a warm-up step (the gradients already exist), at
// their highest; both sides count through c10's memory hook (troupe's
// allocation_meter, PyTorch's profiler with profile_memory). Step time: the
// median over --rounds rounds (default 3) of --steps steps (default 5), the
// variants taking turns inside a round and troupe and PyTorch alternating
// which runs first; both on --threads (default 2) intra-op threads.
//
//   bench_recompute [--blocks 16,32,64] [--width 256] [--batch 256]
//                   [--steps 5] [--rounds 3] [--threads 2]
// bench-timeout: 1800

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/models/torch_memory_meter.hpp"
#include "actors/models/torch_recompute.hpp"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_process.hpp"

using namespace troupe::bench;
namespace nn = troupe::models::torch_nn;

namespace {

struct side {
  int64_t peak_bytes = 0;
  std::vector<double> seconds;
  /// The plain variant: each step's forward pass alone.
  std::vector<double> forward_seconds;
};

torch::nn::Sequential build(int64_t blocks, int64_t width) {
  torch::manual_seed(7);
  torch::nn::Sequential seq;
  for (int64_t i = 0; i < blocks; ++i) {
    seq->push_back(torch::nn::Linear(width, width));
    seq->push_back(torch::nn::ReLU());
  }
  return seq;
}

/// troupe's variants in turns: `segments` per variant (1: plain, 0:
/// automatic, -1: least memory, N: N even segments).
void run_troupe(int64_t blocks, int64_t width, int64_t batch, int steps,
                const std::vector<std::pair<int64_t, side*>>& variants) {
  auto seq = build(blocks, width);
  auto layers = nn::chain_of(seq);
  auto x = torch::randn({batch, width});
  auto step = [&](int64_t k, double* forward = nullptr) {
    // one statement builds the loss and the next runs backward: a C++
    // temporary (the squared outputs) would otherwise live through the
    // backward pass, which Python's does not
    nn::recompute_options o;
    o.least_memory = k < 0;
    auto t0 = clock_type::now();
    auto loss =
        nn::run_chain(layers, x, std::max<int64_t>(k, 0), o).pow(2).sum();
    if (forward) *forward = seconds_since(t0);
    loss.backward();
  };
  for (auto [k, s] : variants) {
    step(k);
    nn::allocation_meter meter;
    step(k);
    s->peak_bytes = meter.peak_bytes();
  }
  for (int i = 0; i < steps; ++i)
    for (auto [k, s] : variants) {
      auto t0 = clock_type::now();
      double forward = 0;
      step(k, k == 1 ? &forward : nullptr);
      s->seconds.push_back(seconds_since(t0));
      if (k == 1) s->forward_seconds.push_back(forward);
    }
}

std::string mib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB",
                static_cast<double>(bytes) / (1 << 20));
  return buf;
}

} // namespace

int main(int argc, char** argv) {
  program_name = "bench_recompute";
  auto blocks_list = arg_list(argc, argv, "--blocks", "16,32,64");
  auto width = static_cast<int64_t>(arg_or(argc, argv, "--width", 256));
  auto batch = static_cast<int64_t>(arg_or(argc, argv, "--batch", 256));
  auto steps = static_cast<int>(arg_or(argc, argv, "--steps", 5));
  auto rounds = static_cast<int>(arg_or(argc, argv, "--rounds", 3));
  auto threads = static_cast<int>(arg_or(argc, argv, "--threads", 2));
  at::set_num_threads(threads);
  nlohmann::json out{{"bench", "bench_recompute"},
                     {"width", width},
                     {"batch", batch},
                     {"steps", steps},
                     {"rounds", rounds},
                     {"threads", threads}};
  bool all_met = true;
  for (auto& btext : blocks_list) {
    auto blocks = static_cast<int64_t>(std::stoll(btext));
    auto segments = nn::sqrt_segments(blocks);
    side plain, ckpt, least, even;
    nlohmann::json peer_runs = nlohmann::json::array();
    std::vector<double> torch_plain_s, torch_re_s, torch_nonre_s;
    int64_t torch_plain_peak = 0, torch_re_peak = 0, torch_nonre_peak = 0;
    for (int r = 0; r < rounds; ++r) {
      for (int turn = 0; turn < 2; ++turn) {
        if ((turn == 0) == (r % 2 == 0)) {
          run_troupe(
              blocks, width, batch, steps,
              {{1, &plain}, {0, &ckpt}, {-1, &least}, {segments, &even}});
          continue;
        }
        auto cmd = std::string{"/usr/bin/python3 "} + TROUPE_SOURCE_DIR +
                   "/tests/bench/peers/recompute_peer.py --blocks " + btext +
                   " --width " + std::to_string(width) + " --batch " +
                   std::to_string(batch) + " --segments " +
                   std::to_string(segments) + " --steps " +
                   std::to_string(steps) + " --threads " +
                   std::to_string(threads);
        auto [rc, text] = run_capture(cmd);
        if (rc != 0) fail(("the PyTorch peer failed: " + cmd).c_str());
        auto j = nlohmann::json::parse(text);
        peer_runs.push_back(j);
        for (auto& s : j["plain"]["seconds"])
          torch_plain_s.push_back(s);
        for (auto& s : j["reentrant"]["seconds"])
          torch_re_s.push_back(s);
        for (auto& s : j["non_reentrant"]["seconds"])
          torch_nonre_s.push_back(s);
        torch_plain_peak = j["plain"]["peak_bytes"];
        torch_re_peak = j["reentrant"]["peak_bytes"];
        torch_nonre_peak = j["non_reentrant"]["peak_bytes"];
      }
      progress("%lld blocks: round %d done", static_cast<long long>(blocks),
               r + 1);
    }
    auto saved = 1.0 - static_cast<double>(ckpt.peak_bytes) /
                           static_cast<double>(plain.peak_bytes);
    auto overhead = median(ckpt.seconds) / median(plain.seconds) - 1.0;
    auto torch_saved = 1.0 - static_cast<double>(torch_re_peak) /
                                 static_cast<double>(torch_plain_peak);
    auto torch_overhead = median(torch_re_s) / median(torch_plain_s) - 1.0;
    auto best_torch_peak = std::min(torch_re_peak, torch_nonre_peak);
    auto best_torch_s = std::min(median(torch_re_s), median(torch_nonre_s));
    auto time_ratio = median(ckpt.seconds) / best_torch_s;
    // the machine's bound: recomputing a layer costs its forward pass, so
    // the least time any cut keeping at most half the activations can take
    // is the recomputation of the least-memory cut's checkpointed layers
    auto forward_share = median(plain.forward_seconds) / median(plain.seconds);
    auto lm = nn::balanced_segments(blocks);
    auto recomputed = blocks - lm.back();
    auto time_floor = forward_share * static_cast<double>(recomputed) /
                      static_cast<double>(blocks);
    bool met = saved >= 0.5 && overhead <= 0.35 &&
               ckpt.peak_bytes <= best_torch_peak && time_ratio <= 1.0;
    all_met = all_met && met;
    std::printf(
        "bench_recompute: %lld blocks: troupe peak %s plain, %s "
        "checkpointed (%zu segments: %.0f%% less), step %.3f s "
        "plain, %.3f s checkpointed (%+.0f%%); troupe least memory (%zu "
        "segments) %s, %.3f s; troupe with %lld even segments %s, %.3f s; "
        "PyTorch (%lld segments) peak %s plain, %s reentrant, %s "
        "non-reentrant (%.0f%% less), step %.3f s plain, %.3f s reentrant "
        "(%+.0f%%), %.3f s non-reentrant; troupe/PyTorch checkpointed: "
        "memory %.2fx, time %.2fx (goals: >= 50%% less, <= +35%%, <= 1x "
        "both); %s\n",
        static_cast<long long>(blocks), mib(plain.peak_bytes).c_str(),
        mib(ckpt.peak_bytes).c_str(), nn::auto_segments(blocks).size(),
        100 * saved, median(plain.seconds), median(ckpt.seconds),
        100 * overhead, nn::balanced_segments(blocks).size(),
        mib(least.peak_bytes).c_str(), median(least.seconds),
        static_cast<long long>(segments), mib(even.peak_bytes).c_str(),
        median(even.seconds), static_cast<long long>(segments),
        mib(torch_plain_peak).c_str(), mib(torch_re_peak).c_str(),
        mib(torch_nonre_peak).c_str(), 100 * torch_saved, median(torch_plain_s),
        median(torch_re_s), 100 * torch_overhead, median(torch_nonre_s),
        static_cast<double>(ckpt.peak_bytes) /
            static_cast<double>(best_torch_peak),
        time_ratio, met ? "met" : "NOT met");
    std::printf(
        "bench_recompute: %lld blocks: the bound: a forward pass is "
        "%.1f%% of a plain step; the least-memory cut (%s less) "
        "recomputes %lld of %lld layers: at least %+.1f%% time\n",
        static_cast<long long>(blocks), 100 * forward_share,
        [&] {
          char b[16];
          std::snprintf(b, sizeof b, "%.0f%%",
                        100 *
                            (1.0 - static_cast<double>(least.peak_bytes) /
                                       static_cast<double>(plain.peak_bytes)));
          return std::string{b};
        }()
            .c_str(),
        static_cast<long long>(recomputed), static_cast<long long>(blocks),
        100 * time_floor);
    std::fflush(stdout);
    out[btext + "_blocks"] = {
        {"segments", nn::auto_segments(blocks)},
        {"least_memory_segments", nn::balanced_segments(blocks)},
        {"pytorch_segments", segments},
        {"troupe",
         {{"plain",
           {{"peak_bytes", plain.peak_bytes}, {"seconds", plain.seconds}}},
          {"checkpointed",
           {{"peak_bytes", ckpt.peak_bytes}, {"seconds", ckpt.seconds}}},
          {"least_memory",
           {{"peak_bytes", least.peak_bytes}, {"seconds", least.seconds}}},
          {"even_segments",
           {{"peak_bytes", even.peak_bytes}, {"seconds", even.seconds}}}}},
        {"pytorch", peer_runs},
        {"forward_share", forward_share},
        {"least_memory_recomputed_layers", recomputed},
        {"least_memory_time_floor", time_floor},
        {"memory_saved", saved},
        {"time_overhead", overhead},
        {"memory_vs_best_pytorch", static_cast<double>(ckpt.peak_bytes) /
                                       static_cast<double>(best_torch_peak)},
        {"time_vs_best_pytorch", time_ratio},
        {"goal_met", met}};
  }
  out["goal_met"] = all_met;
  out["nproc"] = nproc();
  out["cpu"] = cpu_model();
  out["date"] = utc_now();
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
