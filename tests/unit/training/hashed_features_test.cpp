// Prophet's feature extraction for sparse models (actors/models/
// hashed_features): categorical, text and quantile-bucketed numeric
// columns and crosses become hashed keys; the fitted transform survives
// JSON exactly; bad options and tables are named; and FTRL over the keys of
// a real dataset learns it.

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "actors/models/hashed_features.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/tabular/metrics.hpp"
#include "actors/training/sparse_lr.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::models;
using namespace troupe::training;

namespace {

const char* small_csv = "age,city,note,clicked\n"
                        "21,paris,red fast small car,yes\n"
                        "35,lyon,blue slow big truck,no\n"
                        "47,paris,red slow small van,yes\n"
                        ",nice,green fast big car,no\n"
                        "63,lyon,blue fast small car,no\n"
                        "29,,red fast big truck,yes\n";

tabular::table parse(const std::string& text) {
  auto t = tabular::parse_csv(text, "test.csv");
  REQUIRE(t);
  return *t;
}

std::set<uint64_t> as_set(const std::vector<uint64_t>& xs) {
  return {xs.begin(), xs.end()};
}

} // namespace

TEST_CASE("columns become hashed keys: categories, words, quantile buckets, "
          "missing cells and crosses",
          "[training][hashing]") {
  auto t = parse(small_csv);
  hashing_options o;
  o.bits = 20;
  o.buckets = 2;
  o.crosses = {{"age", "city"}};
  auto h = hashed_transform::fit(t, "clicked", o);
  REQUIRE(h);
  REQUIRE(h->columns().size() == 3);
  using how = hashed_transform::column_spec::hashing;
  CHECK(h->columns()[0].how == how::numeric);
  CHECK(h->columns()[1].how == how::categorical);
  CHECK(h->columns()[2].how == how::text);
  CHECK(h->positive() == "yes");
  auto rows = h->transform(t);
  REQUIRE(rows);
  REQUIRE(rows->size() == 6);
  CHECK((*rows)[0].label == 1.f);
  CHECK((*rows)[1].label == 0.f);
  for (auto& r : *rows)
    for (auto k : r.keys) {
      CHECK(k >= 1);
      CHECK(k < (uint64_t{1} << 20));
    }
  // one key per numeric and categorical column, one per word (4), one cross
  CHECK((*rows)[0].keys.size() == 1 + 1 + 4 + 1);
  // the same cells give the same keys; a word shared gives a shared key
  auto a = h->keys({"21", "paris", "red fast small car"});
  CHECK(a == (*rows)[0].keys);
  auto b = h->keys({"22", "paris", "red"});
  CHECK(b[0] == a[0]); // 21 and 22: the same quantile bucket
  CHECK(b[1] == a[1]);
  CHECK(b[2] == a[2]);                               // "red"
  CHECK(h->keys({"63", "paris", "red"})[0] != a[0]); // another bucket
  // the cross depends on both columns
  CHECK(h->keys({"21", "lyon", "red"}).back() != a.back());
  // a missing cell, an unparsable number and an unseen category each have
  // a key of their own, with no refit
  auto missing = h->keys({"", "", ""});
  CHECK(missing[0] == h->keys({"n/a", "", ""})[0]);
  CHECK(missing[0] != a[0]);
  CHECK(missing[1] != a[1]);
  CHECK(h->keys({"21", "rome", "x"})[1] != a[1]);
  CHECK(as_set(h->keys({"21", "paris", "RED, fast!"})) ==
        as_set(h->keys({"21", "paris", "red fast"})));
}

TEST_CASE("a file hashed as it streams gives the rows of its table, and a "
          "label of neither class is named",
          "[training][hashing]") {
  test::temp_dir dir;
  auto path = dir / "small.csv";
  // a quoted cell with spaces, and a missing label (the row is dropped)
  test::write_file(path, std::string{small_csv} +
                             "51, \"lyon\" ,red fast small car,NA\n");
  auto t = tabular::read_csv(path);
  REQUIRE(t);
  hashing_options opts;
  opts.crosses = {{"age", "city"}};
  auto tf = hashed_transform::fit(*t, "clicked", opts);
  REQUIRE(tf);
  auto table_rows = tf->transform(*t);
  REQUIRE(table_rows);
  auto streamed = tf->transform_file(path);
  REQUIRE(streamed);
  REQUIRE(streamed->size() == 6);
  REQUIRE(streamed->size() == table_rows->size());
  for (size_t r = 0; r < streamed->size(); ++r) {
    CHECK((*streamed)[r].keys == (*table_rows)[r].keys);
    CHECK((*streamed)[r].label == (*table_rows)[r].label);
  }
  // a numeric label compares as a number
  test::write_file(dir / "num.csv", "x,y\na,1\nb,0\na,1.0\n");
  auto nt = tabular::read_csv(dir / "num.csv");
  REQUIRE(nt);
  auto ntf = hashed_transform::fit(*nt, "y", {});
  REQUIRE(ntf);
  auto nrows = ntf->transform_file(dir / "num.csv");
  REQUIRE(nrows);
  REQUIRE(nrows->size() == 3);
  CHECK((*nrows)[2].label == 1.f);
  // a class the fit never saw
  test::write_file(dir / "third.csv", "x,y\na,1\nb,0\nc,2\n");
  auto third = ntf->transform_file(dir / "third.csv");
  REQUIRE_FALSE(third);
  CHECK_THAT(describe(third.error()),
             Catch::Contains("third.csv:4: target 'y' is '2', neither class"));
  test::write_file(dir / "nocity.csv", "age,note,clicked\n3,x,yes\n");
  auto gone = tf->transform_file(dir / "nocity.csv");
  REQUIRE_FALSE(gone);
  CHECK_THAT(describe(gone.error()), Catch::Contains("column 'city'"));
}

