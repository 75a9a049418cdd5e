// Non-dominated sorting and crowding distance (actors/automl/pareto.hpp).

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <set>

#include "actors/automl/pareto.hpp"

using namespace troupe::automl;

TEST_CASE("dominance needs no worse everywhere and better somewhere",
          "[pareto]") {
  CHECK(dominates({1, 1}, {2, 2}));
  CHECK(dominates({1, 2}, {2, 2}));
  CHECK_FALSE(dominates({2, 2}, {2, 2})); // equal: neither
  CHECK_FALSE(dominates({1, 3}, {2, 2})); // a trade-off: neither
  CHECK_FALSE(dominates({2, 2}, {1, 2}));
  CHECK(dominates({0, 0, 1}, {0, 0, 2}));
}

TEST_CASE("the front holds exactly the points no other point dominates",
          "[pareto]") {
  std::mt19937_64 rng{11};
  std::uniform_real_distribution<double> u{0, 1};
  for (int round = 0; round < 20; ++round) {
    std::vector<objective_vector> pts(40);
    for (auto& p : pts)
      p = {std::round(u(rng) * 10), std::round(u(rng) * 10), u(rng)};
    auto front = pareto_front(pts);
    REQUIRE_FALSE(front.empty());
    std::set<size_t> on(front.begin(), front.end());
    for (size_t i = 0; i < pts.size(); ++i) {
      bool dominated = false;
      for (size_t j = 0; j < pts.size(); ++j)
        dominated = dominated || dominates(pts[j], pts[i]);
      CHECK(on.count(i) == (dominated ? 0u : 1u));
    }
    // within the front, no member dominates another
    for (auto a : front)
      for (auto b : front)
        CHECK_FALSE(dominates(pts[a], pts[b]));
  }
}

TEST_CASE("NDS ranks peel fronts: rank k is dominated only by lower ranks",
          "[pareto]") {
  //  (1,4) (2,2) (4,1)  front
  //  (3,4) (4,3)        dominated by (2,2) only
  //  (5,5)              dominated by the second front too
  std::vector<objective_vector> pts{{5, 5}, {1, 4}, {3, 4},
                                    {2, 2}, {4, 3}, {4, 1}};
  auto r = nds_ranks(pts);
  CHECK(r == std::vector<size_t>{2, 0, 1, 0, 1, 0});
  std::mt19937_64 rng{3};
  std::uniform_int_distribution<int> d{0, 6};
  for (int round = 0; round < 20; ++round) {
    std::vector<objective_vector> p(30);
    for (auto& x : p)
      x = {double(d(rng)), double(d(rng))};
    auto rk = nds_ranks(p);
    for (size_t i = 0; i < p.size(); ++i) {
      bool has_parent = rk[i] == 0;
      for (size_t j = 0; j < p.size(); ++j) {
        if (!dominates(p[j], p[i])) continue;
        CHECK(rk[j] < rk[i]);
        has_parent = has_parent || rk[j] + 1 == rk[i];
      }
      CHECK(has_parent); // a rank-k point has a dominator of rank k-1
    }
  }
}

TEST_CASE("crowding distance is infinite at a front's ends and larger where "
          "the front is sparse",
          "[pareto]") {
  // one front along x + y = 10: gaps 1, 1 around (1,9), 1 and 7 around (2,8)
  std::vector<objective_vector> pts{{0, 10}, {1, 9}, {2, 8}, {9, 1}, {10, 0}};
  auto ranks = nds_ranks(pts);
  for (auto r : ranks)
    CHECK(r == 0);
  auto d = crowding_distances(pts, ranks);
  CHECK(std::isinf(d[0]));
  CHECK(std::isinf(d[4]));
  CHECK(d[1] == Approx(2 * 2.0 / 10));
  CHECK(d[2] == Approx(2 * 8.0 / 10));
  CHECK(d[3] == Approx(2 * 8.0 / 10));
  CHECK(d[2] > d[1]);
  // a rank of one or two points: all ends
  auto d2 = crowding_distances({{0, 1}, {1, 0}, {2, 2}}, {0, 0, 1});
  CHECK(std::isinf(d2[0]));
  CHECK(std::isinf(d2[1]));
  CHECK(std::isinf(d2[2]));
}

TEST_CASE("NDS order sorts by rank, then crowding (larger first), then id",
          "[pareto]") {
  std::vector<objective_vector> pts{{9, 9}, {1, 9},  {0, 10}, {2, 8},
                                    {9, 1}, {10, 0}, {10, 10}};
  // the front's ends (2, 5) first (infinite crowding, by id), then (2,8)
  // and (9,1) (crowding 1.6) by id, then (1,9) (0.4), then (9,9) (rank 1),
  // then (10,10) (rank 2)
  auto order = nds_order(pts);
  CHECK(order == std::vector<size_t>{2, 5, 3, 4, 1, 0, 6});
  // ids break the ties of the ends the other way round
  auto by_id = nds_order(pts, {70, 60, 50, 40, 30, 20, 10});
  CHECK(by_id[0] == 5);
  CHECK(by_id[1] == 2);
}
