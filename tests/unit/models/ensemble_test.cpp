#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "actors/models/ensemble.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using models::ensemble_candidate;
using models::select_ensemble;

namespace {

/// y plus independent gaussian noise of `sd`.
ensemble_candidate noisy(const std::vector<float>& y, float sd, uint64_t seed) {
  std::mt19937_64 gen{seed};
  std::normal_distribution<float> n{0, sd};
  ensemble_candidate c;
  for (auto v : y)
    c.oof.push_back(v + n(gen));
  return c;
}

std::vector<float> targets(size_t n) {
  std::mt19937_64 gen{1};
  std::uniform_real_distribution<float> u{0, 10};
  std::vector<float> y(n);
  for (auto& v : y)
    v = u(gen);
  return y;
}

} // namespace

TEST_CASE("ensemble selection averages models whose errors differ and scores "
          "better than the best of them",
          "[ensemble]") {
  auto y = targets(2000);
  std::vector<ensemble_candidate> c{noisy(y, 1.0f, 2), noisy(y, 1.1f, 3),
                                    noisy(y, 1.2f, 4)};
  auto e = select_ensemble(c, y, "rmse", 0);
  if (!e) FAIL(describe(e.error()));
  CHECK(e->best_index == 0);
  CHECK(e->rows == 2000);
  CHECK(e->score < e->best_single * 0.9); // three independent errors average
  double sum = 0;
  for (auto w : e->weights) {
    CHECK(w > 0.1);
    sum += w;
  }
  CHECK(sum == Approx(1.0));
  // the score is the weighted average's
  std::vector<float> avg(y.size(), 0.0f);
  for (size_t r = 0; r < y.size(); ++r) {
    double v = 0;
    for (size_t k = 0; k < c.size(); ++k)
      v += e->weights[k] * c[k].oof[r];
    avg[r] = static_cast<float>(v);
  }
  auto direct = tabular::rmse(y, avg);
  REQUIRE(direct);
  CHECK(*direct == Approx(e->score).epsilon(1e-4));
}

TEST_CASE("ensemble selection gives no weight to a model that only adds "
          "noise, and never scores below its best member",
          "[ensemble]") {
  auto y = targets(1000);
  std::vector<ensemble_candidate> c{noisy(y, 3.0f, 9), noisy(y, 0.2f, 5)};
  auto e = select_ensemble(c, y, "rmse", 0, 20);
  REQUIRE(e);
  CHECK(e->best_index == 1);
  CHECK(e->weights[0] == 0.0);
  CHECK(e->weights[1] == 1.0);
  CHECK(e->score == e->best_single);
  CHECK(e->kept_round == 1);

  // a binary task under AUC (higher is better)
  std::vector<float> labels;
  std::vector<ensemble_candidate> p(3);
  std::mt19937_64 gen{7};
  std::normal_distribution<float> n01;
  for (size_t r = 0; r < 1500; ++r) {
    float label = r % 3 == 0 ? 1.0f : 0.0f;
    labels.push_back(label);
    for (size_t k = 0; k < 3; ++k)
      p[k].oof.push_back(1.0f /
                         (1.0f + std::exp(-(label * 1.5f - 0.7f + n01(gen)))));
  }
  auto a = select_ensemble(p, labels, "auc", 2);
  REQUIRE(a);
  CHECK(a->score >= a->best_single);
  CHECK(a->score > a->best_single + 0.01);
}

TEST_CASE("ensemble selection scores the rows every candidate predicts",
          "[ensemble]") {
  auto y = targets(100);
  auto a = noisy(y, 1.0f, 1);
  auto b = noisy(y, 1.0f, 2);
  for (size_t r = 0; r < 40; ++r)
    a.oof[r] = NAN; // a holdout: no prediction for its training rows
  auto e = select_ensemble({a, b}, y, "mae", 0);
  REQUIRE(e);
  CHECK(e->rows == 60);
}

TEST_CASE("ensemble selection refuses what it cannot score, naming it",
          "[ensemble]") {
  auto y = targets(10);
  auto msg = [](const caf::expected<models::ensemble_choice>& e) {
    REQUIRE_FALSE(e);
    return describe(e.error());
  };
  CHECK(msg(select_ensemble({}, y, "rmse", 0)).find("no candidates") !=
        std::string::npos);
  ensemble_candidate shorter;
  shorter.oof.assign(9, 1.0f);
  CHECK(msg(select_ensemble({noisy(y, 1, 1), shorter}, y, "rmse", 0))
            .find("candidate 1 has 9 predictions for 10 rows") !=
        std::string::npos);
  ensemble_candidate none;
  none.oof.assign(10, NAN);
  CHECK(msg(select_ensemble({none}, y, "rmse", 0)).find("no row") !=
        std::string::npos);
  CHECK(msg(select_ensemble({noisy(y, 1, 1)}, y, "r2", 0)).find("r2") !=
        std::string::npos);
}

TEST_CASE("ensemble selection scores an even sample of very many rows",
          "[ensemble]") {
  auto y = targets(450000);
  auto e =
      select_ensemble({noisy(y, 1.0f, 1), noisy(y, 1.0f, 2)}, y, "rmse", 0, 3);
  REQUIRE(e);
  CHECK(e->rows == 150000); // every third row
  CHECK(e->rows <= models::max_selection_rows);
  CHECK(e->score < e->best_single);
}
