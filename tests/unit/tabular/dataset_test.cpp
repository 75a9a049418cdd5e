#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "actors/tabular/csv.hpp"
#include "actors/tabular/dataset.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::tabular;

namespace {

std::string shared_data(const std::string& file) {
  return TROUPE_SOURCE_DIR "/tests/data/" + file;
}

/// Reads a shared dataset and makes it ready with `target`.
dataset load(const std::string& file, const std::string& target) {
  auto t = read_csv(shared_data(file));
  REQUIRE(t);
  auto ds = make_dataset(*t, target);
  REQUIRE(ds);
  return std::move(*ds);
}

std::map<float, size_t> class_counts(const std::vector<float>& y) {
  std::map<float, size_t> out;
  for (auto v : y)
    ++out[v];
  return out;
}

size_t feature_index(const matrix& m, const std::string& name) {
  auto it = std::find(m.feature_names.begin(), m.feature_names.end(), name);
  REQUIRE(it != m.feature_names.end());
  return it - m.feature_names.begin();
}

/// Writes `text` to a file in `dir` and reads it back as CSV.
caf::expected<table> csv_file(const test::temp_dir& dir,
                              const std::string& name,
                              const std::string& text) {
  test::write_file(dir / name, text);
  return read_csv(dir / name);
}

std::string error_of(const caf::error& err) {
  return describe(err);
}

bool contains(const std::vector<std::string>& xs, const std::string& part) {
  return std::any_of(xs.begin(), xs.end(), [&](const std::string& x) {
    return x.find(part) != std::string::npos;
  });
}

bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

/// Share of rows with label 1 among `rows`.
double positive_share(const std::vector<float>& y,
                      const std::vector<size_t>& rows) {
  size_t pos = 0;
  for (auto r : rows)
    pos += y[r] == 1.0f;
  return static_cast<double>(pos) / rows.size();
}

} // namespace

// -- the shared datasets -----------------------------------------------------

TEST_CASE("spam reads as a binary task over 57 numeric features", "[dataset]") {
  auto ds = load("spam.csv", "type");
  CHECK(ds.X.rows == 4601);
  CHECK(ds.X.cols == 57);
  CHECK(ds.X.labels.size() == 4601);
  CHECK(ds.task == task_kind::binary);
  CHECK(ds.classes == std::vector<std::string>{"nonspam", "spam"});
  auto counts = class_counts(ds.X.labels);
  CHECK(counts[0.0f] == 2788);
  CHECK(counts[1.0f] == 1813);
  for (auto& f : ds.prep.features())
    CHECK(f.kind == column_kind::numeric);
  CHECK(ds.X.feature_names.front() == "make");
  CHECK(ds.X.at(0, 1) == Approx(0.64f));
  CHECK(ds.warnings.empty());
}

TEST_CASE("ticdata is binary with 6 % positives and categorical strings",
          "[dataset]") {
  auto ds = load("ticdata.csv", "CARAVAN");
  CHECK(ds.X.rows == 9822);
  CHECK(ds.X.cols == 85);
  CHECK(ds.task == task_kind::binary);
  // Classes are numbered in sorted order: the rare "insurance" is 0.
  CHECK(ds.classes == std::vector<std::string>{"insurance", "noinsurance"});
  auto counts = class_counts(ds.X.labels);
  CHECK(counts[0.0f] == 586);
  CHECK(counts[0.0f] / 9822.0 == Approx(0.06).margin(0.005));
  auto& stype = ds.prep.features()[feature_index(ds.X, "STYPE")];
  CHECK(stype.kind == column_kind::categorical);
  CHECK(stype.categories.size() == 39);
  // A quoted value holding the delimiter is one category.
  CHECK(std::count(stype.categories.begin(), stype.categories.end(),
                   "Modern, complete families") == 1);
  CHECK(std::is_sorted(stype.categories.begin(), stype.categories.end()));
  size_t categorical = 0;
  for (auto& f : ds.prep.features())
    categorical += f.kind == column_kind::categorical;
  CHECK(categorical == 62);
}

