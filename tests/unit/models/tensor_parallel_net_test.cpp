// Tensor-parallel nets through the torch plugin (actors/models/
// tensor_parallel_net, the plugin's torch_tp.cpp): a net split over two
// workers of a gloo group (threads here) trains as the same net on one
// worker does (losses and scores relative <= 1e-5), each worker holding
// about half of its parameters; a worker saved and restored carries on as
// if never stopped; another rank's state and a net too small to split are
// named.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <thread>

#include "actors/models/tensor_parallel_net.hpp"
#include "runtime/errors.hpp"
#include "tests/support/compare.hpp"

using namespace troupe;
using namespace troupe::models;

using troupe::test::relative;

namespace {

constexpr uint32_t cols = 6;
constexpr uint32_t classes = 5;

void planted(size_t rows, uint64_t seed, std::vector<float>& x,
             std::vector<float>& y) {
  std::mt19937_64 rng{seed};
  std::normal_distribution<float> n{0, 1};
  for (size_t r = 0; r < rows; ++r) {
    float s[classes] = {};
    for (uint32_t c = 0; c < cols; ++c) {
      float v = n(rng);
      x.push_back(v);
      s[c % classes] += v;
    }
    y.push_back(static_cast<float>(std::max_element(s, s + classes) - s));
  }
}

tp_spec spec() {
  tp_spec s;
  s.inputs = cols;
  s.classes = classes;
  s.width = 8;
  s.hidden = 16;
  s.blocks = 2;
  s.lr = 1e-2;
  s.seed = 11;
  return s;
}

/// Runs f(rank, group) on `world` threads, each a member of one group.
void in_group(int world, const std::string& name,
              const std::function<void(int, const torch_group&)>& f) {
  auto store = torch_rendezvous::serve("127.0.0.1", world, 30);
  REQUIRE(store);
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int w = 0; w < world; ++w)
    threads.emplace_back([&, w] {
      auto g = torch_group::join("127.0.0.1", store->port(), name, w, world,
                                 "127.0.0.1", 30);
      if (!g) {
        errors[w] = describe(g.error());
        return;
      }
      f(w, *g);
    });
  for (auto& t : threads)
    t.join();
  for (auto& e : errors)
    CHECK(e.empty());
}

struct run_result {
  std::vector<double> losses;
  tp_scores scores;
  size_t bytes = 0;
};

std::vector<run_result> train(int world, const std::vector<float>& x,
                              const std::vector<float>& y) {
  std::vector<run_result> out(world);
  in_group(world, "tp" + std::to_string(world),
           [&](int w, const torch_group& g) {
             auto net = tp_net::create(spec(), g);
             if (!net) FAIL(describe(net.error()));
             out[w].bytes = net->parameter_bytes();
             for (uint64_t e = 0; e < 3; ++e) {
               auto l = net->fit_epoch(x.data(), y.data(), y.size(), 20,
                                       y.size() / 20, 100 + e);
               if (!l) FAIL(describe(l.error()));
               out[w].losses.push_back(*l);
             }
             auto s = net->evaluate(x.data(), y.data(), y.size());
             if (!s) FAIL(describe(s.error()));
             out[w].scores = *s;
           });
  return out;
}

} // namespace

TEST_CASE("a net split over two workers trains as the same net on one "
          "worker, each holding about half of it",
          "[tensor-parallel-net]") {
  std::vector<float> x, y;
  planted(200, 4, x, y);
  auto one = train(1, x, y);
  auto two = train(2, x, y);
  REQUIRE(one[0].losses.size() == 3);
  CHECK(one[0].losses[2] < one[0].losses[0]);
  CHECK(one[0].scores.accuracy > 0.5);
  for (int w = 0; w < 2; ++w) {
    REQUIRE(two[w].losses.size() == 3);
    for (size_t e = 0; e < 3; ++e)
      CHECK(relative(two[w].losses[e], one[0].losses[e]) <= 1e-5);
    CHECK(relative(two[w].scores.logloss, one[0].scores.logloss) <= 1e-5);
    CHECK(two[w].scores.accuracy == one[0].scores.accuracy);
    // the input layer, the blocks and the classes are split; the blocks'
    // output biases are whole on each
    CHECK(two[w].bytes < 0.6 * one[0].bytes);
  }
}

TEST_CASE("a tensor-parallel worker saved and restored carries on as if "
          "never stopped, and refuses another rank's state",
          "[tensor-parallel-net]") {
  std::vector<float> x, y;
  planted(100, 6, x, y);
  std::vector<std::vector<uint8_t>> saved(2);
  std::vector<double> next(2), again(2);
  std::vector<std::string> refused(2);
  in_group(2, "tp-save", [&](int w, const torch_group& g) {
    auto a = tp_net::create(spec(), g);
    REQUIRE(a);
    REQUIRE(a->fit_epoch(x.data(), y.data(), y.size(), 20, 5, 1));
    saved[w] = *a->save();
    next[w] = *a->fit_epoch(x.data(), y.data(), y.size(), 20, 5, 2);
    auto other = spec();
    other.seed = 99;
    auto b = tp_net::create(other, g);
    REQUIRE(b);
    REQUIRE_FALSE(b->load(saved[w]));
    again[w] = *b->fit_epoch(x.data(), y.data(), y.size(), 20, 5, 2);
    // the other rank's state
    auto err = b->load(saved[1 - w].empty() ? saved[w] : saved[1 - w]);
    if (err) refused[w] = describe(err);
  });
  CHECK(again[0] == next[0]);
  CHECK(again[1] == next[1]);
  CHECK_THAT(
      refused[0],
      Catch::Contains(
          "another part (rank 1, world 2; this one is rank 0, world 2)"));
}

TEST_CASE("a tensor-parallel net too small to split is named",
          "[tensor-parallel-net]") {
  in_group(2, "tp-small", [&](int, const torch_group& g) {
    auto s = spec();
    s.classes = 1;
    auto net = tp_net::create(s, g);
    REQUIRE_FALSE(net);
    CHECK_THAT(describe(net.error()), Catch::Contains("classes >= 2"));
  });
}