TEST_CASE("a fitted transform saved as JSON hashes every row alike",
          "[training][hashing]") {
  auto t = parse(small_csv);
  hashing_options o;
  o.crosses = {{"city", "age"}};
  auto h = hashed_transform::fit(t, "clicked", o);
  REQUIRE(h);
  auto text = h->to_json().dump();
  auto back = hashed_transform::from_json(nlohmann::json::parse(text));
  REQUIRE(back);
  auto x = h->transform(t);
  auto y = back->transform(t);
  REQUIRE(x);
  REQUIRE(y);
  REQUIRE(x->size() == y->size());
  for (size_t i = 0; i < x->size(); ++i) {
    CHECK((*x)[i].keys == (*y)[i].keys);
    CHECK((*x)[i].label == (*y)[i].label);
  }
  CHECK(back->to_json() == h->to_json());
  // unlabeled data (serving) keeps every row
  auto serve = parse("age,city,note\n30,paris,red car\n,,\n");
  auto u = back->transform(serve, false);
  REQUIRE(u);
  CHECK(u->size() == 2);
}

TEST_CASE("bad hashing options, targets, crosses and documents are named",
          "[training][hashing]") {
  auto t = parse(small_csv);
  auto err = [&](hashing_options o, const std::string& target) {
    auto h = hashed_transform::fit(t, target, o);
    REQUIRE_FALSE(h);
    return describe(h.error());
  };
  hashing_options o;
  o.bits = 0;
  CHECK_THAT(err(o, "clicked"), Catch::Contains("hash bits 0"));
  o = {};
  o.buckets = 1;
  CHECK_THAT(err(o, "clicked"), Catch::Contains("buckets 1"));
  o = {};
  CHECK_THAT(err(o, "label"), Catch::Contains("no target column 'label'") &&
                                  Catch::Contains("age, city"));
  CHECK_THAT(err(o, "city"), Catch::Contains("3 distinct values"));
  o.crosses = {{"age", "town"}};
  CHECK_THAT(err(o, "clicked"), Catch::Contains("'town'"));
  o.crosses = {{"age", "note"}};
  CHECK_THAT(err(o, "clicked"), Catch::Contains("text columns are not"));
  o.crosses = {{"age", "age"}};
  CHECK_THAT(err(o, "clicked"), Catch::Contains("with itself"));
  auto h = hashed_transform::fit(t, "clicked", {});
  REQUIRE(h);
  auto missing = h->transform(parse("age,note,clicked\n1,a,yes\n"));
  REQUIRE_FALSE(missing);
  CHECK_THAT(describe(missing.error()), Catch::Contains("column 'city'"));
  auto j = h->to_json();
  j["version"] = 2;
  auto v = hashed_transform::from_json(j);
  REQUIRE_FALSE(v);
  CHECK_THAT(describe(v.error()), Catch::Contains("version 2"));
  j = h->to_json();
  j["columns"][1]["kind"] = "image";
  v = hashed_transform::from_json(j);
  REQUIRE_FALSE(v);
  CHECK_THAT(describe(v.error()), Catch::Contains("'image'"));
  CHECK_FALSE(hashed_transform::from_json(nlohmann::json::array()));
}

TEST_CASE("FTRL over hashed quantile buckets and crosses learns spam",
          "[training][hashing]") {
  auto t = tabular::read_csv(TROUPE_SOURCE_DIR "/tests/data/spam.csv");
  REQUIRE(t);
  hashing_options o;
  o.bits = 22;
  o.buckets = 16;
  o.crosses = {{"remove", "free"}, {"hp", "george"}};
  auto h = hashed_transform::fit(*t, "type", o);
  REQUIRE(h);
  auto rows = h->transform(*t);
  REQUIRE(rows);
  std::vector<sparse_row> train, valid;
  for (size_t i = 0; i < rows->size(); ++i)
    (i % 4 == 0 ? valid : train).push_back((*rows)[i]);
  sparse_params p;
  p.alpha = 0.1;
  p.l1 = 0.5;
  p.l2 = 1;
  sparse_table table{p};
  REQUIRE_FALSE(train_in_process(table, train, 16, 3));
  std::vector<float> y, score;
  for (auto& r : valid) {
    y.push_back(r.label);
    score.push_back(predict(table, r));
  }
  auto auc = tabular::auc(y, score);
  REQUIRE(auc);
  INFO("validation AUC " << *auc << " over " << table.size() << " keys");
  CHECK(*auc > 0.95);
}
