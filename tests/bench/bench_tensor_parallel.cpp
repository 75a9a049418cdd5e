// bench_tensor_parallel: a classification layer of --classes (default
// 1,000,000) classes x --features (512) split by classes over N = 2
// workers (actors/models/torch_tensor_parallel: sharded_classifier, its
// softmax cross-entropy all-reducing the rows' max and sum of exponentials)
// against the unsplit layer (h W^T and torch's cross_entropy), issue 19:
// "memory per worker and step time against the unsplit layer, at N = 1, 2;
// goal <= 0.55x memory per worker at N = 2".
//
// A step: logits and loss of --batch (16) rows of features, backward, and
// an SGD update of the weight in place. Memory: the bytes LibTorch's
// allocator holds at its peak over the layer's creation and --steps (3)
// steps, per worker (allocation_meter: each worker is a thread whose
// meter counts its own allocations; the weight, its gradient, the logits
// and their softmax). Time: the median step. The unsplit layer runs with
// --threads (2) intra-op threads and with 1; each of the N workers with
// threads / N, so both use the same cores. The workers are threads of this
// process in one gloo group over loopback, as in the tests.
//
//   bench_tensor_parallel [--classes 1000000] [--features 512]
//                         [--batch 16] [--steps 3] [--rounds 2]
//                         [--threads 2]
// bench-timeout: 2400

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include "actors/models/torch_group.hpp"
#include "actors/models/torch_memory_meter.hpp"
#include "actors/models/torch_tensor_parallel.hpp"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_process.hpp"

using namespace troupe::bench;
namespace nn = troupe::models::torch_nn;

namespace {

struct run {
  int64_t peak_bytes = 0;
  int64_t largest_bytes = 0;
  std::vector<double> seconds;
  double loss = 0;
};

struct shape {
  int64_t classes, features, batch;
  int steps;
};

constexpr double lr = 0.1;

torch::Tensor features_of(const shape& s) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(17);
  return torch::randn({s.batch, s.features}, gen);
}

torch::Tensor targets_of(const shape& s) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(19);
  return torch::randint(0, s.classes, {s.batch}, gen, torch::kLong);
}

/// The unsplit layer on `threads` intra-op threads.
run unsplit(const shape& s, int threads) {
  run out;
  std::thread t([&] {
    at::set_num_threads(threads);
    nn::allocation_meter meter;
    auto w = torch::empty({s.classes, s.features});
    {
      torch::NoGradGuard no_grad;
      auto bound = 1.0 / std::sqrt(static_cast<double>(s.features));
      w.uniform_(-bound, bound);
    }
    w.requires_grad_(true);
    auto h = features_of(s);
    auto y = targets_of(s);
    for (int i = 0; i <= s.steps; ++i) { // the first step warms up
      auto t0 = clock_type::now();
      auto loss = torch::nn::functional::cross_entropy(h.matmul(w.t()), y);
      loss.backward();
      {
        torch::NoGradGuard no_grad;
        w.add_(w.grad(), -lr);
        w.mutable_grad().zero_();
      }
      if (i > 0) out.seconds.push_back(seconds_since(t0));
      out.loss = loss.item<double>();
    }
    out.peak_bytes = meter.peak_bytes();
    out.largest_bytes = meter.largest_bytes();
  });
  t.join();
  return out;
}

/// The layer split over `world` workers (threads) in one gloo group.
std::vector<run> split(const shape& s, int world, int threads, int round) {
  std::vector<run> out(static_cast<size_t>(world));
  try {
    nn::run_group_threads(world, "bench" + std::to_string(round),
                          threads / world, [&](int r, const nn::group_ptr& g) {
                            auto& o = out[static_cast<size_t>(r)];
                            nn::allocation_meter meter;
                            nn::sharded_classifier c(s.features, s.classes, g,
                                                     5);
                            auto h = features_of(s);
                            auto y = targets_of(s);
                            for (int i = 0; i <= s.steps; ++i) {
                              auto t0 = clock_type::now();
                              auto loss = c->loss(h, y);
                              loss.backward();
                              {
                                torch::NoGradGuard no_grad;
                                c->weight.add_(c->weight.grad(), -lr);
                                c->weight.mutable_grad().zero_();
                              }
                              if (i > 0) o.seconds.push_back(seconds_since(t0));
                              o.loss = loss.item<double>();
                            }
                            o.peak_bytes = meter.peak_bytes();
                            o.largest_bytes = meter.largest_bytes();
                          });
  } catch (const std::exception& e) {
    fail(e.what());
  }
  return out;
}

