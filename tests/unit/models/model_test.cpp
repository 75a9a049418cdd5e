#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "actors/models/forest.hpp"
#include "actors/models/saved_model.hpp"
#include "actors/serving/local_predict.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using troupe::serving::predict_options;
using troupe::serving::run_predict;
using namespace troupe::models;
using namespace troupe::tabular;
namespace fs = std::filesystem;

namespace {

std::string shared_data(const std::string& file) {
  return TROUPE_SOURCE_DIR "/tests/data/" + file;
}

/// A shared dataset's table, read once per test run.
const table& shared_table(const std::string& file) {
  static std::map<std::string, table> cache;
  auto it = cache.find(file);
  if (it == cache.end()) {
    auto t = read_csv(shared_data(file));
    REQUIRE(t);
    it = cache.emplace(file, std::move(*t)).first;
  }
  return it->second;
}

/// The rows `which` of `t`, in that order.
table take_table_rows(const table& t, const std::vector<size_t>& which) {
  table out;
  out.source = t.source;
  for (auto& c : t.columns) {
    column o;
    o.name = c.name;
    o.kind = c.kind;
    for (auto r : which) {
      o.text.push_back(c.text[r]);
      if (c.kind == column_kind::numeric) o.numbers.push_back(c.numbers[r]);
      o.missing += c.is_missing(r);
    }
    out.columns.push_back(std::move(o));
  }
  for (auto r : which)
    out.lines.push_back(t.lines[r]);
  return out;
}

/// `t` without the column `name`.
table drop_column(table t, const std::string& name) {
  auto& cs = t.columns;
  cs.erase(std::remove_if(cs.begin(), cs.end(),
                          [&](const column& c) { return c.name == name; }),
           cs.end());
  return t;
}

/// A shared dataset split (stratified, seeded) into train and test tables.
struct split_tables {
  table train;
  table test;
};

split_tables split(const std::string& file, const std::string& target) {
  auto& t = shared_table(file);
  auto all = make_dataset(t, target);
  REQUIRE(all);
  REQUIRE(all->X.rows == t.rows()); // no row dropped: indices are table rows
  auto s = train_test_split(all->X.labels, all->task, 11, 0.25);
  REQUIRE(s);
  return {take_table_rows(t, s->train), take_table_rows(t, s->test)};
}

dataset make(const table& t, const std::string& target) {
  auto d = make_dataset(t, target);
  REQUIRE(d);
  return std::move(*d);
}

config small_config() {
  return {{"eta", 0.3}, {"max_depth", int64_t{3}}, {"booster", "gbtree"}};
}

xgb::booster refit(const dataset& d, uint64_t rounds,
                   const config& cfg = small_config()) {
  auto b = refit_xgboost(d, cfg, rounds, 1, 7);
  REQUIRE(b);
  return std::move(*b);
}

model_info info_for(const std::string& metric) {
  model_info info;
  info.metric = metric;
  info.params = small_config();
  info.cv_score = 0.8125;
  info.study = "s1";
  info.trial = 42;
  return info;
}

/// Trains on `d`, saves to `dir` and loads it back.
saved_model saved(const dataset& d, const std::string& dir, uint64_t rounds,
                  const std::string& metric = "auc") {
  auto b = refit(d, rounds);
  REQUIRE_FALSE(save_model(dir, b, d.prep, info_for(metric)));
  auto m = saved_model::load(dir);
  REQUIRE(m);
  return std::move(*m);
}

/// What the in-memory booster predicts for `t`.
std::vector<float> predict_in_memory(const xgb::booster& b,
                                     const preprocessor& prep, const table& t) {
  auto m = prep.transform(t);
  REQUIRE(m);
  auto d = xgb::dmatrix::dense(m->values.data(), m->rows, m->cols);
  REQUIRE(d);
  auto p = b.predict(*d);
  REQUIRE(p);
  return std::move(*p);
}

std::vector<float> labels_of(const preprocessor& prep, const table& t) {
  std::vector<std::string> warnings;
  auto m = prep.transform_labeled(t, warnings);
  REQUIRE(m);
  return std::move(m->labels);
}

std::string error_of(const caf::error& err) {
  return describe(err);
}

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

using names = std::vector<std::string>;

} // namespace

// -- refit, save, load, predict ----------------------------------------------

