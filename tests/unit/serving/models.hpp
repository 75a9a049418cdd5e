#pragma once

// Models for the serving tests: generated data, XGBoost models trained on
// it (as a troupe model directory and as a booster file with its spec), and
// a registry to register them in.

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "actors/models/saved_model.hpp"
#include "actors/models/servable.hpp"
#include "actors/serving/registry.hpp"
#include "runtime/errors.hpp"

namespace troupe::test_models {

/// 200 generated rows: x0, x1 uniform in [0, 1], color red/green/blue; the
/// target is "yes" when x0 + 0.4 (red) + noise > 0.7 (binary), or "a"/"b"/
/// "c" by thirds of x0 (multiclass).
inline tabular::table make_table(tabular::task_kind task, uint64_t seed,
                                 size_t rows = 200) {
  std::mt19937_64 gen{seed};
  std::uniform_real_distribution<double> u{0, 1};
  const char* colors[] = {"red", "green", "blue"};
  std::ostringstream csv;
  csv << "x0,x1,color,target\n";
  for (size_t r = 0; r < rows; ++r) {
    double x0 = u(gen), x1 = u(gen);
    std::string color = colors[gen() % 3];
    std::string y;
    if (task == tabular::task_kind::binary)
      y = x0 + (color == "red" ? 0.4 : 0) + 0.2 * u(gen) > 0.7 ? "yes" : "no";
    else
      y = x0 < 0.33 ? "a" : x0 < 0.66 ? "b" : "c";
    csv << x0 << ',' << x1 << ',' << color << ',' << y << '\n';
  }
  auto t = tabular::parse_csv(csv.str(), "gen.csv");
  REQUIRE(t);
  return std::move(*t);
}

/// A model on generated data, as a troupe model directory and as a booster
/// file with its spec, all under `dir`.
struct artifact {
  std::string model_dir;
  std::string ubj;
  std::string spec;
};

inline artifact make_model(const std::string& dir, tabular::task_kind task,
                           uint64_t rounds, uint64_t seed = 1) {
  auto d = tabular::make_dataset(make_table(task, seed), "target", task);
  REQUIRE(d);
  tabular::config cfg{{"eta", 0.3}, {"max_depth", int64_t{3}}};
  auto b = models::refit_xgboost(*d, cfg, rounds, 1, 7);
  REQUIRE(b);
  std::filesystem::create_directories(dir);
  artifact a{dir + "/model", dir + "/model.ubj", dir + "/spec.json"};
  tabular::model_info info;
  info.metric = "auc";
  info.cv_score = 0.875;
  info.params = cfg;
  REQUIRE_FALSE(models::save_model(a.model_dir, *b, d->prep, info));
  REQUIRE(b->save(a.ubj));
  REQUIRE_FALSE(d->prep.save(a.spec));
  return a;
}

/// Rows of make_table(binary, seed) encoded for `model`, and the scores it
/// gives them (one per row).
struct scored_rows {
  tabular::matrix rows;
  std::vector<float> scores;
};

inline scored_rows score_new_rows(const models::servable& model,
                                  size_t rows = 20, uint64_t seed = 42) {
  auto x = model.prep().transform(
      make_table(tabular::task_kind::binary, seed, rows));
  REQUIRE(x);
  auto p = model.predict(x->values.data(), x->rows);
  REQUIRE(p);
  return {std::move(*x), std::move(*p)};
}

inline std::unique_ptr<serving::registry>
open_registry(const std::string& dir, int64_t* now = nullptr) {
  serving::registry::clock clock;
  if (now) clock = [now] { return (*now)++; };
  auto r = serving::registry::open(dir, clock);
  if (!r) FAIL(describe(r.error()));
  return std::move(*r);
}

inline serving::registration raw(const std::string& name, const artifact& a) {
  serving::registration r;
  r.name = name;
  r.format = models::model_format::xgboost;
  r.path = a.ubj;
  r.spec_path = a.spec;
  r.registered_by = "alice";
  return r;
}

inline serving::model_version must_add(serving::registry& reg,
                                       const serving::registration& r) {
  auto v = reg.add(r);
  if (!v) FAIL(describe(v.error()));
  return std::move(*v);
}

} // namespace troupe::test_models
