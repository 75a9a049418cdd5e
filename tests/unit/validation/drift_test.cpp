#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "actors/tabular/noise.hpp"
#include "actors/tabular/schema.hpp"
#include "actors/validation/drift.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/tabular/helpers.hpp"

using namespace troupe;
using namespace troupe::tabular;
using namespace troupe::validation;
using namespace troupe::tabular::test;

namespace {

column_stats numbers(const std::vector<double>& xs) {
  profile_builder b{{"x"}};
  for (size_t i = 0; i < xs.size(); ++i)
    b.add_row(std::vector<double>{xs[i]}, i + 2);
  return b.finish().columns[0];
}

std::string drifted(const std::vector<column_drift>& ds) {
  std::string out;
  for (auto& d : ds)
    if (d.drifted) out += d.column + " ";
  return out;
}

/// Multiplies a numeric column of rows by `factor`.
void scale(rows& r, const std::string& name, double factor) {
  auto c = r.col(name);
  for (auto& row : r.cells)
    if (!row[c].empty()) row[c] = std::to_string(std::stod(row[c]) * factor);
}

} // namespace

TEST_CASE("PSI, KS and L-inf of tiny examples match hand computations",
          "[validation][drift]") {
  auto base = numbers({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  auto next = numbers({6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  // Base bins (-inf,1], (1,2], ..., (9,inf) hold 0.1 each; the new values
  // fill (5,6] .. (8,9] with 0.1 each and (9,inf) with 0.6; five bins are
  // empty and count as 1e-4:
  // 5 (1e-4 - 0.1) ln(1e-4 / 0.1) + (0.6 - 0.1) ln(6) = 4.346304.
  drift_thresholds no_floor;
  no_floor.significance = 0;
  auto d = drift(base, next, no_floor);
  CHECK(d.method == drift_method::numeric);
  REQUIRE(d.psi);
  CHECK(*d.psi == Approx(4.346304).epsilon(1e-6));
  // ECDFs at 5: 0.5 vs 0; at 10: 1 vs 0.5.
  REQUIRE(d.ks);
  CHECK(*d.ks == Approx(0.5));
  CHECK(d.drifted);
  // Ten values a side are too few to call it: the 0.1 % KS chance level
  // for n = m = 10 is 1.95 sqrt(0.2) = 0.87.
  auto floored = drift(base, next);
  CHECK(*floored.ks_threshold == Approx(0.8719).epsilon(1e-3));
  CHECK_FALSE(floored.drifted);

  // Ties: {1,1,2,3} vs {1,2,2,2}: ECDFs 0.5/0.25 at 1, 0.75/1 at 2.
  CHECK(ks_statistic({1, 1, 2, 3}, {1, 2, 2, 2}) == Approx(0.25));
  CHECK(ks_statistic({1, 2, 3}, {1, 2, 3}) == 0);
  CHECK(ks_statistic({1, 2}, {3, 4}) == 1);
  // x 3/4 vs 1/4, y 1/4 vs 1/4, z 0 vs 1/2.
  CHECK(linf_distance({{"x", 3}, {"y", 1}}, {{"x", 1}, {"y", 1}, {"z", 2}}) ==
        Approx(0.5));
  CHECK(psi({0.5, 0.5}, {0.5, 0.5}) == 0);
  CHECK(psi({0.25, 0.75}, {0.5, 0.5}) ==
        Approx(0.25 * std::log(2.0) + -0.25 * std::log(0.5 / 0.75)));
}

TEST_CASE("noise floors match their closed forms", "[validation][drift]") {
  CHECK(normal_quantile(0.975) == Approx(1.959964).epsilon(1e-6));
  CHECK(normal_quantile(0.5) == Approx(0).margin(1e-9));
  // Table value of the chi-square 0.999 quantile with 9 dof: 27.877.
  CHECK(chi2_quantile(9, 0.999) == Approx(27.877).epsilon(0.01));
  CHECK(ks_critical(10'000, 10'000, 0.001) == Approx(0.02757).epsilon(1e-3));
  // 2 (1/2)^11 <= 0.001 < 2 (1/2)^10.
  CHECK(chance_beyond_extremes(384, 384, 0.001) == 10);
  CHECK(chance_beyond_extremes(1000, 50, 0.001) == 2);
  CHECK(chance_beyond_extremes(384, 384, 0) == 0);
}

TEST_CASE("random halves of the same data do not drift",
          "[validation][drift]") {
  auto file = GENERATE(as<std::string>{}, "pima_diabetes.csv",
                       "boston_housing.csv", "ticdata.csv", "shuttle.csv");
  auto all = load(file);
  for (uint64_t seed : {1, 2, 3}) {
    auto [a, b] = halves(all, seed);
    auto ds = drift(profile_rows(a), profile_rows(b));
    INFO(file << " seed " << seed << ": " << drifted(ds));
    CHECK(drifted(ds).empty());
    size_t compared = 0;
    for (auto& d : ds)
      compared += d.method != drift_method::none ? 1 : 0;
    CHECK(compared == all.header.size());
  }
}

TEST_CASE("a scaled numeric column and a remapped category drift",
          "[validation][drift]") {
  auto [base_rows, next] = halves(load("pima_diabetes.csv"), 21);
  auto base = profile_rows(base_rows);
  scale(next, "glucose", 1.5);
  auto diabetes = next.col("diabetes");
  for (auto& row : next.cells)
    row[diabetes] = row[diabetes] == "pos" ? "neg" : "pos";
  auto ds = drift(base, profile_rows(next));
  INFO(drifted(ds));
  CHECK(drifted(ds) == "glucose diabetes ");
  for (auto& d : ds) {
    if (d.column == "glucose") {
      CHECK(*d.psi > *d.psi_threshold);
      CHECK(*d.ks > *d.ks_threshold);
      CHECK(*d.psi > 1.0);
      CHECK(*d.ks > 0.5);
    }
    if (d.column == "diabetes") {
      CHECK(d.method == drift_method::categorical);
      // 65/35 becomes 35/65.
      CHECK(*d.linf == Approx(0.3).margin(0.05));
      CHECK(*d.linf > *d.linf_threshold);
    }
  }
}

TEST_CASE("a rotated ticdata category drifts by L-inf", "[validation][drift]") {
  auto [base_rows, next] = halves(load("ticdata.csv"), 22);
  auto base = profile_rows(base_rows);
  // Each age band becomes the next one.
  auto c = next.col("MGEMLEEF");
  std::map<std::string, std::string> rotate{
      {"20-30", "30-40"}, {"30-40", "40-50"}, {"40-50", "50-60"},
      {"50-60", "60-70"}, {"60-70", "70-80"}, {"70-80", "20-30"}};
  for (auto& row : next.cells) {
    REQUIRE(rotate.count(row[c]));
    row[c] = rotate[row[c]];
  }
  auto ds = drift(base, profile_rows(next));
  CHECK(drifted(ds) == "MGEMLEEF ");
}

TEST_CASE("small samples of the same data only drift without the noise floor",
          "[validation][drift]") {
  auto [a, b] = halves(load("boston_housing.csv"), 23);
  a.cells.resize(50);
  b.cells.resize(50);
  auto sa = profile_rows(a), sb = profile_rows(b);
  CHECK(drifted(drift(sa, sb)).empty());
  drift_thresholds plain;
  plain.significance = 0;
  CHECK_FALSE(drifted(drift(sa, sb, plain)).empty());
}

TEST_CASE("drift against a schema's recorded statistics agrees with drift "
          "against the data",
          "[validation][drift]") {
  auto [base_rows, next] = halves(load("pima_diabetes.csv"), 24);
  scale(next, "mass", 1.2);
  auto base = profile_rows(base_rows);
  troupe::test::temp_dir dir;
  REQUIRE_FALSE(write_schema(dir / "s.json", infer_schema(base)));
  auto s = read_schema(dir / "s.json");
  REQUIRE(s);
  auto next_stats = profile_rows(next);
  auto from_data = drift(base, next_stats);
  auto from_schema = drift(s->baseline(), next_stats);
  REQUIRE(from_data.size() == from_schema.size());
  for (size_t i = 0; i < from_data.size(); ++i) {
    auto& x = from_data[i];
    auto& y = from_schema[i];
    INFO(x.column);
    CHECK(x.column == y.column);
    CHECK(x.drifted == y.drifted);
    if (x.method == drift_method::numeric) {
      // Same base bins, same new sample.
      CHECK(*y.psi == Approx(*x.psi).margin(1e-12));
      // 100 quantiles stand in for the sample: within 1 %.
      CHECK(std::fabs(*x.ks - *y.ks) <= 0.011);
    } else {
      CHECK(*y.linf == Approx(*x.linf).margin(1e-12));
    }
  }
  CHECK(drifted(from_schema) == "mass ");
}