TEST_CASE("a saved and loaded pima model predicts exactly as the one in "
          "memory, and ranks held-out rows well",
          "[model]") {
  auto [train, test] = split("pima_diabetes.csv", "diabetes");
  auto d = make(train, "diabetes");
  test::temp_dir tmp;
  auto b = refit(d, 20);
  REQUIRE_FALSE(save_model(tmp / "best", b, d.prep, info_for("auc")));
  auto m = saved_model::load(tmp / "best");
  REQUIRE(m);
  auto p = m->predict(test);
  REQUIRE(p);
  CHECK(p->columns == names{"prediction", "p_pos"});
  REQUIRE(p->rows() == test.rows());
  CHECK(p->scores == predict_in_memory(b, d.prep, test));
  for (size_t r = 0; r < p->rows(); ++r)
    CHECK(p->prediction[r] == (p->scores[r] >= 0.5f ? "pos" : "neg"));
  auto y = labels_of(d.prep, test);
  auto auc = tabular::auc(y, p->scores);
  REQUIRE(auc);
  CHECK(*auc > 0.75);
  // The target column in the table is ignored: without it, the same.
  auto blind = m->predict(drop_column(test, "diabetes"));
  REQUIRE(blind);
  CHECK(blind->scores == p->scores);
}

TEST_CASE("a multiclass shuttle model names the most probable class and "
          "gives one probability per class",
          "[model]") {
  auto [train, test] = split("shuttle.csv", "Class");
  auto d = make(train, "Class");
  REQUIRE(d.task == task_kind::multiclass);
  test::temp_dir tmp;
  auto b = refit(d, 3);
  REQUIRE_FALSE(save_model(tmp / "best", b, d.prep, info_for("accuracy")));
  auto m = saved_model::load(tmp / "best");
  REQUIRE(m);
  auto p = m->predict(test);
  REQUIRE(p);
  auto k = d.classes.size();
  REQUIRE(k == 7);
  names expected{"prediction"};
  for (auto& c : d.classes)
    expected.push_back("p_" + c);
  CHECK(p->columns == expected);
  REQUIRE(p->scores.size() == test.rows() * k);
  CHECK(p->scores == predict_in_memory(b, d.prep, test));
  auto y = labels_of(d.prep, test);
  size_t right = 0;
  for (size_t r = 0; r < p->rows(); ++r) {
    auto* row = p->scores.data() + r * k;
    auto best = std::max_element(row, row + k) - row;
    CHECK(p->prediction[r] == d.classes[best]);
    double sum = 0;
    for (size_t c = 0; c < k; ++c)
      sum += row[c];
    REQUIRE(sum == Approx(1.0).epsilon(1e-5));
    right += y[r] == static_cast<float>(best);
  }
  CHECK(static_cast<double>(right) / p->rows() > 0.99);
}

TEST_CASE("a regression boston model predicts values with a sane RMSE",
          "[model]") {
  auto [train, test] = split("boston_housing.csv", "cmedv");
  auto d = make(train, "cmedv");
  REQUIRE(d.task == task_kind::regression);
  test::temp_dir tmp;
  auto m = saved(d, tmp / "best", 30, "rmse");
  auto p = m.predict(test);
  REQUIRE(p);
  CHECK(p->columns == names{"prediction"});
  REQUIRE(p->rows() == test.rows());
  CHECK(p->scores == predict_in_memory(m.booster(), d.prep, test));
  for (size_t r = 0; r < p->rows(); ++r) {
    double v = 0;
    REQUIRE(parse_number(p->prediction[r], v));
    CHECK(static_cast<float>(v) == p->scores[r]);
  }
  auto rmse = tabular::rmse(labels_of(d.prep, test), p->scores);
  REQUIRE(rmse);
  CHECK(*rmse < 5.0); // $1000s, on a target ranging 5..50
}

