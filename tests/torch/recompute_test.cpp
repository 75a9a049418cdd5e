// Recomputation: checkpointed chains give the plain run's gradients bit
// for bit, replay dropout's draws, and keep fewer activations.

#include "actors/models/torch_memory_meter.hpp"
#include "actors/models/torch_recompute.hpp"

#include <catch2/catch.hpp>

namespace nn = troupe::models::torch_nn;

namespace {

/// `blocks` of Linear(width, width), ReLU and Dropout(p), seeded.
torch::nn::Sequential make_chain(int64_t blocks, int64_t width, double p,
                                 uint64_t seed = 7) {
  torch::manual_seed(seed);
  torch::nn::Sequential seq;
  for (int64_t i = 0; i < blocks; ++i) {
    seq->push_back(torch::nn::Linear(width, width));
    seq->push_back(torch::nn::ReLU());
    if (p > 0) seq->push_back(torch::nn::Dropout(p));
  }
  return seq;
}

/// One forward and backward pass with `segments` (1: plain); the
/// parameters' gradients, then the input's if it requires one.
std::vector<torch::Tensor> gradients(torch::nn::Sequential& seq,
                                     const torch::Tensor& x, int64_t segments,
                                     uint64_t dropout_seed = 11) {
  seq->zero_grad();
  torch::manual_seed(dropout_seed);
  auto out = nn::run_chain(nn::chain_of(seq), x, segments);
  (out * out).sum().backward();
  std::vector<torch::Tensor> g;
  for (auto& p : seq->parameters())
    g.push_back(p.grad().clone());
  if (x.requires_grad()) g.push_back(x.grad().clone());
  return g;
}

bool bit_equal(const std::vector<torch::Tensor>& a,
               const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!a[i].defined() || !b[i].defined() || !torch::equal(a[i], b[i]))
      return false;
  return true;
}

} // namespace

TEST_CASE("sqrt_segments rounds the square root of the chain's length",
          "[torch][recompute]") {
  CHECK(nn::sqrt_segments(1) == 1);
  CHECK(nn::sqrt_segments(2) == 1);
  CHECK(nn::sqrt_segments(3) == 2);
  CHECK(nn::sqrt_segments(16) == 4);
  CHECK(nn::sqrt_segments(48) == 7);
  CHECK(nn::sqrt_segments(0) == 1);
}

TEST_CASE("segment schedules keep their budget, cover the chain and beat "
          "even segments",
          "[torch][recompute]") {
  using v = std::vector<int64_t>;
  CHECK(nn::balanced_segments(16) == v{5, 4, 3, 2, 2});
  CHECK(nn::auto_segments(16) == v{6, 5, 5});
  CHECK(nn::balanced_segments(64) == v{11, 10, 9, 8, 7, 6, 5, 4, 4});
  CHECK(nn::auto_segments(64) == v{8, 13, 12, 11, 10, 10});
  CHECK(nn::balanced_segments(3) == v{3});
  CHECK(nn::balanced_segments(1) == v{1});
  CHECK(nn::even_segments(10, 3) == v{3, 3, 4});
  // 4 even segments of 4: the last's 4 layers and 3 inputs, or a middle
  // one's 4, its input... 2 + 4 + 1
  CHECK(nn::kept_layers(v{4, 4, 4, 4}) == 7);
  CHECK(nn::kept_layers(v{5, 4, 3, 2, 2}) == 6);
  auto sum = [](const v& s) {
    int64_t t = 0;
    for (auto x : s)
      t += x;
    return t;
  };
  for (int64_t n = 1; n < 300; ++n) {
    INFO("layers " << n);
    auto even = nn::even_segments(n, nn::sqrt_segments(n));
    auto least = nn::balanced_segments(n), fast = nn::auto_segments(n);
    CHECK(sum(least) == n);
    CHECK(sum(fast) == n);
    // the least memory never keeps more than even sqrt(n) segments; the
    // default keeps no more and recomputes no more
    CHECK(nn::kept_layers(least) <= nn::kept_layers(even));
    CHECK(nn::kept_layers(fast) <= nn::kept_layers(even));
    CHECK(fast.back() >= even.back());
    for (int64_t kept = 1; kept <= 30; ++kept) {
      auto b = nn::budget_segments(n, kept);
      CHECK(sum(b) == n);
      // any budget the least-memory cut meets is met
      if (kept >= nn::kept_layers(least)) CHECK(nn::kept_layers(b) <= kept);
    }
  }
}

