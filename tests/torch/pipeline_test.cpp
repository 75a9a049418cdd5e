// Pipeline parallelism: plans, balanced cuts, and a K-stage pipeline of M
// micro-batches whose gradients equal the unsplit model's, whose stages
// keep the activations their schedule promises and idle as the bubble
// bound says.

#include "actors/models/pipeline_schedule.hpp"
#include "actors/models/torch_pipeline.hpp"
#include "tests/torch/timed_layer.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

namespace nn = troupe::models::torch_nn;
using troupe::models::balance_stages;
using troupe::models::bubble_bound;
using troupe::models::most_in_flight;
using troupe::models::pipeline_schedule;
using troupe::models::stage_plan;

TEST_CASE("stage plans run each micro-batch forward then backward once, in "
          "order, and 1F1B keeps at most K - k",
          "[torch][pipeline]") {
  for (auto s : {pipeline_schedule::gpipe, pipeline_schedule::one_f_one_b})
    for (uint32_t stages : {1u, 2u, 4u})
      for (uint32_t micro : {1u, 3u, 4u, 16u})
        for (uint32_t k = 0; k < stages; ++k) {
          INFO(to_string(s)
               << " K " << stages << " M " << micro << " stage " << k);
          auto plan = stage_plan(s, k, stages, micro);
          REQUIRE(plan.size() == 2 * micro);
          uint32_t next_f = 0, next_b = 0;
          for (auto& op : plan) {
            if (op.forward) {
              CHECK(op.micro == next_f++);
            } else {
              CHECK(op.micro == next_b++);
              CHECK(op.micro < next_f); // its forward came first
            }
          }
          if (s == pipeline_schedule::gpipe)
            CHECK(most_in_flight(plan) == micro);
          else
            CHECK(most_in_flight(plan) == std::min(stages - k, micro));
        }
  CHECK(bubble_bound(4, 4) == Approx(3.0 / 7));
  CHECK(bubble_bound(1, 8) == 0);
}

TEST_CASE("balanced stages minimise the largest stage", "[torch][pipeline]") {
  using v = std::vector<size_t>;
  CHECK(balance_stages({1, 1, 1, 1}, 2) == v{0, 2});
  CHECK(balance_stages({5, 1, 1, 1, 1, 1}, 2) == v{0, 1});
  CHECK(balance_stages({1, 2, 3}, 3) == v{0, 1, 2});
  CHECK_THROWS(balance_stages({1, 2}, 3));
  // against every cut of small random chains
  std::mt19937 rng{4};
  for (int t = 0; t < 200; ++t) {
    size_t n = 2 + rng() % 7, k = 1 + rng() % n;
    std::vector<double> c(n);
    for (auto& x : c)
      x = 1 + rng() % 9;
    auto largest = [&](const v& starts) {
      double most = 0;
      for (size_t s = 0; s < starts.size(); ++s) {
        double sum = 0;
        auto end = s + 1 < starts.size() ? starts[s + 1] : n;
        for (auto i = starts[s]; i < end; ++i)
          sum += c[i];
        most = std::max(most, sum);
      }
      return most;
    };
    auto got = balance_stages(c, k);
    REQUIRE(got.size() == k);
    CHECK(got[0] == 0);
    for (size_t s = 1; s < k; ++s)
      CHECK(got[s] > got[s - 1]);
    double best = 1e18;
    for (uint32_t mask = 0; mask < (1u << (n - 1)); ++mask) {
      if (static_cast<size_t>(__builtin_popcount(mask)) != k - 1) continue;
      v starts{0};
      for (size_t i = 1; i < n; ++i)
        if (mask & (1u << (i - 1))) starts.push_back(i);
      best = std::min(best, largest(starts));
    }
    CHECK(largest(got) == best);
  }
}

namespace {

/// Linear + tanh blocks.
torch::nn::Sequential net(int blocks, int width) {
  torch::manual_seed(21);
  torch::nn::Sequential seq;
  for (int i = 0; i < blocks; ++i) {
    seq->push_back(torch::nn::Linear(width, width));
    seq->push_back(torch::nn::Functional(
        [](const torch::Tensor& t) { return torch::tanh(t); }));
  }
  return seq;
}

std::vector<torch::Tensor> grads_of(torch::nn::Sequential& seq) {
  std::vector<torch::Tensor> g;
  for (auto& p : seq->parameters()) {
    g.push_back(p.grad().clone());
    p.mutable_grad().zero_();
  }
  return g;
}

double worst(const std::vector<torch::Tensor>& a,
             const std::vector<torch::Tensor>& b) {
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    auto scale = std::max(b[i].abs().max().item<double>(), 1e-12);
    w = std::max(w, (a[i] - b[i]).abs().max().item<double>() / scale);
  }
  return w;
}

} // namespace

