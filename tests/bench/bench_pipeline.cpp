// bench_pipeline: troupe's pipeline parallelism (actors/models/
// torch_pipeline) — the measured bubble against the bound (K - 1) /
// (M + K - 1) for K = 2, 4 stages and M = 1, 4, 16 micro-batches under
// GPipe and 1F1B (goal: within 10%), and the throughput of a real model
// split into 2 stages against the unsplit model on the same cores
// (issue 19).
//
// Bubble: stages of known cost, --stage-ms (default 20) milliseconds
// forward and twice that backward per micro-batch (sleeps: the schedule's
// overlap is measured, not the cores; this machine has 2), --repeats (3)
// minibatches each, the median idle share. What exceeds the bound is the
// stages' hand-offs (a thread woken per micro-batch, about 0.2 ms here),
// so it shrinks as the stages' cost grows. Throughput: --blocks (8) blocks
// of Linear(--width 512) and ReLU, a minibatch of --batch (256) rows, MSE
// loss; unsplit on 2 and on 1 intra-op threads, and 2 stages of 1 thread
// each (balanced by parameter count) with M = 4 and 8 under 1F1B;
// examples per second, the median of --rounds (3) rounds of --steps (5)
// minibatches, the variants taking turns.
//
//   bench_pipeline [--stage-ms 20] [--repeats 3] [--blocks 8] [--width 512]
//                  [--batch 256] [--steps 5] [--rounds 3]
// bench-timeout: 1200

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/models/pipeline_schedule.hpp"
#include "actors/models/torch_pipeline.hpp"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_process.hpp"
#include "tests/torch/timed_layer.hpp"

using namespace troupe::bench;
using troupe::models::balance_stages;
using troupe::models::bubble_bound;
using troupe::models::pipeline_schedule;
namespace nn = troupe::models::torch_nn;

namespace {

torch::Tensor mse(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::mse_loss(a, b);
}

} // namespace

int main(int argc, char** argv) {
  program_name = "bench_pipeline";
  auto stage_ms = static_cast<int>(arg_or(argc, argv, "--stage-ms", 20));
  auto repeats = static_cast<int>(arg_or(argc, argv, "--repeats", 3));
  auto blocks = static_cast<int>(arg_or(argc, argv, "--blocks", 8));
  auto width = static_cast<int64_t>(arg_or(argc, argv, "--width", 512));
  auto batch = static_cast<int64_t>(arg_or(argc, argv, "--batch", 256));
  auto steps = static_cast<int>(arg_or(argc, argv, "--steps", 5));
  auto rounds = static_cast<int>(arg_or(argc, argv, "--rounds", 3));
  nlohmann::json out{{"bench", "bench_pipeline"}, {"stage_ms", stage_ms}};
  bool all_met = true;

  // the bubble
  auto x = torch::randn({64, 4}), y = torch::randn({64, 4});
  nlohmann::json bubbles = nlohmann::json::array();
  for (auto s : {pipeline_schedule::gpipe, pipeline_schedule::one_f_one_b})
    for (uint32_t stages : {2u, 4u})
      for (uint32_t micro : {1u, 4u, 16u}) {
        std::vector<std::vector<nn::chain_layer>> cut;
        for (uint32_t k = 0; k < stages; ++k)
          cut.push_back({troupe::test::timed_layer(stage_ms)});
        nn::pipeline_options o;
        o.schedule = s;
        o.micro = micro;
        std::vector<double> idle;
        for (int r = 0; r < repeats; ++r)
          idle.push_back(nn::run_pipeline(cut, x, y, mse, o).idle_fraction());
        auto bound = bubble_bound(stages, micro);
        auto measured = median(idle);
        bool met = std::abs(measured - bound) <= 0.1 * bound + 1e-9;
        all_met = all_met && met;
        std::printf("bench_pipeline: %s, K %u, M %2u: bubble %.3f, bound "
                    "%.3f (%+.1f%%; goal within 10%%)%s\n",
                    to_string(s).c_str(), stages, micro, measured, bound,
                    bound > 0 ? 100 * (measured / bound - 1) : 0.0,
                    met ? "" : " NOT met");
        std::fflush(stdout);
        bubbles.push_back({{"schedule", to_string(s)},
                           {"stages", stages},
                           {"micro", micro},
                           {"idle", idle},
                           {"bound", bound},
                           {"met", met}});
      }
  out["bubble"] = bubbles;

  // throughput against the unsplit model
  torch::manual_seed(3);
  torch::nn::Sequential seq;
  for (int i = 0; i < blocks; ++i) {
    seq->push_back(torch::nn::Linear(width, width));
    seq->push_back(torch::nn::ReLU());
  }
  auto layers = nn::chain_of(seq);
  auto cut =
      nn::cut_stages(layers, balance_stages(nn::parameter_costs(layers), 2));
  auto bx = torch::randn({batch, width}), by = torch::randn({batch, width});
  // the unsplit model on this thread (its OpenMP team made once); the
  // stages' threads run 1 intra-op thread each
  auto unsplit_step = [&](int threads) {
    at::set_num_threads(threads);
    auto loss = mse(seq->forward(bx), by);
    loss.backward();
  };
  struct variant {
    std::string name;
    std::function<void()> step;
    std::vector<double> per_s;
  };
  std::vector<variant> variants;
  variants.push_back({"unsplit, 2 threads", [&] { unsplit_step(2); }, {}});
  variants.push_back({"unsplit, 1 thread", [&] { unsplit_step(1); }, {}});
  for (uint32_t m : {4u, 8u})
    variants.push_back({"2 stages, M " + std::to_string(m),
                        [&, m] {
                          nn::pipeline_options o;
                          o.micro = m;
                          nn::run_pipeline(cut, bx, by, mse, o);
                        },
                        {}});
  for (int r = 0; r < rounds; ++r)
    for (size_t i = 0; i < variants.size(); ++i) {
      auto& v = variants[(i + static_cast<size_t>(r)) % variants.size()];
      v.step(); // warm
      auto t0 = clock_type::now();
      for (int s = 0; s < steps; ++s)
        v.step();
      v.per_s.push_back(static_cast<double>(batch * steps) / seconds_since(t0));
      seq->zero_grad();
    }
  nlohmann::json tp;
  auto base = median(variants[0].per_s);
  for (auto& v : variants) {
    std::printf("bench_pipeline: %d x Linear(%lld) + ReLU, batch %lld: %s "
                "%.0f examples/s (%.2fx unsplit on 2 threads)\n",
                blocks, static_cast<long long>(width),
                static_cast<long long>(batch), v.name.c_str(), median(v.per_s),
                median(v.per_s) / base);
    tp[v.name] = v.per_s;
  }
  out["throughput"] = tp;
  out["goal_met"] = all_met;
  out["nproc"] = nproc();
  out["cpu"] = cpu_model();
  out["date"] = utc_now();
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
