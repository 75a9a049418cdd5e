#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <numeric>

#include "actors/tabular/csv.hpp"
#include "actors/tabular/stats.hpp"
#include "actors/validation/csv_data.hpp"
#include "runtime/errors.hpp"
#include "tests/unit/tabular/helpers.hpp"

using namespace troupe;
using namespace troupe::tabular;
using namespace troupe::validation;
using troupe::tabular::test::dataset;

TEST_CASE("cells are read as integers, floats, text or missing",
          "[validation][stats]") {
  CHECK(classify("42").what == cell::kind::integer);
  CHECK(classify(" -7 ").number == -7);
  CHECK(classify("+3").what == cell::kind::integer);
  CHECK(classify("148.0").what == cell::kind::floating);
  CHECK(classify("1e3").what == cell::kind::floating);
  CHECK(classify("1e3").number == 1000);
  CHECK(classify("").what == cell::kind::missing);
  CHECK(classify("  \t").what == cell::kind::missing);
  for (auto text : {"abc", "inf", "nan", "1,5", "++1", "+-1", "0x10", "1 2"})
    CHECK(classify(text).what == cell::kind::text);
  CHECK(classify(" pos ").text == "pos");
}

TEST_CASE("pima statistics match a direct computation over the CSV reader's "
          "numbers",
          "[validation][stats]") {
  auto t = tabular::read_csv(dataset("pima_diabetes.csv"));
  REQUIRE(t);
  profile_builder b{column_names(*t)};
  feed(*t, b);
  auto stats = b.finish();
  REQUIRE(stats.rows == 768);
  REQUIRE(stats.columns.size() == 9);
  for (auto& col : t->columns) {
    auto* s = stats.find(col.name);
    REQUIRE(s);
    INFO(col.name);
    CHECK(s->missing == col.missing);
    CHECK(s->count == 768 - col.missing);
    if (col.kind != tabular::column_kind::numeric) continue;
    std::vector<double> xs;
    for (auto v : col.numbers)
      if (!std::isnan(v)) xs.push_back(v);
    auto mean = std::accumulate(xs.begin(), xs.end(), 0.0) / xs.size();
    double ss = 0;
    for (auto v : xs)
      ss += (v - mean) * (v - mean);
    CHECK(s->mean == Approx(mean).epsilon(1e-12));
    CHECK(s->stddev == Approx(std::sqrt(ss / (xs.size() - 1))).epsilon(1e-9));
    CHECK(s->min == *std::min_element(xs.begin(), xs.end()));
    CHECK(s->max == *std::max_element(xs.begin(), xs.end()));
    // Fewer values than the reservoir: the sample is the whole column.
    CHECK(s->sample.size() == xs.size());
    CHECK(std::is_sorted(s->sample.begin(), s->sample.end()));
    CHECK(s->quantiles.size() == 100);
  }
  CHECK(stats.find("pregnant")->type == value_type::integer);
  CHECK(stats.find("glucose")->type == value_type::floating); // "148.0"
  CHECK(stats.find("diabetes")->type == value_type::string);
  auto& dom = stats.find("diabetes")->domain;
  REQUIRE(dom.size() == 2);
  CHECK(dom[0] == std::pair<std::string, uint64_t>{"neg", 500});
  CHECK(dom[1] == std::pair<std::string, uint64_t>{"pos", 268});
}