TEST_CASE("shuttle is multiclass with 7 skewed classes", "[dataset]") {
  auto ds = load("shuttle.csv", "Class");
  CHECK(ds.X.rows == 58000);
  CHECK(ds.X.cols == 9);
  CHECK(ds.task == task_kind::multiclass);
  REQUIRE(ds.classes.size() == 7);
  CHECK(std::is_sorted(ds.classes.begin(), ds.classes.end()));
  auto counts = class_counts(ds.X.labels);
  CHECK(counts.size() == 7);
  auto rad = std::find(ds.classes.begin(), ds.classes.end(), "Rad.Flow") -
             ds.classes.begin();
  CHECK(counts[static_cast<float>(rad)] == 45586);
  CHECK(counts[0.0f] == 10); // "Bpv.Close", the rarest
}

TEST_CASE("pima keeps its missing values as NaN", "[dataset]") {
  auto ds = load("pima_diabetes.csv", "diabetes");
  CHECK(ds.X.rows == 768);
  CHECK(ds.X.cols == 8);
  CHECK(ds.task == task_kind::binary);
  CHECK(ds.classes == std::vector<std::string>{"neg", "pos"});
  CHECK(class_counts(ds.X.labels)[1.0f] == 268);
  auto insulin = feature_index(ds.X, "insulin");
  size_t missing = 0;
  for (size_t r = 0; r < ds.X.rows; ++r)
    missing += std::isnan(ds.X.at(r, insulin));
  CHECK(missing == 374);
  CHECK(std::isnan(ds.X.at(0, insulin)));
  CHECK(ds.X.at(0, feature_index(ds.X, "glucose")) == 148.0f);
}

TEST_CASE("boston is regression and encodes the town strings", "[dataset]") {
  auto t = read_csv(shared_data("boston_housing.csv"));
  REQUIRE(t);
  CHECK(t->rows() == 506);
  CHECK(t->columns.size() == 18);
  auto ds = make_dataset(*t, "cmedv");
  REQUIRE(ds);
  CHECK(ds->task == task_kind::regression);
  CHECK(ds->classes.empty());
  CHECK(ds->X.cols == 17);
  CHECK(ds->X.labels[0] == 24.0f);
  auto town = feature_index(ds->X, "town");
  auto& f = ds->prep.features()[town];
  REQUIRE(f.kind == column_kind::categorical);
  CHECK(f.categories.size() == 92);
  auto nahant = std::find(f.categories.begin(), f.categories.end(), "Nahant");
  REQUIRE(nahant != f.categories.end());
  CHECK(ds->X.at(0, town) == static_cast<float>(nahant - f.categories.begin()));
  for (size_t r = 0; r < ds->X.rows; ++r) {
    CHECK(ds->X.at(r, town) >= 0.0f);
    CHECK(ds->X.at(r, town) < 92.0f);
  }
}

// -- malformed and awkward inputs --------------------------------------------

TEST_CASE("a ragged row is an error naming the file and line", "[dataset]") {
  test::temp_dir dir;
  auto t = csv_file(dir, "ragged.csv", "a,b,c\n1,2,3\n4,5\n7,8,9\n");
  REQUIRE_FALSE(t);
  auto msg = error_of(t.error());
  CHECK_THAT(msg, Catch::Contains("ragged.csv:3:"));
  CHECK_THAT(msg, Catch::Contains("line 3 has 2 fields, header has 3"));
}

TEST_CASE("an unknown target is an error listing the columns", "[dataset]") {
  test::temp_dir dir;
  auto t = csv_file(dir, "t.csv", "alpha,beta\n1,x\n2,y\n");
  REQUIRE(t);
  auto ds = make_dataset(*t, "gamma");
  REQUIRE_FALSE(ds);
  auto msg = error_of(ds.error());
  CHECK_THAT(msg, Catch::Contains("t.csv"));
  CHECK_THAT(msg, Catch::Contains("'gamma'"));
  CHECK_THAT(msg, Catch::Contains("alpha, beta"));
}

TEST_CASE("a single-class target is an error", "[dataset]") {
  test::temp_dir dir;
  auto t = csv_file(dir, "one.csv", "x,y\n1,yes\n2,yes\n3,\n");
  REQUIRE(t);
  auto ds = make_dataset(*t, "y");
  REQUIRE_FALSE(ds);
  CHECK_THAT(error_of(ds.error()), Catch::Contains("one.csv"));
  CHECK_THAT(error_of(ds.error()), Catch::Contains("single class ('yes')"));
  auto constant = csv_file(dir, "c.csv", "x,y\n1,5\n2,5\n");
  REQUIRE(constant);
  auto ds2 = make_dataset(*constant, "y");
  REQUIRE_FALSE(ds2);
  CHECK_THAT(error_of(ds2.error()), Catch::Contains("single value"));
}