TEST_CASE("a categorical column is split by sets of its categories: a "
          "boston model's trees split on towns natively",
          "[model]") {
  auto d = make(shared_table("boston_housing.csv"), "cmedv");
  auto& features = d.prep.features();
  auto town = std::find_if(features.begin(), features.end(),
                           [](auto& f) { return f.name == "town"; });
  REQUIRE(town != features.end());
  REQUIRE(town->kind == tabular::column_kind::categorical);
  auto column = static_cast<int64_t>(town - features.begin());
  auto b = refit(
      d, 40, {{"eta", 0.3}, {"max_depth", int64_t{6}}, {"booster", "gbtree"}});
  auto bytes = b.save_bytes("json");
  REQUIRE(bytes);
  auto doc = nlohmann::json::parse(models::valid_model_json(std::string_view{
      reinterpret_cast<const char*>(bytes->data()), bytes->size()}));
  size_t on_town = 0, numeric_on_town = 0;
  for (auto& t : doc["learner"]["gradient_booster"]["model"]["trees"]) {
    auto& split = t["split_indices"];
    auto& type = t["split_type"];
    for (size_t i = 0; i < split.size(); ++i) {
      if (t["left_children"][i].get<int64_t>() == -1) continue;
      if (split[i].get<int64_t>() != column) continue;
      if (type[i].get<int>() == 1)
        ++on_town;
      else
        ++numeric_on_town;
    }
  }
  CHECK(on_town > 0);
  CHECK(numeric_on_town == 0); // never as an ordinal code
}

TEST_CASE("refit trains every row with the trial's parameters, "
          "deterministically",
          "[model]") {
  auto d = make(shared_table("pima_diabetes.csv"), "diabetes");
  auto b = refit(d, 4, {{"eta", 0.25}, {"max_depth", int64_t{2}}});
  CHECK(*b.rounds() == 4);
  auto cp = b.save_checkpoint();
  REQUIRE(cp);
  auto cfg = nlohmann::json::parse(cp->config);
  auto& train = cfg["learner"]["gradient_booster"]["updater"];
  CHECK_THAT(train.dump(), Catch::Contains(R"("max_depth":"2")"));
  CHECK_THAT(train.dump(), Catch::Contains(R"("eta":"0.25")"));
  CHECK(cfg["learner"]["objective"]["name"] == "binary:logistic");
  auto again = refit(d, 4, {{"eta", 0.25}, {"max_depth", int64_t{2}}});
  auto x = predict_in_memory(b, d.prep, shared_table("pima_diabetes.csv"));
  CHECK(x ==
        predict_in_memory(again, d.prep, shared_table("pima_diabetes.csv")));
  // A model trained on every row fits them: better than any held-out AUC.
  CHECK(*tabular::auc(d.X.labels, x) > 0.85);
}

TEST_CASE("refit refuses no rounds and unknown parameters", "[model]") {
  auto d = make(shared_table("pima_diabetes.csv"), "diabetes");
  auto zero = refit_xgboost(d, small_config(), 0, 1, 7);
  REQUIRE_FALSE(zero);
  CHECK_THAT(error_of(zero.error()), Catch::Contains("0 boosting rounds"));
  auto unknown = refit_xgboost(d, {{"learning_rat", 0.1}}, 3, 1, 7);
  REQUIRE_FALSE(unknown);
  CHECK_THAT(error_of(unknown.error()), Catch::Contains("'learning_rat'"));
}

// -- model.json --------------------------------------------------------------

TEST_CASE("model.json records task, classes, study, trial and the typed "
          "configuration",
          "[model]") {
  auto d = make(shared_table("pima_diabetes.csv"), "diabetes");
  test::temp_dir tmp;
  auto m = saved(d, tmp / "best", 3);
  CHECK(entries(tmp / "best") ==
        names{"model.json", "model.ubj", "preprocessor.json"});
  auto j = nlohmann::json::parse(slurp(tmp / "best/model.json"));
  CHECK(j["format"] == "troupe.model");
  CHECK(j["version"] == 1);
  CHECK(j["family"] == "xgboost");
  CHECK(j["task"] == "binary");
  CHECK(j["target"] == "diabetes");
  CHECK(j["classes"] == nlohmann::json{"neg", "pos"});
  CHECK(j["metric"] == "auc");
  CHECK(j["config"]["eta"].is_number_float());
  CHECK(j["config"]["max_depth"].is_number_integer());
  CHECK(j["config"]["booster"] == "gbtree");
  CHECK(j["rounds"] == 3);
  CHECK(j["cv_score"] == 0.8125);
  CHECK(j["study"] == "s1");
  CHECK(j["trial"] == 42);
  CHECK(j["xgboost_version"] == xgb::version());
  auto created = j["created"].get<std::string>();
  CHECK(created.size() == 20);
  CHECK(created.back() == 'Z');
  // Read back with the same types.
  CHECK(m.info().params == small_config());
  CHECK(m.info().cv_score == 0.8125);
  CHECK(m.info().trial == uint64_t{42});
  CHECK(m.info().rounds == 3);
  CHECK(m.info().classes == d.classes);
  CHECK(nlohmann::json::parse(slurp(tmp / "best/preprocessor.json")) ==
        d.prep.to_json());
}