TEST_CASE("checkpointed chains give the plain run's gradients bit for bit, "
          "dropout included",
          "[torch][recompute]") {
  auto seq = make_chain(8, 32, 0.25);
  auto x = torch::randn({16, 32});
  auto plain = gradients(seq, x, 1);
  for (int64_t segments : {0, 2, 3, 5, 8, 100}) {
    INFO("segments " << segments);
    auto again = gradients(seq, x, segments);
    CHECK(bit_equal(plain, again));
  }
  // a different dropout draw changes them: the comparison can fail
  CHECK_FALSE(bit_equal(plain, gradients(seq, x, 0, 12)));
}

TEST_CASE("an input that requires a gradient gets the plain run's",
          "[torch][recompute]") {
  auto seq = make_chain(6, 24, 0);
  auto x = torch::randn({8, 24}).requires_grad_(true);
  auto plain = gradients(seq, x, 1);
  x.mutable_grad() = torch::Tensor{};
  auto checkpointed = gradients(seq, x, 3);
  CHECK(bit_equal(plain, checkpointed));
}

TEST_CASE("a segment replays the draws of a generator it is given and "
          "leaves it where the first run did",
          "[torch][recompute]") {
  auto lin = torch::nn::Linear(16, 16);
  auto noisy = [&](at::Generator gen) {
    return [lin, gen](const torch::Tensor& x) mutable {
      auto mask = torch::empty_like(x).bernoulli_(0.5, gen);
      return lin->forward(x * mask);
    };
  };
  auto x = torch::randn({4, 16});
  auto run = [&](bool checkpoint) {
    lin->zero_grad();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(99);
    nn::recompute_options o;
    o.generators.push_back(gen);
    auto y = checkpoint ? nn::checkpointed(noisy(gen), x, lin->parameters(), o)
                        : noisy(gen)(x);
    y.sum().backward();
    auto next = torch::empty({8}).uniform_(0, 1, gen);
    return std::vector<torch::Tensor>{lin->weight.grad().clone(),
                                      lin->bias.grad().clone(), next};
  };
  CHECK(bit_equal(run(false), run(true)));
}

TEST_CASE("without grad mode a checkpointed segment just runs",
          "[torch][recompute]") {
  auto seq = make_chain(4, 8, 0);
  torch::NoGradGuard no_grad;
  auto y = nn::run_chain(nn::chain_of(seq), torch::randn({2, 8}), 2);
  CHECK_FALSE(y.requires_grad());
  CHECK(y.sizes() == torch::IntArrayRef{2, 8});
}

TEST_CASE("a checkpointed chain's peak activation memory is measured lower",
          "[torch][recompute]") {
  auto seq = make_chain(16, 256, 0);
  auto x = torch::randn({512, 256});
  auto layers = nn::chain_of(seq);
  // the loss in one statement, backward in the next: the chain's output
  // is then held by the graph only, as in Python
  auto step = [&](int64_t segments, const nn::recompute_options& o) {
    auto loss = nn::run_chain(layers, x, segments, o).sum();
    loss.backward();
  };
  auto peak = [&](int64_t segments, const nn::recompute_options& o) {
    // gradients exist before the metered step: it counts activations and
    // transients only
    step(segments, o);
    nn::allocation_meter meter;
    step(segments, o);
    return meter.peak_bytes();
  };
  nn::recompute_options least;
  least.least_memory = true;
  auto plain = peak(1, {}), checkpointed = peak(0, {}),
       least_memory = peak(0, least);
  INFO("plain " << plain << " bytes, checkpointed " << checkpointed
                << ", least memory " << least_memory);
  // the plain run keeps each block's ReLU output, 512 x 256 floats (512
  // KiB); segments of 6, 5 and 5 blocks keep at most 7 blocks' worth, the
  // least-memory ones (5, 4, 3, 2, 2) 6
  CHECK(plain >= 16 * 512 * 256 * 4);
  CHECK(checkpointed < plain * 2 / 3);
  CHECK(least_memory < checkpointed);
}

TEST_CASE("the allocation meter counts what torch allocates and frees",
          "[torch][recompute]") {
  nn::allocation_meter meter;
  {
    auto t = torch::empty({1024, 256}); // 1 MiB
    CHECK(meter.current_bytes() == 1024 * 256 * 4);
  }
  auto small = torch::empty({16});
  CHECK(meter.current_bytes() == 16 * 4);
  CHECK(meter.peak_bytes() == 1024 * 256 * 4);
  CHECK(meter.largest_bytes() == 1024 * 256 * 4);
}
