// Serving a sparse-lr model (actors/models/sparse_model, sparse_servable):
// a job's directory loads as a servable whose predictions of raw cells equal
// the trained table's predictions of the hashed rows; numbers given by
// column predict as those cells do; the JSON survives a round trip; bad
// files and requests are named.

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "actors/models/servable.hpp"
#include "actors/models/sparse_model.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/training/sparse_lr.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::models;

namespace {

const char* rides_csv = "age,city,note,clicked\n"
                        "21,paris,red fast small car,yes\n"
                        "35,lyon,blue slow big truck,no\n"
                        "47,paris,red slow small van,yes\n"
                        ",nice,green fast big car,no\n"
                        "63,lyon,blue fast small car,no\n"
                        "29,,red fast big truck,yes\n"
                        "52,paris,blue fast small van,yes\n"
                        "38,nice,red slow big car,no\n";

tabular::table parse(const std::string& text) {
  auto t = tabular::parse_csv(text, "rides.csv");
  REQUIRE(t);
  return *t;
}

/// A sparse model trained in one process on `t`, saved as model.json in
/// `dir`.
sparse_model train_and_save(const tabular::table& t, const std::string& target,
                            const hashing_options& o, const std::string& dir) {
  auto h = hashed_transform::fit(t, target, o);
  REQUIRE(h);
  auto rows = h->transform(t);
  REQUIRE(rows);
  training::sparse_params p;
  p.alpha = 0.5;
  p.l1 = 0.01;
  training::sparse_table table{p};
  REQUIRE_FALSE(training::train_in_process(table, *rows, 2, 5));
  std::vector<uint64_t> keys;
  std::vector<float> weights;
  for (auto& e : table.entries()) {
    keys.push_back(e.key);
    weights.push_back(table.weight(e.key));
  }
  sparse_model m{*h, keys, weights};
  std::ofstream{dir + "/model.json"} << m.to_json().dump();
  return m;
}

/// The table's rows as serving cells (numbers for numeric columns).
std::vector<std::vector<cell>> cells_of(const tabular::table& t,
                                        std::vector<std::string>& columns) {
  columns.clear();
  for (auto& c : t.columns)
    columns.push_back(c.name);
  std::vector<std::vector<cell>> rows(t.rows());
  for (size_t r = 0; r < t.rows(); ++r)
    for (auto& c : t.columns)
      rows[r].push_back(c.is_missing(r) ? cell::none()
                        : c.kind == tabular::column_kind::numeric
                            ? cell::of(c.numbers[r])
                            : cell::of(c.text[r]));
  return rows;
}

} // namespace

TEST_CASE("a sparse-lr directory serves the trained weights through the same "
          "hashing: categories, words, buckets, missing cells and a cross",
          "[models][sparse]") {
  test::temp_dir dir;
  auto t = parse(rides_csv);
  hashing_options o;
  o.bits = 18;
  o.buckets = 3;
  o.crosses = {{"age", "city"}};
  auto m = train_and_save(t, "clicked", o, dir.path());
  REQUIRE(m.size() > 10);
  REQUIRE(sparse_model::is_sparse_dir(dir.path()));

  auto s = servable::load(model_format::troupe, dir.path());
  REQUIRE(s);
  auto& model = **s;
  CHECK(model.task() == tabular::task_kind::binary);
  CHECK(model.classes() == std::vector<std::string>{"no", "yes"});
  CHECK(model.prep().target() == "clicked");
  CHECK(model.features() == 3);
  CHECK(model.predictor().find("sparse logistic regression") == 0);

  std::vector<std::string> columns;
  auto rows = cells_of(t, columns);
  auto p = model.predict(columns, rows);
  REQUIRE(p);
  REQUIRE(p->size() == t.rows());
  auto hashed = m.transform().transform(t);
  REQUIRE(hashed);
  bool apart = false;
  for (size_t r = 0; r < t.rows(); ++r) {
    std::vector<std::string> cells;
    for (auto& c : t.columns)
      if (c.name != "clicked") cells.push_back(c.text[r]);
    auto want =
        predict_with((*hashed)[r], [&](uint64_t k) { return m.weight(k); });
    INFO("row " << r);
    CHECK((*p)[r] == Approx(want).margin(1e-6));
    CHECK(m.predict(cells) == Approx(want).margin(1e-6));
    apart = apart || std::abs((*p)[r] - 0.5f) > 0.05f;
  }
  CHECK(apart); // the model learnt something

  // columns in another order, the target left out: the same predictions
  std::vector<std::string> shuffled{"note", "age", "city"};
  std::vector<std::vector<cell>> again;
  for (auto& r : rows)
    again.push_back({r[2], r[0], r[1]});
  auto q = model.predict(shuffled, again);
  REQUIRE(q);
  CHECK(*q == *p);

  // a request without a column the model hashes is named
  auto missing =
      model.predict({"age", "note"}, {{cell::of(30.0), cell::of("red car")}});
  REQUIRE_FALSE(missing);
  CHECK(describe(missing.error()).find("no column 'city'") !=
        std::string::npos);
}

