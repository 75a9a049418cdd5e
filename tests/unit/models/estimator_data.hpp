#pragma once

// Shared pieces of the estimator family tests: a dataset of tests/data
// split into seeded train and test matrices, optionally with the median
// imputation and standardisation that the feature pipeline would do
// (fitted on the training rows), the context an estimator of it is made
// for, and a few steps of training.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "actors/models/estimator.hpp"
#include "actors/tabular/dataset.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"

namespace troupe::models::test {

/// Train and test matrices of one dataset.
struct split_data {
  tabular::dataset data;
  tabular::matrix train;
  tabular::matrix test;
};

/// Fills the NaN cells of both matrices with the training rows' column
/// medians and standardises every column with the training rows' mean and
/// standard deviation.
inline void impute_and_scale(tabular::matrix& train, tabular::matrix& test) {
  for (size_t j = 0; j < train.cols; ++j) {
    std::vector<float> seen;
    for (size_t i = 0; i < train.rows; ++i)
      if (!std::isnan(train.at(i, j))) seen.push_back(train.at(i, j));
    std::sort(seen.begin(), seen.end());
    float median = seen.empty() ? 0.0f : seen[seen.size() / 2];
    double sum = 0, sq = 0;
    for (auto* m : {&train, &test})
      for (size_t i = 0; i < m->rows; ++i) {
        auto& x = m->values[i * m->cols + j];
        if (std::isnan(x)) x = median;
      }
    for (size_t i = 0; i < train.rows; ++i)
      sum += train.at(i, j);
    auto mean = sum / static_cast<double>(train.rows);
    for (size_t i = 0; i < train.rows; ++i)
      sq += (train.at(i, j) - mean) * (train.at(i, j) - mean);
    auto sd = std::sqrt(sq / static_cast<double>(train.rows));
    if (sd == 0) sd = 1;
    for (auto* m : {&train, &test})
      for (size_t i = 0; i < m->rows; ++i) {
        auto& x = m->values[i * m->cols + j];
        x = static_cast<float>((x - mean) / sd);
      }
  }
}

/// `file` of tests/data with target `target`, 25% of its rows held out
/// (stratified, seed 1). With `keep` < 1, a stratified sample of that share
/// of the rows is taken first. `prepare` imputes and standardises.
inline split_data load_split(const std::string& file, const std::string& target,
                             bool prepare, double keep = 1.0) {
  auto t = tabular::read_csv(TROUPE_SOURCE_DIR "/tests/data/" + file);
  REQUIRE(t);
  auto d = tabular::make_dataset(*t, target);
  REQUIRE(d);
  split_data out;
  out.data = std::move(*d);
  auto all = out.data.X;
  if (keep < 1) {
    auto s = tabular::train_test_split(all.labels, out.data.task, 7, keep);
    REQUIRE(s);
    all = tabular::take_rows(all, s->test);
  }
  auto s = tabular::train_test_split(all.labels, out.data.task, 1, 0.25);
  REQUIRE(s);
  out.train = tabular::take_rows(all, s->train);
  out.test = tabular::take_rows(all, s->test);
  if (prepare) impute_and_scale(out.train, out.test);
  return out;
}

/// The context of an estimator for `d`, with `threads` threads.
inline estimator_context context_of(const split_data& d, size_t threads = 2,
                                    uint64_t seed = 3) {
  estimator_context ctx;
  ctx.task = d.data.task;
  ctx.classes = d.data.classes.size();
  ctx.threads = threads;
  ctx.seed = seed;
  return ctx;
}

/// A new estimator of `family` for `cfg`.
inline std::unique_ptr<estimator> make(const std::string& family,
                                       const tabular::config& cfg,
                                       const estimator_context& ctx) {
  auto f = find_estimator_family(family);
  REQUIRE(f);
  auto e = (*f)->make(cfg, ctx);
  if (!e) FAIL(describe(e.error()));
  return std::move(*e);
}

/// Trains `e` for `steps` more steps on `train`.
inline void fit(estimator& e, const tabular::matrix& train, uint64_t steps) {
  for (uint64_t i = 0; i < steps; ++i) {
    auto err = e.fit_step(train);
    if (err) FAIL(describe(err));
  }
}

/// The scores of `m` (which must succeed).
inline std::vector<float> scores(const estimator& e, const tabular::matrix& m) {
  auto p = e.predict(m);
  if (!p) FAIL(describe(p.error()));
  return std::move(*p);
}

/// The estimator saved and loaded back by its family.
inline std::unique_ptr<estimator> reloaded(const std::string& family,
                                           const estimator& e,
                                           const estimator_context& ctx) {
  auto bytes = e.save();
  REQUIRE(bytes);
  auto f = find_estimator_family(family);
  REQUIRE(f);
  auto back = (*f)->load(*bytes, ctx);
  if (!back) FAIL(describe(back.error()));
  return std::move(*back);
}

/// The error message of a failed make, or "" when it succeeded.
inline std::string make_error_text(const std::string& family,
                                   const tabular::config& cfg,
                                   const estimator_context& ctx) {
  auto f = find_estimator_family(family);
  REQUIRE(f);
  auto e = (*f)->make(cfg, ctx);
  return e ? std::string{} : describe(e.error());
}

/// Whether `a` and `b` hold the same floats bit for bit.
inline bool same_bits(const std::vector<float>& a,
                      const std::vector<float>& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](float x, float y) {
           return std::memcmp(&x, &y, sizeof(float)) == 0;
         });
}

/// The metric `name` of `scores` on `m`'s labels.
inline double metric(const std::string& name, const tabular::matrix& m,
                     const std::vector<float>& scores, size_t classes) {
  auto v = tabular::evaluate(name, m.labels, scores, classes);
  if (!v) FAIL(describe(v.error()));
  return *v;
}

/// The standard deviation of `m`'s labels.
inline double label_sd(const tabular::matrix& m) {
  double sum = 0, sq = 0;
  for (auto y : m.labels)
    sum += y;
  auto mean = sum / static_cast<double>(m.rows);
  for (auto y : m.labels)
    sq += (y - mean) * (y - mean);
  return std::sqrt(sq / static_cast<double>(m.rows));
}

} // namespace troupe::models::test