TEST_CASE("a model without a score or a trial reads back without them",
          "[model]") {
  model_info info;
  info.task = task_kind::multiclass;
  info.target = "y";
  info.classes = {"a", "b", "c"};
  info.params = {{"alpha", 1.0}, {"max_bin", int64_t{64}}};
  auto back = model_info_from_json(to_json(info));
  REQUIRE(back);
  CHECK_FALSE(back->cv_score);
  CHECK_FALSE(back->trial);
  CHECK(back->params == info.params); // 1.0 stays a double
  CHECK(back->task == task_kind::multiclass);
  auto j = to_json(info);
  j["config"]["alpha"] = nlohmann::json::array();
  auto bad = model_info_from_json(j);
  REQUIRE_FALSE(bad);
  CHECK_THAT(error_of(bad.error()), Catch::Contains("'alpha'"));
}

// -- writing the directory ---------------------------------------------------

TEST_CASE("saving replaces an old model directory whole and leaves no "
          "temporary directory",
          "[model]") {
  auto d = make(shared_table("pima_diabetes.csv"), "diabetes");
  test::temp_dir tmp;
  auto dir = tmp / "out/study/best"; // parents are created
  auto first = refit(d, 2);
  REQUIRE_FALSE(save_model(dir, first, d.prep, info_for("auc")));
  test::write_file(dir + "/stale.txt", "from an older model");
  auto second = refit(d, 5);
  REQUIRE_FALSE(save_model(dir + "/", second, d.prep, info_for("auc")));
  CHECK(entries(tmp / "out/study") == names{"best"});
  CHECK(entries(dir) == names{"model.json", "model.ubj", "preprocessor.json"});
  auto m = saved_model::load(dir);
  REQUIRE(m);
  CHECK(m->info().rounds == 5);
  CHECK(*m->booster().rounds() == 5);
}

TEST_CASE("an ensemble saved as a model directory predicts the weighted "
          "average of its members, in troupe predict's table as in memory",
          "[model][ensemble]") {
  auto [train, test] = split("pima_diabetes.csv", "diabetes");
  auto d = make(train, "diabetes");
  test::temp_dir tmp;
  auto a = refit(d, 10, {{"eta", 0.3}, {"max_depth", int64_t{2}}});
  auto b = refit(d, 25, {{"eta", 0.1}, {"max_depth", int64_t{5}}});
  auto c = refit(d, 5, {{"eta", 0.5}, {"max_depth", int64_t{3}}});
  std::vector<saved_member> members(3);
  members[0].model = &a;
  members[0].info.weight = 0.2;
  members[0].info.trial = 4;
  members[1].model = &b;
  members[1].info.weight = 0.6; // the heaviest: saved first, as model.ubj
  members[1].info.trial = 9;
  members[1].info.cv_score = 0.83;
  members[1].info.params = {{"eta", 0.1}, {"max_depth", int64_t{5}}};
  members[2].model = &c;
  members[2].info.weight = 0.2;
  REQUIRE_FALSE(save_ensemble(tmp / "best", members, d.prep, info_for("auc")));
  CHECK(entries(tmp / "best") == names{"member-1.ubj", "member-2.ubj",
                                       "model.json", "model.ubj",
                                       "preprocessor.json"});
  auto m = saved_model::load(tmp / "best");
  if (!m) FAIL(describe(m.error()));
  REQUIRE(m->members().size() == 3);
  CHECK(m->weights() == std::vector<double>{0.6, 0.2, 0.2});
  auto& info = m->info();
  REQUIRE(info.ensemble.size() == 3);
  CHECK(info.ensemble[0].file == "model.ubj");
  CHECK(info.ensemble[0].trial == 9u);
  CHECK(info.ensemble[0].rounds == 25);
  CHECK(info.ensemble[1].file == "member-1.ubj");
  CHECK(info.ensemble[1].rounds == 10);
  CHECK(info.rounds == 25); // the first member's
  CHECK(info.trial == 9u);
  auto p = m->predict(test);
  REQUIRE(p);
  auto pa = predict_in_memory(a, d.prep, test);
  auto pb = predict_in_memory(b, d.prep, test);
  auto pc = predict_in_memory(c, d.prep, test);
  REQUIRE(p->scores.size() == pa.size());
  for (size_t r = 0; r < pa.size(); ++r) {
    auto want = static_cast<float>(0.6 * static_cast<double>(pb[r]) +
                                   0.2 * static_cast<double>(pa[r]) +
                                   0.2 * static_cast<double>(pc[r]));
    REQUIRE(p->scores[r] == want);
    CHECK(p->prediction[r] == (want >= 0.5f ? "pos" : "neg"));
  }
  // the ensemble ranks held-out rows at least as well as a weak member
  auto y = labels_of(d.prep, test);
  auto ens = tabular::auc(y, p->scores);
  auto weak = tabular::auc(y, pc);
  REQUIRE(ens);
  REQUIRE(weak);
  CHECK(*ens > 0.75);

  SECTION("a member file missing or tampered with is named") {
    fs::remove(tmp / "best/member-2.ubj");
    auto bad = saved_model::load(tmp / "best");
    REQUIRE_FALSE(bad);
    CHECK_THAT(error_of(bad.error()), Catch::Contains("member-2.ubj"));
  }
  SECTION("weights that do not sum to 1, or a file outside the directory") {
    auto j = nlohmann::json::parse(slurp(tmp / "best/model.json"));
    j["ensemble"][1]["weight"] = 0.5;
    test::write_file(tmp / "best/model.json", j.dump());
    auto bad = saved_model::load(tmp / "best");
    REQUIRE_FALSE(bad);
    CHECK_THAT(error_of(bad.error()), Catch::Contains("weights sum to"));
    j["ensemble"][1]["weight"] = 0.2;
    j["ensemble"][1]["file"] = "../model.ubj";
    test::write_file(tmp / "best/model.json", j.dump());
    bad = saved_model::load(tmp / "best");
    REQUIRE_FALSE(bad);
    CHECK_THAT(error_of(bad.error()),
               Catch::Contains("ensemble member 1: file '../model.ubj'"));
  }
}