TEST_CASE("a numeric sparse model takes rows of numbers as their cells",
          "[models][sparse]") {
  test::temp_dir dir;
  auto t = tabular::read_csv(TROUPE_SOURCE_DIR "/tests/data/spam.csv");
  REQUIRE(t);
  hashing_options o;
  o.bits = 20;
  o.buckets = 8;
  o.crosses = {{"remove", "free"}};
  train_and_save(*t, "type", o, dir.path());
  auto s = servable::load(model_format::troupe, dir.path());
  REQUIRE(s);
  auto& model = **s;
  REQUIRE(model.features() == t->columns.size() - 1);
  std::vector<std::string> columns;
  auto rows = cells_of(*t, columns);
  rows.resize(50);
  auto by_cells = model.predict(columns, rows);
  REQUIRE(by_cells);
  std::vector<float> values;
  for (auto& r : rows)
    for (size_t c = 0; c < columns.size(); ++c)
      if (columns[c] != "type")
        values.push_back(static_cast<float>(r[c].number));
  auto x = model.encode_values(values, rows.size());
  REQUIRE(x);
  auto by_values = model.predict(x->data(), rows.size());
  REQUIRE(by_values);
  for (size_t r = 0; r < rows.size(); ++r)
    CHECK((*by_values)[r] == Approx((*by_cells)[r]).margin(1e-6));
}

TEST_CASE("a sparse model's JSON survives a round trip, and bad ones are named",
          "[models][sparse]") {
  test::temp_dir dir;
  auto t = parse(rides_csv);
  hashing_options o;
  o.bits = 16;
  auto m = train_and_save(t, "clicked", o, dir.path());
  auto back = sparse_model::load(dir / "model.json");
  REQUIRE(back);
  CHECK(back->to_json() == m.to_json());
  CHECK(back->size() == m.size());

  auto j = m.to_json();
  j["weights"].erase(0);
  auto short_of = sparse_model::from_json(j, "model.json");
  REQUIRE_FALSE(short_of);
  CHECK(describe(short_of.error()).find("model.json: ") != std::string::npos);
  CHECK(describe(short_of.error()).find(" weights") != std::string::npos);

  j = m.to_json();
  j["transform"]["columns"][0]["kind"] = "vector";
  auto bad_kind = sparse_model::from_json(j, "model.json");
  REQUIRE_FALSE(bad_kind);
  CHECK(describe(bad_kind.error()).find("unknown kind 'vector'") !=
        std::string::npos);

  // a broken model.json in a job directory is refused at load, named
  j = m.to_json();
  j["keys"] = "many";
  std::ofstream{dir / "model.json"} << j.dump();
  auto broken = servable::load(model_format::troupe, dir.path());
  REQUIRE_FALSE(broken);
  CHECK(describe(broken.error())
            .find("sparse model directory '" + dir.path() + "'") !=
        std::string::npos);
}