TEST_CASE("equal-frequency bins of 1..10 hold one value each, ties merge edges",
          "[validation][stats]") {
  std::vector<double> xs{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  auto h = quantile_bins(xs, 10);
  CHECK(h.edges == std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  REQUIRE(h.fractions.size() == 10);
  for (auto f : h.fractions)
    CHECK(f == Approx(0.1));
  CHECK(h.bin_of(0.5) == 0);
  CHECK(h.bin_of(1) == 0);
  CHECK(h.bin_of(1.5) == 1);
  CHECK(h.bin_of(100) == 9);
  // 8 zeros and 2 ones: edges 0 (k = 1..8) and 1 (k = 9) only.
  auto t = quantile_bins({0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, 10);
  CHECK(t.edges == std::vector<double>{0, 1});
  CHECK(t.fractions == std::vector<double>{0.8, 0.2, 0.0});
}

TEST_CASE("the reservoir keeps a bounded, uniform, reproducible sample",
          "[validation][stats]") {
  profile_options opts;
  opts.sample_size = 1000;
  auto run = [&](uint64_t seed) {
    opts.seed = seed;
    profile_builder b{{"x"}, opts};
    for (int i = 0; i < 100'000; ++i) {
      b.begin_row(i);
      b.add_integer(0, i);
      b.end_row();
    }
    return b.finish();
  };
  auto a = run(7);
  auto& s = a.columns[0];
  REQUIRE(s.sample.size() == 1000);
  CHECK(s.count == 100'000);
  CHECK(s.mean == Approx(49'999.5));
  // A uniform sample of 0..99999: its mean is within 4 standard errors.
  auto mean = std::accumulate(s.sample.begin(), s.sample.end(), 0.0) / 1000;
  CHECK(std::fabs(mean - 49'999.5) < 4 * 28'868 / std::sqrt(1000.0));
  // The deciles of the base bins are near 10'000, 20'000, ...
  REQUIRE(s.bins.edges.size() == 9);
  for (size_t k = 0; k < 9; ++k)
    CHECK(std::fabs(s.bins.edges[k] - 10'000.0 * (k + 1)) < 4'000);
  CHECK(run(7).columns[0].sample == s.sample);
  CHECK(run(8).columns[0].sample != s.sample);
}

TEST_CASE("a column with more distinct texts than max_domain is "
          "high-cardinality",
          "[validation][stats]") {
  profile_options opts;
  opts.max_domain = 50;
  profile_builder b{{"id", "code"}, opts};
  for (int i = 0; i < 200; ++i)
    b.add_row(std::vector<std::string>{"user" + std::to_string(i),
                                       "c" + std::to_string(i % 50)},
              i + 2);
  auto s = b.finish();
  CHECK(s.columns[0].high_cardinality);
  CHECK(s.columns[0].domain.empty());
  CHECK_FALSE(s.columns[1].high_cardinality);
  CHECK(s.columns[1].domain.size() == 50);
  CHECK(s.columns[1].singletons() == 0);
}

TEST_CASE("typed rows need no text: NaN and cells not given are missing",
          "[validation][stats]") {
  const auto nan = std::numeric_limits<double>::quiet_NaN();
  profile_builder b{{"a", "b", "n"}};
  b.add_row(std::vector<double>{1.5, nan}, 10);
  b.begin_row(11);
  b.add_number(0, 2.5);
  b.add_integer(2, 4);
  b.add_number(0, 99); // a second value for a column is ignored
  b.end_row();
  b.begin_row(12);
  b.add_missing(0);
  b.add_text(1, "x");
  b.add_integer(2, 5);
  b.end_row();
  auto s = b.finish();
  CHECK(s.rows == 3);
  CHECK(s.columns[0].type == value_type::floating);
  CHECK(s.columns[0].missing == 1);
  CHECK(s.columns[0].max == 2.5);
  CHECK(s.columns[1].type == value_type::string);
  CHECK(s.columns[1].missing == 2);
  CHECK(s.columns[2].type == value_type::integer);
  CHECK(s.columns[2].missing == 1);
  // Typed numbers are not counted by value.
  CHECK(s.columns[0].domain.empty());
  CHECK(s.columns[1].domain.size() == 1);
}

TEST_CASE("profile pulls rows from a source and refuses duplicate names",
          "[validation][stats]") {
  int next = 0;
  auto source = [&](row_sink& sink) {
    if (next == 5) return false;
    sink.add_row(std::vector<double>{double(next), double(next * next)}, next);
    ++next;
    return true;
  };
  auto s = profile({"x", "sq"}, source);
  REQUIRE(s);
  CHECK(s->rows == 5);
  CHECK(s->columns[1].max == 16);
  auto dup = profile({"x", "x"}, source);
  REQUIRE_FALSE(dup);
  CHECK(describe(dup.error()).find("duplicate column name 'x'") !=
        std::string::npos);
}