TEST_CASE("an empty file and a header-only file are errors", "[dataset]") {
  test::temp_dir dir;
  auto empty = csv_file(dir, "empty.csv", "");
  REQUIRE_FALSE(empty);
  CHECK_THAT(error_of(empty.error()), Catch::Contains("empty.csv"));
  CHECK_THAT(error_of(empty.error()), Catch::Contains("empty file"));
  auto header = csv_file(dir, "header.csv",
                         "\xEF\xBB\xBF"
                         "a,b\r\n");
  REQUIRE_FALSE(header);
  CHECK_THAT(error_of(header.error()), Catch::Contains("header.csv"));
  CHECK_THAT(error_of(header.error()), Catch::Contains("header only"));
  // The BOM is skipped, not read into the first column's name.
  auto bom = parse_csv("\xEF\xBB\xBF"
                       "a,b\n1,2\n",
                       "bom.csv");
  REQUIRE(bom);
  CHECK(bom->columns[0].name == "a");
  CHECK(bom->columns[0].kind == column_kind::numeric);
  auto missing = read_csv(dir / "nope.csv");
  REQUIRE_FALSE(missing);
  CHECK_THAT(error_of(missing.error()), Catch::Contains("nope.csv"));
}

TEST_CASE("an unterminated quote is an error at the line it opens",
          "[dataset]") {
  test::temp_dir dir;
  auto t = csv_file(dir, "q.csv", "a,b\n1,2\n3,\"never\nclosed\n4,5\n");
  REQUIRE_FALSE(t);
  CHECK_THAT(error_of(t.error()), Catch::Contains("q.csv:3:2:"));
  CHECK_THAT(error_of(t.error()), Catch::Contains("unterminated quote"));
  auto after = csv_file(dir, "after.csv", "a,b\n1,\"x\"y\n");
  REQUIRE_FALSE(after);
  CHECK_THAT(error_of(after.error()), Catch::Contains("after.csv:2:2:"));
}

TEST_CASE("invalid UTF-8 is an error naming line and column", "[dataset]") {
  test::temp_dir dir;
  auto t = csv_file(dir, "u.csv", "a,b,c\n1,caf\xC3\xA9,2\n3,x,y\xFFz\n");
  REQUIRE_FALSE(t);
  auto msg = error_of(t.error());
  CHECK_THAT(msg, Catch::Contains("u.csv:3:3:"));
  CHECK_THAT(msg, Catch::Contains("invalid UTF-8"));
  CHECK_THAT(msg, Catch::Contains("0xFF"));
  // Overlong encodings and lone continuation bytes are invalid too.
  CHECK_FALSE(parse_csv("a\n\xC0\xAF\n", "s"));
  CHECK_FALSE(parse_csv("a\n\x80\n", "s"));
  CHECK(parse_csv("a\n\xF0\x9F\x98\x80\n", "s"));
}

TEST_CASE("quoted fields hold delimiters, doubled quotes and line breaks",
          "[dataset]") {
  auto t = parse_csv("name,note,n\r\n"
                     "a,\"one, two\",1\r\n"
                     "b,\"say \"\"hi\"\"\",2\r\n"
                     "c,\"multi\r\nline\",3\r\n"
                     "d,plain,4",
                     "mem.csv");
  REQUIRE(t);
  REQUIRE(t->rows() == 4);
  auto& note = *t->find("note");
  CHECK(note.text[0] == "one, two");
  CHECK(note.text[1] == "say \"hi\"");
  CHECK(note.text[2] == "multi\r\nline");
  CHECK(note.text[3] == "plain");
  CHECK(t->lines == std::vector<size_t>{2, 3, 4, 6});
  CHECK(t->find("n")->kind == column_kind::numeric);
  CHECK(t->find("n")->numbers[3] == 4.0);
  // A ragged row after the quoted line break names its physical line.
  auto bad = parse_csv("a,b\n\"x\ny\",1\n2\n", "lines.csv");
  REQUIRE_FALSE(bad);
  CHECK_THAT(error_of(bad.error()), Catch::Contains("lines.csv:4:"));
}