TEST_CASE("saving over a file that is not a directory fails and keeps it",
          "[model]") {
  auto d = make(shared_table("pima_diabetes.csv"), "diabetes");
  test::temp_dir tmp;
  test::write_file(tmp / "best", "precious");
  auto err = save_model(tmp / "best", refit(d, 1), d.prep, info_for("auc"));
  REQUIRE(err);
  CHECK_THAT(error_of(err), Catch::Contains("not a directory"));
  CHECK(slurp(tmp / "best") == "precious");
  CHECK(entries(tmp.path()) == names{"best"});
}

// -- loading errors ----------------------------------------------------------

TEST_CASE("loading names the directory and the missing or bad file",
          "[model]") {
  auto d = make(shared_table("pima_diabetes.csv"), "diabetes");
  test::temp_dir tmp;
  auto good = tmp / "good";
  auto b = refit(d, 3);
  REQUIRE_FALSE(save_model(good, b, d.prep, info_for("auc")));
  auto broken = [&](const std::string& name) {
    auto dir = tmp / name;
    fs::copy(good, dir, fs::copy_options::recursive);
    return dir;
  };
  auto load_error = [](const std::string& dir) {
    auto m = saved_model::load(dir);
    REQUIRE_FALSE(m);
    return error_of(m.error());
  };

  SECTION("a missing directory") {
    CHECK_THAT(load_error(tmp / "nope"), Catch::Contains(tmp / "nope") &&
                                             Catch::Contains("does not exist"));
  }
  SECTION("a missing file") {
    auto dir = broken("no_booster");
    fs::remove(dir + "/model.ubj");
    CHECK_THAT(load_error(dir),
               Catch::Contains(dir) && Catch::Contains("no model.ubj"));
  }
  SECTION("model.json that is not JSON") {
    auto dir = broken("bad_json");
    test::write_file(dir + "/model.json", "{\"format\": \"troupe.mo");
    CHECK_THAT(load_error(dir), Catch::Contains(dir) &&
                                    Catch::Contains("model.json") &&
                                    Catch::Contains("not valid JSON"));
  }
  SECTION("model.json of another format") {
    auto dir = broken("bad_format");
    test::write_file(dir + "/model.json", R"({"format": "other"})");
    CHECK_THAT(load_error(dir), Catch::Contains("model.json") &&
                                    Catch::Contains("troupe.model"));
  }
  SECTION("model.json missing a field") {
    auto dir = broken("no_rounds");
    auto j = nlohmann::json::parse(slurp(dir + "/model.json"));
    j.erase("rounds");
    test::write_file(dir + "/model.json", j.dump());
    CHECK_THAT(load_error(dir),
               Catch::Contains("model.json: no field 'rounds'"));
  }
  SECTION("model.json with a field of the wrong type") {
    auto dir = broken("bad_classes");
    auto j = nlohmann::json::parse(slurp(dir + "/model.json"));
    j["classes"] = "pos";
    test::write_file(dir + "/model.json", j.dump());
    CHECK_THAT(load_error(dir), Catch::Contains("model.json: field 'classes'"));
  }
  SECTION("model.json that disagrees with the booster") {
    auto dir = broken("wrong_rounds");
    auto j = nlohmann::json::parse(slurp(dir + "/model.json"));
    j["rounds"] = 30;
    test::write_file(dir + "/model.json", j.dump());
    CHECK_THAT(load_error(dir), Catch::Contains("30 rounds") &&
                                    Catch::Contains("model.ubj holds 3"));
  }
  SECTION("model.json that disagrees with the preprocessor") {
    auto dir = broken("wrong_target");
    auto j = nlohmann::json::parse(slurp(dir + "/model.json"));
    j["target"] = "glucose";
    test::write_file(dir + "/model.json", j.dump());
    CHECK_THAT(load_error(dir), Catch::Contains("does not match") &&
                                    Catch::Contains("'glucose'"));
  }
  SECTION("a corrupted booster") {
    auto dir = broken("bad_booster");
    test::write_file(dir + "/model.ubj", "not a booster at all");
    CHECK_THAT(load_error(dir),
               Catch::Contains(dir) && Catch::Contains("model.ubj"));
  }
  SECTION("a corrupted preprocessor") {
    auto dir = broken("bad_prep");
    test::write_file(dir + "/preprocessor.json", R"({"format": "x"})");
    CHECK_THAT(load_error(dir),
               Catch::Contains(dir) && Catch::Contains("preprocessor.json"));
  }
}

