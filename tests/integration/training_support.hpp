#pragma once

// What the training-job tests share: a sparse-lr job's TOML on the shipped
// spam data, a data-parallel XGBoost job's TOML on a table of few distinct
// values (so that distributed training is exact), a model's predictions, and
// a JobStatus as the tests look at it.

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/models/xgb.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/tabular/dataset.hpp"
#include "actors/training/wire.hpp"
#include "runtime/envelope.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::test::training_jobs {

inline std::string job_toml(uint32_t workers, uint32_t shards, uint32_t epochs,
                            uint32_t batch = 16) {
  return "family = \"sparse-lr\"\n"
         "[data]\n"
         "train = \"" TROUPE_SOURCE_DIR "/tests/data/spam.csv\"\n"
         "target = \"type\"\n"
         "[features]\n"
         "bits = 22\n"
         "crosses = [[\"remove\", \"free\"]]\n"
         "[model]\n"
         "alpha = 0.1\n"
         "l1 = 0.5\n"
         "l2 = 1.0\n"
         "[run]\n"
         "workers = " +
         std::to_string(workers) + "\nshards = " + std::to_string(shards) +
         "\nepochs = " + std::to_string(epochs) +
         "\nbatch = " + std::to_string(batch) + "\nconsistency = \"sync\"\n";
}

/// A CSV of `rows` rows: a categorical column "shape" (6 categories), five
/// integer columns 0..9 and a binary target "y" from a planted rule with
/// noise. Every column has few distinct values.
inline void write_few_values_csv(const std::string& path, size_t rows,
                                 uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::uniform_int_distribution<int> digit{0, 9}, code{0, 5};
  std::normal_distribution<double> noise{0, 1};
  std::ofstream out{path};
  out << "shape,a,b,c,d,e,y\n";
  for (size_t r = 0; r < rows; ++r) {
    int s = code(rng);
    int v[5];
    for (auto& x : v)
      x = digit(rng);
    double z = (s == 1 || s == 4 ? 1.5 : -0.5) + 0.4 * (v[0] - 4.5) -
               0.3 * (v[1] - 4.5) + 0.2 * (v[2] - 4.5) + noise(rng);
    out << "s" << s;
    for (auto x : v)
      out << ',' << x;
    out << ',' << (z > 0 ? 1 : 0) << '\n';
  }
}

/// An xgboost job's TOML; `workers` is "N" or "MIN:MAX" (elastic).
inline std::string xgb_toml(const std::string& csv, const std::string& workers,
                            uint32_t rounds, double checkpoint_seconds = 0) {
  return "family = \"xgboost\"\n[data]\ntrain = \"" + csv +
         "\"\ntarget = \"y\"\n[model]\nrounds = " + std::to_string(rounds) +
         "\neta = 0.1\nmax_depth = 6\n[run]\nworkers = \"" + workers +
         "\"\ncheckpoint_seconds = " + std::to_string(checkpoint_seconds) +
         "\n";
}

inline std::string xgb_toml(const std::string& csv, uint32_t workers,
                            uint32_t rounds, double checkpoint_seconds = 0) {
  return xgb_toml(csv, std::to_string(workers), rounds, checkpoint_seconds);
}

/// The predictions of the model a job saved in DIR/model on every row of
/// `csv`, encoded by the model's own preprocessor.
inline std::vector<float> model_predictions(const std::string& dir,
                                            const std::string& csv) {
  auto prep = tabular::preprocessor::load(dir + "/model/preprocessor.json");
  if (!prep)
    FAIL("no preprocessor in " << dir << ": " << describe(prep.error()));
  auto t = tabular::read_csv(csv);
  if (!t) FAIL(describe(t.error()));
  auto rows = prep->transform(*t);
  if (!rows) FAIL(describe(rows.error()));
  auto b = xgb::booster::load(dir + "/model/model.ubj");
  if (!b) FAIL("no model in " << dir << ": " << describe(b.error()));
  size_t groups = 0;
  auto p =
      b->predict_dense(rows->values.data(), rows->rows, rows->cols, groups);
  if (!p) FAIL(describe(p.error()));
  return *p;
}

inline bool same_bits(const std::vector<float>& a,
                      const std::vector<float>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

using view = training::job_view;

/// A JobStatus read, or the test fails.
inline view view_of(const envelope& env) {
  auto v = training::job_view_of(env);
  if (!v) FAIL("not a JobStatus: " << describe(v.error()));
  return *v;
}

} // namespace troupe::test::training_jobs