TEST_CASE("empty, NA and ? cells are missing, quoted or not", "[dataset]") {
  auto t = parse_csv("x,s,y\n"
                     "1,a,0\n"
                     ",b,1\n"
                     "NA,\"NA\",0\n"
                     " ? ,\" ? \",1\n"
                     "\"\",\"\",0\n"
                     "5, NAN ,1\n",
                     "m.csv");
  REQUIRE(t);
  auto& x = *t->find("x");
  CHECK(x.kind == column_kind::numeric);
  CHECK(x.missing == 4);
  CHECK(x.numbers[0] == 1.0);
  CHECK(std::isnan(x.numbers[1]));
  CHECK(x.numbers[5] == 5.0);
  auto& s = *t->find("s");
  CHECK(s.kind == column_kind::categorical);
  CHECK(s.missing == 3);
  CHECK(s.text[5] == "NAN"); // not a missing marker; trimmed
  auto ds = make_dataset(*t, "y");
  REQUIRE(ds);
  CHECK(std::isnan(ds->X.at(2, 0)));
  CHECK(std::isnan(ds->X.at(3, 1)));
  // Categories sort bytewise: "NAN", "a", "b".
  CHECK(ds->prep.features()[1].categories ==
        std::vector<std::string>{"NAN", "a", "b"});
  CHECK(ds->X.at(0, 1) == 1.0f);
}

TEST_CASE("a column mixing numbers and strings is categorical, with a warning",
          "[dataset]") {
  auto t = parse_csv("mixed,y\n1,a\n2,b\nthree,a\n4.5,b\n", "mix.csv");
  REQUIRE(t);
  CHECK(t->find("mixed")->kind == column_kind::categorical);
  auto ds = make_dataset(*t, "y");
  REQUIRE(ds);
  CHECK(contains(ds->warnings, "mix.csv: column 'mixed' mixes"));
  CHECK(contains(ds->warnings, "'three', on line 4"));
  auto& f = ds->prep.features()[0];
  CHECK(f.kind == column_kind::categorical);
  CHECK(f.categories == std::vector<std::string>{"1", "2", "4.5", "three"});
  CHECK(ds->X.at(2, 0) == 3.0f);
}

TEST_CASE("an all-missing column is dropped, with a warning", "[dataset]") {
  auto t = parse_csv("a,empty,y\n1,,0\n2,NA,1\n3,?,0\n", "e.csv");
  REQUIRE(t);
  auto ds = make_dataset(*t, "y");
  REQUIRE(ds);
  CHECK(ds->X.feature_names == std::vector<std::string>{"a"});
  CHECK(ds->X.cols == 1);
  CHECK(contains(ds->warnings, "column 'empty' has no values; dropped"));
}

TEST_CASE("rows with a missing target are dropped and counted", "[dataset]") {
  auto t = parse_csv("a,y\n1,0\n2,\n3,1\n4,NA\n5,1\n", "d.csv");
  REQUIRE(t);
  auto ds = make_dataset(*t, "y");
  REQUIRE(ds);
  CHECK(ds->X.rows == 3);
  CHECK(ds->X.values == std::vector<float>{1, 3, 5});
  CHECK(ds->X.labels == std::vector<float>{0, 1, 1});
  CHECK(contains(ds->warnings, "dropped 2 rows whose target 'y' is missing"));
}

