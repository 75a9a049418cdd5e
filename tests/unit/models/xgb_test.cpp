#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "actors/models/errors.hpp"
#include "actors/models/forest.hpp"
#include "actors/models/saved_model.hpp"
#include "actors/models/xgb.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;

namespace {

/// 600 rows, 4 features; label = x0 + x1 > 1, with 5% of x2 missing.
struct toy {
  std::vector<float> x;
  std::vector<float> y;
  size_t rows = 600;
  size_t cols = 4;
  toy() {
    std::mt19937 gen{7};
    std::uniform_real_distribution<float> u{0, 1};
    for (size_t i = 0; i < rows; ++i) {
      float a = u(gen), b = u(gen);
      x.insert(x.end(), {a, b, u(gen) < 0.05f ? NAN : u(gen), u(gen)});
      y.push_back(a + b > 1 ? 1.0f : 0.0f);
    }
  }
};

xgb::booster trained(const xgb::dmatrix& d, int rounds) {
  auto b = xgb::booster::create(&d);
  REQUIRE(b);
  for (auto [k, v] : {std::pair{"objective", "binary:logistic"},
                      {"nthread", "1"},
                      {"tree_method", "hist"},
                      {"max_depth", "3"},
                      {"seed", "1"}})
    REQUIRE(b->set_param(k, v));
  for (int i = 0; i < rounds; ++i)
    REQUIRE(b->update(d));
  return std::move(*b);
}

} // namespace

TEST_CASE("a booster learns a separable toy problem", "[xgb]") {
  toy t;
  auto d = xgb::dmatrix::dense(t.x.data(), t.rows, t.cols, t.y);
  REQUIRE(d);
  auto b = trained(*d, 30);
  CHECK(*b.rounds() == 30);
  auto p = b.predict(*d);
  REQUIRE(p);
  REQUIRE(p->size() == t.rows);
  CHECK(*tabular::auc(t.y, *p) > 0.97);
}

TEST_CASE("training continues from a checkpoint exactly as without one",
          "[xgb]") {
  toy t;
  auto d = xgb::dmatrix::dense(t.x.data(), t.rows, t.cols, t.y);
  REQUIRE(d);
  auto straight = trained(*d, 20);
  auto half = trained(*d, 10);
  auto cp = half.save_checkpoint();
  REQUIRE(cp);
  CHECK_THAT(cp->config, Catch::Contains("\"max_depth\":\"3\""));
  auto resumed = xgb::booster::restore(*cp);
  REQUIRE(resumed);
  CHECK(*resumed->rounds() == 10);
  for (int i = 0; i < 10; ++i)
    REQUIRE(resumed->update(*d));
  auto a = straight.predict(*d);
  auto b = resumed->predict(*d);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == *b);
}

TEST_CASE("models save to files and load back with equal predictions",
          "[xgb]") {
  toy t;
  auto d = xgb::dmatrix::dense(t.x.data(), t.rows, t.cols, t.y);
  REQUIRE(d);
  auto b = trained(*d, 5);
  test::temp_dir dir;
  for (auto name : {"m.json", "m.ubj"}) {
    REQUIRE(b.save(dir / name));
    auto back = xgb::booster::load(dir / name);
    REQUIRE(back);
    CHECK(*back->predict(*d) == *b.predict(*d));
  }
}

TEST_CASE("multiclass softprob predicts rows x classes", "[xgb]") {
  std::vector<float> x{0, 0, 1, 1, 2, 2, 0, 0.1f, 1, 1.1f, 2, 2.1f};
  std::vector<float> y{0, 1, 2, 0, 1, 2};
  auto d = xgb::dmatrix::dense(x.data(), 6, 2, y);
  REQUIRE(d);
  auto b = xgb::booster::create(&*d);
  REQUIRE(b);
  REQUIRE(b->set_param("objective", "multi:softprob"));
  REQUIRE(b->set_param("num_class", "3"));
  REQUIRE(b->update(*d));
  auto p = b->predict(*d);
  REQUIRE(p);
  CHECK(p->size() == 18);
}

TEST_CASE("bad input to XGBoost comes back as an error naming the call",
          "[xgb]") {
  auto garbage = xgb::booster::from_bytes({1, 2, 3, 4, 5});
  REQUIRE_FALSE(garbage);
  CHECK_THAT(describe(garbage.error()),
             Catch::Contains("XGBoosterLoadModelFromBuffer"));
  float x[2] = {1, 2};
  auto wrong = xgb::dmatrix::dense(x, 2, 1, {1, 0, 1});
  REQUIRE_FALSE(wrong);
  CHECK_THAT(describe(wrong.error()), Catch::Contains("3 labels for 2 rows"));
  auto d = xgb::dmatrix::dense(x, 2, 1, {1, 0});
  REQUIRE(d);
  auto b = xgb::booster::create(&*d);
  REQUIRE(b);
  auto bad = b->set_param("objective", "no:such");
  REQUIRE(bad); // XGBoost checks parameters lazily, at the first update
  auto r = b->update(*d);
  REQUIRE_FALSE(r);
  CHECK_THAT(describe(r.error()),
             Catch::Contains("XGBoost") && Catch::Contains("`no:such`"));
  auto missing = xgb::booster::load("/nonexistent/model.json");
  REQUIRE_FALSE(missing);
  CHECK_THAT(describe(missing.error()), Catch::Contains("/nonexistent"));
}

TEST_CASE("XGBoost failures, bad model files and forest refusals have codes "
          "of their own",
          "[xgb]") {
  auto missing = xgb::booster::load("/nonexistent/model.json");
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), models::errc::xgboost_failure));
  CHECK_THAT(describe(missing.error()), Catch::Contains("XGBoosterLoadModel"));
  auto refused = models::forest::compile("not json");
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), models::errc::unsupported));
  CHECK_THAT(describe(refused.error()), Catch::Contains("compiled forest"));
  test::temp_dir dir;
  for (auto name : {"model.json", "preprocessor.json", "model.ubj"})
    test::write_file(dir / name, "{\"format\": \"troupe.mo");
  auto bad = models::saved_model::load(dir.path());
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), models::errc::bad_model));
  CHECK_THAT(describe(bad.error()), Catch::Contains("not valid JSON"));
  CHECK(models::to_string(models::errc::bad_model) == "bad_model");
}