TEST_CASE("predicting a table without a feature column names the column "
          "and the file",
          "[model]") {
  auto& t = shared_table("pima_diabetes.csv");
  auto d = make(t, "diabetes");
  test::temp_dir tmp;
  auto m = saved(d, tmp / "best", 2);
  auto p = m.predict(drop_column(t, "glucose"));
  REQUIRE_FALSE(p);
  CHECK_THAT(error_of(p.error()), Catch::Contains("'glucose'") &&
                                      Catch::Contains("pima_diabetes.csv"));
}

// -- CSV output --------------------------------------------------------------

TEST_CASE("predictions written as CSV read back with the same columns and "
          "values",
          "[model]") {
  auto& t = shared_table("pima_diabetes.csv");
  auto d = make(t, "diabetes");
  test::temp_dir tmp;
  auto m = saved(d, tmp / "best", 5);
  auto p = m.predict(t);
  REQUIRE(p);
  std::ostringstream out;
  write_predictions(out, *p);
  auto back = parse_csv(out.str(), "predictions");
  REQUIRE(back);
  REQUIRE(back->rows() == t.rows());
  REQUIRE(back->columns.size() == 2);
  CHECK(back->columns[0].name == "prediction");
  CHECK(back->columns[0].text == p->prediction);
  CHECK(back->columns[1].name == "p_pos");
  REQUIRE(back->columns[1].kind == column_kind::numeric);
  for (size_t r = 0; r < t.rows(); ++r)
    REQUIRE(static_cast<float>(back->columns[1].numbers[r]) == p->scores[r]);
}

TEST_CASE("class names that need quoting survive the CSV round trip",
          "[model]") {
  std::string csv = "x,label\n";
  for (int i = 0; i < 60; ++i)
    csv +=
        std::to_string(i) + (i < 30 ? ",\"a,b\"\n" : ",\"say \"\"hi\"\"\"\n");
  auto t = parse_csv(csv, "quoted.csv");
  REQUIRE(t);
  auto d = make(*t, "label");
  REQUIRE(d.classes == names{"a,b", "say \"hi\""});
  test::temp_dir tmp;
  auto m = saved(d, tmp / "best", 5);
  auto p = m.predict(*t);
  REQUIRE(p);
  std::ostringstream out;
  write_predictions(out, *p);
  CHECK_THAT(out.str(), Catch::StartsWith("prediction,\"p_say \"\"hi\"\"\"\n"));
  auto back = parse_csv(out.str(), "predictions");
  REQUIRE(back);
  REQUIRE(back->columns.size() == 2);
  CHECK(back->columns[1].name == "p_say \"hi\"");
  CHECK(back->columns[0].text == p->prediction);
  CHECK(back->columns[0].text.front() == "a,b");
  CHECK(back->columns[0].text.back() == "say \"hi\"");
}