double gib(int64_t b) {
  return static_cast<double>(b) / (1 << 30);
}

} // namespace

int main(int argc, char** argv) {
  program_name = "bench_tensor_parallel";
  shape s{static_cast<int64_t>(arg_or(argc, argv, "--classes", 1000000)),
          static_cast<int64_t>(arg_or(argc, argv, "--features", 512)),
          static_cast<int64_t>(arg_or(argc, argv, "--batch", 16)),
          static_cast<int>(arg_or(argc, argv, "--steps", 3))};
  auto rounds = static_cast<int>(arg_or(argc, argv, "--rounds", 2));
  auto threads = static_cast<int>(arg_or(argc, argv, "--threads", 2));
  std::vector<double> one_s, one_1t_s, two_s;
  run one, one_1t;
  std::vector<run> two;
  for (int r = 0; r < rounds; ++r) {
    // alternate which runs first
    for (int turn = 0; turn < 3; ++turn) {
      switch ((turn + r) % 3) {
      case 0:
        one = unsplit(s, threads);
        one_s.insert(one_s.end(), one.seconds.begin(), one.seconds.end());
        break;
      case 1:
        one_1t = unsplit(s, 1);
        one_1t_s.insert(one_1t_s.end(), one_1t.seconds.begin(),
                        one_1t.seconds.end());
        break;
      case 2:
        two = split(s, 2, threads, r);
        // a step ends when the slower worker's does
        for (size_t i = 0; i < two[0].seconds.size(); ++i)
          two_s.push_back(std::max(two[0].seconds[i], two[1].seconds[i]));
        break;
      }
    }
    progress("round %d done", r + 1);
  }
  auto per_worker = std::max(two[0].peak_bytes, two[1].peak_bytes);
  auto ratio =
      static_cast<double>(per_worker) / static_cast<double>(one.peak_bytes);
  bool met = ratio <= 0.55;
  std::printf(
      "bench_tensor_parallel: %lld classes x %lld features, batch %lld: "
      "unsplit %.2f GiB, step %.2f s (%d threads; %.2f s on 1); 2 workers "
      "%.2f GiB per worker (%.2fx; goal <= 0.55x), step %.2f s (%.2fx the "
      "unsplit on the same cores); largest tensor %.0f MiB unsplit, %.0f MiB "
      "per worker; loss %.4f unsplit, %.4f split; %s\n",
      static_cast<long long>(s.classes), static_cast<long long>(s.features),
      static_cast<long long>(s.batch), gib(one.peak_bytes), median(one_s),
      threads, median(one_1t_s), gib(per_worker), ratio, median(two_s),
      median(two_s) / median(one_s),
      static_cast<double>(one.largest_bytes) / (1 << 20),
      static_cast<double>(
          std::max(two[0].largest_bytes, two[1].largest_bytes)) /
          (1 << 20),
      one.loss, two[0].loss, met ? "met" : "NOT met");
  nlohmann::json out{
      {"bench", "bench_tensor_parallel"},
      {"classes", s.classes},
      {"features", s.features},
      {"batch", s.batch},
      {"steps", s.steps},
      {"rounds", rounds},
      {"threads", threads},
      {"unsplit",
       {{"peak_bytes", one.peak_bytes},
        {"largest_bytes", one.largest_bytes},
        {"seconds", one_s},
        {"seconds_1_thread", one_1t_s}}},
      {"split_2",
       {{"peak_bytes", {two[0].peak_bytes, two[1].peak_bytes}},
        {"largest_bytes", {two[0].largest_bytes, two[1].largest_bytes}},
        {"seconds", two_s}}},
      {"memory_ratio", ratio},
      {"time_ratio", median(two_s) / median(one_s)},
      {"goal_met", met},
      {"nproc", nproc()},
      {"cpu", cpu_model()},
      {"date", utc_now()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