TEST_CASE("a K-stage pipeline of M micro-batches gives the unsplit model's "
          "gradients under both schedules",
          "[torch][pipeline]") {
  auto seq = net(8, 12);
  auto layers = nn::chain_of(seq);
  auto x = torch::randn({24, 12}), y = torch::randn({24, 12});
  auto mse = [](const torch::Tensor& out, const torch::Tensor& t) {
    return torch::mse_loss(out, t);
  };
  auto unsplit_loss = mse(seq->forward(x), y);
  unsplit_loss.backward();
  auto expected = grads_of(seq);
  for (auto s : {pipeline_schedule::gpipe, pipeline_schedule::one_f_one_b})
    for (uint32_t stages : {2u, 4u})
      for (uint32_t micro : {1u, 4u, 5u})
        for (bool recompute : {false, true}) {
          INFO(to_string(s) << " K " << stages << " M " << micro
                            << (recompute ? " recompute" : ""));
          nn::pipeline_options o;
          o.schedule = s;
          o.micro = micro;
          o.recompute = recompute;
          auto cut = nn::cut_stages(
              layers, balance_stages(nn::parameter_costs(layers), stages));
          auto r = nn::run_pipeline(cut, x, y, mse, o);
          CHECK(r.loss == Approx(unsplit_loss.item<double>()).epsilon(1e-5));
          CHECK(worst(grads_of(seq), expected) <= 1e-5);
          REQUIRE(r.stages.size() == stages);
          for (uint32_t k = 0; k < stages; ++k)
            if (s == pipeline_schedule::gpipe)
              CHECK(r.stages[k].most_kept == micro);
            else
              CHECK(r.stages[k].most_kept <= std::min(stages - k, micro));
        }
}

namespace {

/// Tensors as the bytes a stage actor's message carries: float32 values
/// and their shape, one queue per (direction, receiving stage), with the
/// micro-batch checked on the way out.
class byte_mailboxes {
public:
  struct message {
    uint32_t micro;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };

  explicit byte_mailboxes(uint32_t stages) : boxes_(2 * stages) {}

  void put(bool forward, uint32_t to, uint32_t micro, const torch::Tensor& t) {
    auto c = t.contiguous().to(torch::kFloat32);
    message m{micro, c.sizes().vec(), {}};
    auto* p = reinterpret_cast<const uint8_t*>(c.data_ptr<float>());
    m.bytes.assign(p, p + c.numel() * sizeof(float));
    auto& b = boxes_[index(forward, to)];
    {
      std::lock_guard<std::mutex> lock{b.mutex};
      b.queue.push_back(std::move(m));
    }
    b.ready.notify_one();
  }

  torch::Tensor take(bool forward, uint32_t at, uint32_t micro) {
    auto& b = boxes_[index(forward, at)];
    std::unique_lock<std::mutex> lock{b.mutex};
    if (!b.ready.wait_for(lock, std::chrono::seconds{30},
                          [&] { return !b.queue.empty(); }))
      throw std::runtime_error("no tensor came in 30 s");
    auto m = std::move(b.queue.front());
    b.queue.pop_front();
    if (m.micro != micro)
      throw std::runtime_error("micro-batch " + std::to_string(m.micro) +
                               " came where " + std::to_string(micro) +
                               " was due");
    // a tensor of its own, as one decoded from a message
    auto t = torch::empty(m.shape, torch::kFloat32);
    std::memcpy(t.data_ptr<float>(), m.bytes.data(), m.bytes.size());
    return t;
  }

private:
  struct box {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<message> queue;
  };
  static size_t index(bool forward, uint32_t stage) {
    return 2 * stage + (forward ? 0 : 1);
  }
  std::vector<box> boxes_;
};

class byte_links : public nn::stage_links {
public:
  byte_links(byte_mailboxes& m, uint32_t k) : m_(m), k_(k) {}
  torch::Tensor receive_activation(uint32_t micro) override {
    return m_.take(true, k_, micro);
  }
  void send_activation(uint32_t micro, const torch::Tensor& t) override {
    m_.put(true, k_ + 1, micro, t);
  }
  torch::Tensor receive_gradient(uint32_t micro) override {
    return m_.take(false, k_, micro);
  }
  void send_gradient(uint32_t micro, const torch::Tensor& g) override {
    m_.put(false, k_ - 1, micro, g);
  }

private:
  byte_mailboxes& m_;
  uint32_t k_;
};

} // namespace