TEST_CASE("a numeric target's task follows the documented rule", "[dataset]") {
  auto task_of = [](const std::string& ys, std::optional<task_kind> task = {}) {
    std::string text = "x,y\n";
    for (size_t i = 0; i < ys.size(); ++i)
      text += std::to_string(i) + "," + ys[i] + "\n";
    auto t = parse_csv(text, "n.csv");
    REQUIRE(t);
    return make_dataset(*t, "y", task);
  };
  auto two = task_of("7373");
  REQUIRE(two);
  CHECK(two->task == task_kind::binary);
  CHECK(two->classes == std::vector<std::string>{"3", "7"});
  CHECK(two->X.labels == std::vector<float>{1, 0, 1, 0});
  auto few = task_of("0120129");
  REQUIRE(few);
  CHECK(few->task == task_kind::multiclass);
  CHECK(few->classes.size() == 4);
  // 21 distinct integers: regression.
  std::string text = "x,y\n";
  for (int i = 0; i < 21; ++i)
    text += std::to_string(i) + "," + std::to_string(i * 3) + "\n";
  auto many = parse_csv(text, "many.csv");
  REQUIRE(many);
  CHECK(make_dataset(*many, "y")->task == task_kind::regression);
  auto fractional = parse_csv("x,y\n1,0.5\n2,1.5\n3,2.5\n", "f.csv");
  REQUIRE(fractional);
  CHECK(make_dataset(*fractional, "y")->task == task_kind::regression);
  // An override wins, unless the target cannot have that task.
  auto forced = task_of("0120129", task_kind::regression);
  REQUIRE(forced);
  CHECK(forced->task == task_kind::regression);
  CHECK(forced->X.labels.back() == 9.0f);
  CHECK_FALSE(task_of("012", task_kind::binary));
  auto strings = parse_csv("x,y\n1,a\n2,b\n", "s.csv");
  REQUIRE(strings);
  auto as_regression = make_dataset(*strings, "y", task_kind::regression);
  REQUIRE_FALSE(as_regression);
  CHECK_THAT(error_of(as_regression.error()), Catch::Contains("s.csv:2:2:"));
  CHECK(make_dataset(*strings, "y", task_kind::multiclass)->task ==
        task_kind::multiclass);
}

TEST_CASE("duplicate column names are an error", "[dataset]") {
  auto t = parse_csv("a,b,a\n1,2,3\n", "dup.csv");
  REQUIRE_FALSE(t);
  CHECK_THAT(error_of(t.error()), Catch::Contains("dup.csv:1:3:"));
}

TEST_CASE("numbers parse fully and finitely or not at all", "[dataset]") {
  double v = 0;
  CHECK(parse_number(" 1.5e3 ", v));
  CHECK(v == 1500.0);
  CHECK(parse_number("+2", v));
  CHECK(v == 2.0);
  CHECK(parse_number("-.5", v));
  CHECK(v == -0.5);
  CHECK_FALSE(parse_number("1.5x", v));
  CHECK_FALSE(parse_number("inf", v));
  CHECK_FALSE(parse_number("nan", v));
  CHECK_FALSE(parse_number("1e999", v));
  CHECK_FALSE(parse_number("+-1", v));
  CHECK_FALSE(parse_number("0x10", v));
  CHECK_FALSE(parse_number("", v));
}

// -- the preprocessor --------------------------------------------------------

TEST_CASE("a preprocessor saved to JSON encodes data identically",
          "[dataset]") {
  auto t = read_csv(shared_data("boston_housing.csv"));
  REQUIRE(t);
  auto ds = make_dataset(*t, "cmedv");
  REQUIRE(ds);
  test::temp_dir dir;
  REQUIRE_FALSE(ds->prep.save(dir / "prep.json"));
  auto loaded = preprocessor::load(dir / "prep.json");
  REQUIRE(loaded);
  CHECK(loaded->to_json() == ds->prep.to_json());
  std::vector<std::string> warnings;
  auto again = loaded->transform_labeled(*t, warnings);
  REQUIRE(again);
  CHECK(again->rows == ds->X.rows);
  CHECK(again->feature_names == ds->X.feature_names);
  CHECK(same_floats(again->values, ds->X.values));
  CHECK(again->labels == ds->X.labels);

  auto ticdata = read_csv(shared_data("ticdata.csv"));
  REQUIRE(ticdata);
  auto tic = make_dataset(*ticdata, "CARAVAN");
  REQUIRE(tic);
  auto from_json = preprocessor::from_json(
      nlohmann::json::parse(tic->prep.to_json().dump()));
  REQUIRE(from_json);
  CHECK(from_json->classes() == tic->classes);
  auto x = from_json->transform(*ticdata);
  REQUIRE(x);
  CHECK(x->labels.empty());
  CHECK(same_floats(x->values, tic->X.values));
}

