// The NAS search spaces: decisions, counting, and sampling under limits.

#include <algorithm>

#include <catch2/catch.hpp>

#include "actors/nas/errors.hpp"
#include "actors/nas/sampler.hpp"
#include "actors/nas/space.hpp"

using namespace troupe::nas;

namespace {

/// Whether every dimension of `a` is at most its supernet's.
bool is_slice_of(const net_arch& a, const net_arch& big) {
  if (a.stem > big.stem || a.stages.size() != big.stages.size()) return false;
  for (size_t s = 0; s < a.stages.size(); ++s) {
    auto& x = a.stages[s];
    auto& y = big.stages[s];
    if (x.stride != y.stride || x.width > y.width ||
        x.blocks.size() > y.blocks.size())
      return false;
    for (size_t b = 0; b < x.blocks.size(); ++b)
      if (x.blocks[b].kernel > y.blocks[b].kernel ||
          x.blocks[b].hidden > y.blocks[b].hidden)
        return false;
  }
  return true;
}

} // namespace

TEST_CASE("nas: the hand-designed baseline has 99,470 parameters",
          "[nas][space]") {
  auto a = lenet_baseline();
  // conv 1->20 5x5 + BN, conv 20->40 5x5 + BN, fc 1960->40, fc 40->10
  CHECK(count_params(a) == 500 + 40 + 20000 + 80 + 1960 * 40 + 40 + 410);
  CHECK(count_params(a) <= 100000);
  CHECK(count_flops(a) ==
        28 * 28 * 20 * 25 + 14 * 14 * 40 * 20 * 25 + 1960 * 40 + 400);
}

TEST_CASE("nas: a MobileNet-like network's parameters and FLOPs count every "
          "convolution, batch norm and the classifier",
          "[nas][space]") {
  net_arch a;
  a.kind = space_kind::mobilenet;
  a.stem = 8;
  // one stride-2 stage of one block: 8 -> hidden 16 (k3) -> 16
  a.stages = {{2, 16, {{3, 16}}}};
  int64_t params = 9 * 8 + 16      // stem conv + BN
                   + 8 * 16 + 32   // expand + BN
                   + 16 * 9 + 32   // depthwise + BN
                   + 16 * 16 + 32  // project + BN
                   + 16 * 10 + 10; // classifier
  CHECK(count_params(a) == params);
  int64_t flops = 28 * 28 * 8 * 9 + 28 * 28 * 16 * 8 + 14 * 14 * 16 * 9 +
                  14 * 14 * 16 * 16 + 160;
  CHECK(count_flops(a) == flops);
}

TEST_CASE(
    "nas: a ResNet-like block counts its projection shortcut only when the "
    "shape changes",
    "[nas][space]") {
  net_arch a;
  a.kind = space_kind::resnet;
  a.stem = 8;
  a.stages = {{2, 16, {{3, 8}, {3, 8}}}};
  int64_t stem = 9 * 8 + 16;
  int64_t first = 8 * 8 * 9 + 16 + 8 * 16 * 9 + 32 + 8 * 16 + 32;
  int64_t second = 16 * 8 * 9 + 16 + 8 * 16 * 9 + 32; // identity shortcut
  CHECK(count_params(a) == stem + first + second + 16 * 10 + 10);
}

TEST_CASE("nas: every network of a space is a slice of its supernet",
          "[nas][space]") {
  for (auto kind : {space_kind::mobilenet, space_kind::resnet}) {
    auto s = search_space::of(kind);
    auto big = s.largest();
    sampler draw{s, {}, 7};
    for (int i = 0; i < 500; ++i) {
      auto g = draw.sample();
      REQUIRE(s.valid(g));
      REQUIRE(is_slice_of(s.resolve(g), big));
    }
    CHECK(is_slice_of(s.resolve(s.smallest()), big));
  }
}

TEST_CASE(
    "nas: every sampled sub-network respects the parameter and FLOP limits",
    "[nas][space]") {
  struct setting {
    space_kind kind;
    limits lim;
  };
  for (auto [kind, lim] : {setting{space_kind::mobilenet, {100000, 0}},
                           setting{space_kind::mobilenet, {100000, 3000000}},
                           setting{space_kind::mobilenet, {20000, 1000000}},
                           setting{space_kind::resnet, {100000, 0}},
                           setting{space_kind::resnet, {100000, 8000000}},
                           setting{space_kind::resnet, {30000, 3000000}}}) {
    auto s = search_space::of(kind);
    REQUIRE(!check_feasible(s, lim));
    sampler draw{s, lim, 11};
    int64_t biggest = 0;
    for (int i = 0; i < 2000; ++i) {
      auto a = s.resolve(draw.sample());
      auto p = count_params(a);
      auto f = count_flops(a);
      INFO(to_string(kind) << " " << describe(a) << ": " << p << " params, "
                           << f << " FLOPs");
      REQUIRE(p <= lim.max_params);
      if (lim.max_flops > 0) REQUIRE(f <= lim.max_flops);
      biggest = std::max(biggest, p);
    }
    // The limits bind: the space holds larger networks than the budget.
    CHECK(count_params(s.largest()) > lim.max_params);
    // Sampling is not stuck at the smallest network.
    CHECK(biggest > count_params(s.resolve(s.smallest())));
  }
}

TEST_CASE("nas: repair brings any network within the limits by lowering "
          "decisions",
          "[nas][space]") {
  auto s = search_space::mobilenet();
  limits lim{25000, 0};
  sampler draw{s, lim, 3};
  genes all_max;
  for (auto n : s.decisions())
    all_max.push_back(static_cast<int>(n) - 1);
  auto g = draw.repair(all_max);
  CHECK(count_params(s.resolve(g)) <= lim.max_params);
  for (size_t i = 0; i < g.size(); ++i)
    CHECK(g[i] <= all_max[i]);
}

TEST_CASE("nas: limits below the smallest network are refused as impossible",
          "[nas][space]") {
  auto s = search_space::resnet();
  auto small = s.resolve(s.smallest());
  auto err = check_feasible(s, {count_params(small) - 1, 0});
  REQUIRE(err);
  CHECK(troupe::is(err, errc::impossible_limits));
  CHECK_THAT(troupe::describe(err),
             Catch::Contains("no network of the resnet space fits in") &&
                 Catch::Contains("parameters"));
  auto flops = check_feasible(s, {0, count_flops(small) - 1});
  REQUIRE(flops);
  CHECK_THAT(troupe::describe(flops), Catch::Contains("FLOPs"));
  CHECK(!check_feasible(s, {count_params(small), count_flops(small)}));
}

TEST_CASE("nas: unknown space names are refused by name", "[nas][space]") {
  auto s = parse_space_kind("vgg");
  REQUIRE(!s);
  CHECK_THAT(troupe::describe(s.error()),
             Catch::Contains("unknown search space 'vgg'") &&
                 Catch::Contains("mobilenet, resnet"));
  CHECK(parse_space_kind("resnet").value() == space_kind::resnet);
}

TEST_CASE("nas: a decision of a block slot past its stage's depth is inactive",
          "[nas][space]") {
  auto s = search_space::mobilenet();
  auto g = s.smallest(); // depth 1 everywhere
  // decisions: stem, then stage 0: depth, width, slot0 k, slot0 r, slot1 k...
  CHECK(s.active(g, 0));
  CHECK(s.active(g, 3));  // slot 0's kernel
  CHECK(!s.active(g, 5)); // slot 1's kernel
  g[1] = 1;               // stage 0 at depth 2
  CHECK(s.active(g, 5));
}