TEST_CASE("stages that exchange their tensors as bytes, as stage actors' "
          "messages carry them, each on its own thread, give the in-process "
          "pipeline's gradients bit for bit",
          "[torch][pipeline]") {
  auto seq = net(6, 10);
  auto layers = nn::chain_of(seq);
  auto x = torch::randn({20, 10}), y = torch::randn({20, 10});
  auto mse = [](const torch::Tensor& out, const torch::Tensor& t) {
    return torch::mse_loss(out, t);
  };
  for (auto s : {pipeline_schedule::gpipe, pipeline_schedule::one_f_one_b}) {
    INFO(to_string(s));
    nn::pipeline_options o;
    o.schedule = s;
    o.micro = 4;
    uint32_t stages = 3;
    auto cut = nn::cut_stages(
        layers, balance_stages(nn::parameter_costs(layers), stages));
    auto in_process = nn::run_pipeline(cut, x, y, mse, o);
    auto expected = grads_of(seq);
    byte_mailboxes boxes{stages};
    auto xs = x.tensor_split(o.micro, 0);
    auto ys = y.tensor_split(o.micro, 0);
    double loss = 0;
    std::vector<std::string> errors(stages);
    std::vector<std::thread> threads;
    for (uint32_t k = 0; k < stages; ++k)
      threads.emplace_back([&, k] {
        try {
          at::set_num_threads(1);
          byte_links links{boxes, k};
          // only the first stage sees the inputs, only the last the targets
          nn::run_stage(cut[k], k, stages,
                        k == 0 ? xs : std::vector<torch::Tensor>{},
                        k + 1 == stages ? ys : std::vector<torch::Tensor>{},
                        x.size(0), mse, o, links, &loss);
        } catch (const std::exception& e) {
          errors[k] = e.what();
        }
      });
    for (auto& t : threads)
      t.join();
    for (auto& e : errors)
      CHECK(e.empty());
    CHECK(loss == in_process.loss);
    auto got = grads_of(seq);
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i)
      CHECK(torch::equal(got[i], expected[i]));
  }
  // a stage whose neighbour sends another micro-batch than its plan's is
  // stopped with both named
  byte_mailboxes boxes{2};
  boxes.put(true, 1, 3, torch::zeros({5, 10}));
  auto cut = nn::cut_stages(layers, {0, layers.size() / 2});
  nn::pipeline_options o;
  o.micro = 4;
  byte_links links{boxes, 1};
  double loss = 0;
  CHECK_THROWS_WITH(nn::run_stage(cut[1], 1, 2, {}, y.tensor_split(4, 0),
                                  x.size(0), mse, o, links, &loss),
                    Catch::Contains("micro-batch 3 came where 0 was due"));
}

TEST_CASE("stages of equal cost idle within 10% of the bubble bound",
          "[torch][pipeline]") {
  auto x = torch::randn({16, 4}), y = torch::randn({16, 4});
  auto loss = [](const torch::Tensor& o, const torch::Tensor& t) {
    return torch::mse_loss(o, t);
  };
  for (auto s : {pipeline_schedule::gpipe, pipeline_schedule::one_f_one_b})
    for (uint32_t stages : {2u, 4u}) {
      // 40 ms stages, the median of 3 minibatches: a thread woken late
      // on a busy machine (the tests run two at a time) idles its
      // neighbours, a fraction of a millisecond per hand-off
      std::vector<std::vector<nn::chain_layer>> cut;
      for (uint32_t k = 0; k < stages; ++k)
        cut.push_back({troupe::test::timed_layer(40)});
      nn::pipeline_options o;
      o.schedule = s;
      o.micro = 4;
      std::vector<double> idle;
      for (int i = 0; i < 3; ++i)
        idle.push_back(nn::run_pipeline(cut, x, y, loss, o).idle_fraction());
      std::sort(idle.begin(), idle.end());
      auto bound = bubble_bound(stages, 4);
      INFO(to_string(s) << " K " << stages << ": idle " << idle[1] << ", bound "
                        << bound);
      CHECK(std::abs(idle[1] - bound) <= 0.1 * bound);
    }
}

TEST_CASE("measured costs rank a slow layer above a fast one and leave "
          "the gradients as they were",
          "[torch][pipeline]") {
  auto fast = troupe::test::timed_layer(0),
       slow = troupe::test::timed_layer(30);
  fast.params[0].mutable_grad() = torch::full({1}, 7.0);
  auto costs = nn::measured_costs({fast, slow}, torch::randn({4, 2}), 3);
  REQUIRE(costs.size() == 2);
  CHECK(costs[1] > costs[0] + 0.05); // 30 ms forward, 60 ms backward
  CHECK(costs[1] >= 0.09);
  CHECK(fast.params[0].grad().item<double>() == 7.0);
  CHECK_FALSE(slow.params[0].grad().defined());
  // and balance_stages puts the slow one alone
  CHECK(balance_stages({costs[0], costs[0], costs[1]}, 2) ==
        std::vector<size_t>{0, 2});
}

TEST_CASE("a pipeline refuses more micro-batches than rows",
          "[torch][pipeline]") {
  auto seq = net(2, 4);
  auto cut = nn::cut_stages(nn::chain_of(seq), {0, 1});
  nn::pipeline_options o;
  o.micro = 9;
  auto loss = [](const torch::Tensor& a, const torch::Tensor& b) {
    return torch::mse_loss(a, b);
  };
  CHECK_THROWS_WITH(nn::run_pipeline(cut, torch::randn({8, 4}),
                                     torch::randn({8, 4}), loss, o),
                    Catch::Contains("9 micro-batches of a minibatch of 8"));
}