TEST_CASE("applying a preprocessor matches columns by name", "[dataset]") {
  auto train = parse_csv("city,size,y\nOslo,1,a\nRome,2,b\nOslo,3,a\n", "tr");
  REQUIRE(train);
  auto ds = make_dataset(*train, "y");
  REQUIRE(ds);
  // Reordered columns, an extra one, an unseen city and a missing one.
  auto fresh =
      parse_csv("extra,size,city\nq,10,Rome\nq,11,Paris\nq,,NA\n", "new.csv");
  REQUIRE(fresh);
  std::vector<std::string> warnings;
  auto m = ds->prep.transform(*fresh, &warnings);
  REQUIRE(m);
  CHECK(m->feature_names == std::vector<std::string>{"city", "size"});
  CHECK(m->at(0, 0) == 1.0f); // Rome
  CHECK(m->at(0, 1) == 10.0f);
  CHECK(std::isnan(m->at(1, 0))); // Paris was not seen
  CHECK(std::isnan(m->at(2, 0)));
  CHECK(std::isnan(m->at(2, 1)));
  CHECK(contains(warnings, "column 'city': 1 values of categories not seen"));

  auto no_size = parse_csv("city\nOslo\n", "short.csv");
  REQUIRE(no_size);
  auto err = ds->prep.transform(*no_size);
  REQUIRE_FALSE(err);
  CHECK_THAT(error_of(err.error()), Catch::Contains("short.csv"));
  CHECK_THAT(error_of(err.error()), Catch::Contains("'size'"));

  auto text_in_numeric = parse_csv("size,city\n1,Oslo\nbig,Rome\n", "bad.csv");
  REQUIRE(text_in_numeric);
  auto bad = ds->prep.transform(*text_in_numeric);
  REQUIRE_FALSE(bad);
  CHECK_THAT(error_of(bad.error()), Catch::Contains("bad.csv:3:1:"));

  auto unseen_class = parse_csv("city,size,y\nOslo,1,c\n", "cls.csv");
  REQUIRE(unseen_class);
  auto labeled = ds->prep.transform_labeled(*unseen_class, warnings);
  REQUIRE_FALSE(labeled);
  CHECK_THAT(error_of(labeled.error()), Catch::Contains("cls.csv:2:3:"));
}

TEST_CASE("a malformed preprocessor JSON is an error, not an exception",
          "[dataset]") {
  CHECK_FALSE(preprocessor::from_json(nlohmann::json::array()));
  auto j = nlohmann::json::parse(R"({"format": "troupe.preprocessor",
    "version": 1, "target": "y", "task": "binary", "target_numeric": false,
    "classes": ["a", "b"], "features": [{"name": "x", "kind": 3}]})");
  auto p = preprocessor::from_json(j);
  REQUIRE_FALSE(p);
  CHECK_THAT(error_of(p.error()), Catch::Contains("preprocessor JSON"));
  j["features"][0]["kind"] = "numeric";
  CHECK(preprocessor::from_json(j));
  test::temp_dir dir;
  test::write_file(dir / "junk.json", "{not json");
  CHECK_FALSE(preprocessor::load(dir / "junk.json"));
}

// -- splits ------------------------------------------------------------------

TEST_CASE("the train/test split is seeded, disjoint, covering and stratified",
          "[dataset]") {
  auto ds = load("spam.csv", "type");
  auto& y = ds.X.labels;
  auto a = train_test_split(y, ds.task, 42);
  auto b = train_test_split(y, ds.task, 42);
  auto c = train_test_split(y, ds.task, 43);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(a->train == b->train);
  CHECK(a->test == b->test);
  CHECK(a->test != c->test);
  CHECK(a->test.size() == Approx(0.25 * y.size()).margin(2));
  std::vector<size_t> all = a->train;
  all.insert(all.end(), a->test.begin(), a->test.end());
  std::sort(all.begin(), all.end());
  std::vector<size_t> expected(y.size());
  for (size_t i = 0; i < y.size(); ++i)
    expected[i] = i;
  CHECK(all == expected); // disjoint and covering
  auto overall = positive_share(y, expected);
  CHECK(positive_share(y, a->test) == Approx(overall).margin(0.02));
  // Stratified: each class is split on its own, 25 % of it to test.
  auto test_counts = class_counts(std::vector<float>([&] {
    std::vector<float> ys;
    for (auto r : a->test)
      ys.push_back(y[r]);
    return ys;
  }()));
  CHECK(test_counts[0.0f] == 697); // round(2788 * 0.25)
  CHECK(test_counts[1.0f] == 453); // round(1813 * 0.25)
  CHECK(positive_share(y, a->train) == Approx(overall).margin(0.02));

  auto sub = take_rows(ds.X, a->test);
  CHECK(sub.rows == a->test.size());
  CHECK(sub.labels[5] == y[a->test[5]]);
  CHECK(sub.at(5, 3) == ds.X.at(a->test[5], 3));

  CHECK_FALSE(train_test_split(y, ds.task, 1, 1.5));
}