// -- troupe predict ----------------------------------------------------------

namespace {

struct predict_run {
  int code = -1;
  std::string out;
  std::string err;
};

predict_run predict_cli(const predict_options& opts) {
  std::ostringstream out, err;
  predict_run r;
  r.code = run_predict(opts, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

} // namespace

TEST_CASE("troupe predict writes a CSV of predictions for every row",
          "[model]") {
  auto d = make(shared_table("pima_diabetes.csv"), "diabetes");
  test::temp_dir tmp;
  saved(d, tmp / "best", 3);
  fs::create_directory(tmp / "preds");
  auto r = predict_cli(
      {tmp / "best", shared_data("pima_diabetes.csv"), tmp / "preds/p.csv"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
  CHECK(entries(tmp / "preds") == names{"p.csv"});
  auto back = read_csv(tmp / "preds/p.csv");
  REQUIRE(back);
  CHECK(back->rows() == 768);
  CHECK(back->column_list() == "prediction, p_pos");

  SECTION("or to stdout without --out") {
    auto s = predict_cli({tmp / "best", shared_data("pima_diabetes.csv"), ""});
    REQUIRE(s.code == 0);
    CHECK(s.out == slurp(tmp / "preds/p.csv"));
  }
}

TEST_CASE("troupe predict warns about categories not seen in training",
          "[model]") {
  auto [train, test] = split("boston_housing.csv", "cmedv");
  auto d = make(train, "cmedv");
  test::temp_dir tmp;
  saved(d, tmp / "best", 3, "rmse");
  test::write_file(tmp / "new.csv",
                   "town,tract,lon,lat,crim,zn,indus,chas,nox,rm,age,dis,rad,"
                   "tax,ptratio,b,lstat\n"
                   "Atlantis,2011,-70.955,42.255,0.00632,18.0,2.31,0,0.538,"
                   "6.575,65.2,4.09,1,296,15.3,396.9,4.98\n");
  auto r = predict_cli({tmp / "best", tmp / "new.csv", ""});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Catch::StartsWith("troupe predict: warning: ") &&
                        Catch::Contains("'town'"));
  auto back = parse_csv(r.out, "stdout");
  REQUIRE(back);
  CHECK(back->rows() == 1);
  CHECK(back->columns[0].kind == column_kind::numeric);
}

TEST_CASE("troupe predict fails with a message naming what is wrong",
          "[model]") {
  auto d = make(shared_table("pima_diabetes.csv"), "diabetes");
  test::temp_dir tmp;
  saved(d, tmp / "best", 2);
  test::write_file(tmp / "no_glucose.csv",
                   "pregnant,pressure,triceps,insulin,mass,pedigree,age\n"
                   "6,72,35,,33.6,0.627,50\n");
  auto fails = [&](const predict_options& opts) {
    auto r = predict_cli(opts);
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith("troupe predict: "));
    return r.err;
  };
  CHECK_THAT(fails({tmp / "best", tmp / "no_glucose.csv", tmp / "p.csv"}),
             Catch::Contains("'glucose'") && Catch::Contains("no_glucose.csv"));
  CHECK_THAT(fails({tmp / "missing", tmp / "no_glucose.csv", ""}),
             Catch::Contains(tmp / "missing"));
  CHECK_THAT(fails({tmp / "best", tmp / "absent.csv", ""}),
             Catch::Contains("absent.csv"));
  CHECK_THAT(fails({"", tmp / "no_glucose.csv", ""}),
             Catch::Contains("--model"));
  auto unwritable = tmp / "no/such/dir/p.csv";
  CHECK_THAT(
      fails({tmp / "best", shared_data("pima_diabetes.csv"), unwritable}),
      Catch::Contains("cannot write '" + unwritable + "'"));
  CHECK_FALSE(fs::exists(tmp / "p.csv"));
}