TEST_CASE("a rare class lands on both sides of a stratified split",
          "[dataset]") {
  auto ds = load("shuttle.csv", "Class");
  auto s = train_test_split(ds.X.labels, ds.task, 7);
  REQUIRE(s);
  std::set<float> train_classes;
  std::set<float> test_classes;
  for (auto r : s->train)
    train_classes.insert(ds.X.labels[r]);
  for (auto r : s->test)
    test_classes.insert(ds.X.labels[r]);
  CHECK(train_classes.size() == 7);
  CHECK(test_classes.size() == 7);
}

TEST_CASE("a class of at least 2 rows gets a test row at any fraction",
          "[dataset]") {
  std::vector<float> y(100, 0.0f);
  y[10] = y[50] = y[90] = 1.0f;
  auto s = train_test_split(y, task_kind::binary, 5, 0.1);
  REQUIRE(s);
  CHECK(std::count_if(s->test.begin(), s->test.end(),
                      [&](size_t r) { return y[r] == 1.0f; }) == 1);
  CHECK(s->test.size() == 11); // round(97 * 0.1) + 1
}

TEST_CASE("k-fold splits are seeded, disjoint, covering and stratified",
          "[dataset]") {
  auto ds = load("spam.csv", "type");
  auto& y = ds.X.labels;
  auto folds = k_fold(y, ds.task, 5, 11);
  auto again = k_fold(y, ds.task, 5, 11);
  REQUIRE(folds);
  REQUIRE(again);
  REQUIRE(folds->size() == 5);
  auto overall = positive_share(y, [&] {
    std::vector<size_t> all(y.size());
    for (size_t i = 0; i < all.size(); ++i)
      all[i] = i;
    return all;
  }());
  std::vector<int> seen(y.size(), 0);
  for (size_t i = 0; i < folds->size(); ++i) {
    auto& f = (*folds)[i];
    CHECK(f.test == (*again)[i].test);
    CHECK(f.train.size() + f.test.size() == y.size());
    CHECK(f.test.size() >= y.size() / 5);
    CHECK(f.test.size() <= y.size() / 5 + 1);
    std::vector<size_t> both;
    std::set_intersection(f.train.begin(), f.train.end(), f.test.begin(),
                          f.test.end(), std::back_inserter(both));
    CHECK(both.empty());
    CHECK(positive_share(y, f.test) == Approx(overall).margin(0.02));
    size_t pos = 0;
    for (auto r : f.test)
      pos += y[r] == 1.0f;
    CHECK(pos >= 1813 / 5); // stratified: positives dealt evenly
    CHECK(pos <= 1813 / 5 + 1);
    for (auto r : f.test)
      ++seen[r];
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
  auto other = k_fold(y, ds.task, 5, 12);
  REQUIRE(other);
  CHECK((*other)[0].test != (*folds)[0].test);
  CHECK_FALSE(k_fold(y, ds.task, 1, 0));
  CHECK_FALSE(k_fold({0, 1}, task_kind::binary, 3, 0));
}

TEST_CASE("regression splits are seeded and cover every row", "[dataset]") {
  auto ds = load("boston_housing.csv", "cmedv");
  auto s = train_test_split(ds.X.labels, ds.task, 3);
  REQUIRE(s);
  CHECK(s->test.size() == 127); // round(506 * 0.25)
  CHECK(s->train.size() + s->test.size() == 506);
  auto folds = k_fold(ds.X.labels, ds.task, 10, 3);
  REQUIRE(folds);
  size_t total = 0;
  for (auto& f : *folds)
    total += f.test.size();
  CHECK(total == 506);
}
