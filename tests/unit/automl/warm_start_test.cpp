// Warm starts: meta-features, the records finished studies leave in the
// journal, the choice of seeds, and a study core that starts its seeds
// before sampling.

#include <catch2/catch.hpp>

#include <cmath>

#include "actors/automl/journal.hpp"
#include "actors/automl/study.hpp"
#include "actors/automl/warm_start.hpp"
#include "actors/tabular/csv.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::automl;
using tabular::config;

namespace {

tabular::dataset load(const std::string& file, const std::string& target,
                      size_t keep_every = 1) {
  auto path = std::string{TROUPE_SOURCE_DIR} + "/tests/data/" + file;
  test::temp_dir tmp;
  if (keep_every > 1) { // a subsample: the header and every k-th row
    auto all = test::read_file(path);
    std::string out;
    size_t line = 0;
    for (size_t b = 0, e; b < all.size(); b = e + 1, ++line) {
      e = all.find('\n', b);
      if (e == std::string::npos) e = all.size();
      if (line == 0 || (line - 1) % keep_every == 0)
        out += all.substr(b, e - b) + "\n";
    }
    path = tmp / "subsample.csv";
    test::write_file(path, out);
  }
  auto t = tabular::read_csv(path);
  REQUIRE(t);
  auto d = tabular::make_dataset(*t, target);
  if (!d) FAIL(file << ": " << describe(d.error()));
  return std::move(*d);
}

study_record record(const std::string& id, const meta_features& f,
                    std::vector<double> etas,
                    const std::string& task = "binary",
                    const std::string& family = "xgboost") {
  study_record r;
  r.study = id;
  r.family = family;
  r.task = task;
  r.metric = "auc";
  r.maximize = true;
  r.features = f;
  double score = 0.9;
  for (auto e : etas)
    r.best.emplace_back(config{{"eta", e}}, score -= 0.01);
  return r;
}

} // namespace

TEST_CASE("meta-features place a subsample near its dataset and another "
          "dataset far away",
          "[automl][warm-start]") {
  auto pima = describe_dataset(load("pima_diabetes.csv", "diabetes"));
  auto half = describe_dataset(load("pima_diabetes.csv", "diabetes", 2));
  auto spam = describe_dataset(load("spam.csv", "type"));
  auto boston = describe_dataset(load("boston_housing.csv", "cmedv"));
  CHECK(pima.log_rows == Approx(std::log10(768)).margin(0.05));
  CHECK(pima.log_features == Approx(std::log10(8)));
  CHECK(pima.missing > 0.05); // PimaIndiansDiabetes2 has many NaN
  CHECK(pima.minority == Approx(268.0 / 768).margin(0.01));
  CHECK(boston.categorical > 0); // town
  CHECK(boston.log_classes == 0);
  CHECK(meta_distance(pima, half) < 0.4);
  CHECK(meta_distance(pima, half) < meta_distance(pima, spam));
  CHECK(meta_distance(pima, half) < meta_distance(pima, boston));
  CHECK(meta_distance(pima, pima) == 0);
  // JSON round trip
  auto back = meta_features::from_json(pima.to_json());
  REQUIRE(back);
  CHECK(meta_distance(*back, pima) == 0);
  CHECK_FALSE(meta_features::from_json(nlohmann::json{{"log_rows", 1}}));
}

TEST_CASE("seeds come from the parents first, then the nearest studies of "
          "the same family and task, each configuration once",
          "[automl][warm-start]") {
  meta_features near, far, here;
  here.log_rows = 3;
  near.log_rows = 3.2;
  far.log_rows = 5;
  std::vector<study_record> past{
      record("far", far, {0.3, 0.2}),
      record("near", near, {0.1, 0.05, 0.01, 0.001}),
      record("regression", near, {0.7}, "regression"),
      record("other-family", near, {0.6}, "binary", "mlp"),
      record("parent", far, {0.02, 0.1}), // 0.1 also near's best
  };
  auto seeds = choose_seeds(past, "xgboost", "binary", here, {"parent"}, 1, 3);
  std::vector<double> etas;
  std::vector<std::string> from;
  for (auto& s : seeds) {
    etas.push_back(std::get<double>(s.params.at("eta")));
    from.push_back(s.from);
  }
  CHECK(etas == std::vector<double>{0.02, 0.1, 0.05, 0.01});
  CHECK(from == std::vector<std::string>{"parent", "parent", "near", "near"});
  // without parents, the two nearest
  seeds = choose_seeds(past, "xgboost", "binary", here, {}, 2, 1);
  REQUIRE(seeds.size() == 2);
  CHECK(seeds[0].from == "near");
  CHECK(seeds[1].from == "far"); // as far as "parent", listed first
  CHECK(seeds[0].distance < seeds[1].distance);
  CHECK(choose_seeds(past, "xgboost", "multiclass", here, {}, 3, 3).empty());
  // two parents (a merge) take turns, best first, and the seeds stop at the
  // limit: A1's best, A2's best, A1's second, ...
  past.push_back(record("a1", near, {0.11, 0.12, 0.13}));
  past.push_back(record("a2", near, {0.21, 0.22, 0.23}));
  seeds = choose_seeds(past, "xgboost", "binary", here, {"a1", "a2"}, 3, 10, 5);
  etas.clear();
  for (auto& s : seeds)
    etas.push_back(std::get<double>(s.params.at("eta")));
  CHECK(etas == std::vector<double>{0.11, 0.21, 0.12, 0.22, 0.13});
  // the default fills TPE's random start-up with past configurations
  seeds = choose_seeds(past, "xgboost", "binary", here, {"a1", "a2"}, 3, 10);
  CHECK(seeds.size() == warm_start_seeds);
  CHECK(seeds[6].from == "near"); // the parents' six, then the nearest
  CHECK(split_names(" a, b,,c ") == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("a finished study's record goes to the journal and reads back",
          "[automl][warm-start]") {
  test::temp_dir dir;
  auto j = study_journal::open(dir / "journal", false);
  REQUIRE(j);
  study_spec spec;
  spec.id = "full";
  spec.data_path =
      std::string{TROUPE_SOURCE_DIR} + "/tests/data/pima_diabetes.csv";
  spec.target = "diabetes";
  spec.metric = "auc";
  spec.maximize = true;
  spec.derived_from = "a, b";
  std::vector<std::pair<config, double>> best{
      {{{"eta", 0.05}, {"max_depth", int64_t{4}}}, 0.84},
      {{{"eta", 0.2}, {"max_depth", int64_t{2}}}, 0.83}};
  REQUIRE_FALSE(record_study(**j, spec, best));
  auto metas = (*j)->metas();
  REQUIRE(metas);
  REQUIRE(metas->size() == 1);
  CHECK((*metas)[0].first == "full");
  auto r = study_record::from_json(nlohmann::json::parse((*metas)[0].second));
  REQUIRE(r);
  CHECK(r->task == "binary");
  CHECK(r->derived_from == std::vector<std::string>{"a", "b"});
  CHECK(r->best == best);
  // a new study of a subsample finds it
  spec.id = "half";
  auto seeds = find_seeds(**j, spec);
  REQUIRE(seeds);
  REQUIRE(seeds->size() == 2);
  CHECK((*seeds)[0].params == best[0].first);
  CHECK((*seeds)[0].from == "full");
  // a study finds no record of itself
  spec.id = "full";
  seeds = find_seeds(**j, spec);
  REQUIRE(seeds);
  CHECK(seeds->empty());
  // a broken record is skipped, not fatal
  REQUIRE((*j)->record_meta("broken", "{not json"));
  spec.id = "third";
  seeds = find_seeds(**j, spec);
  REQUIRE(seeds);
  CHECK(seeds->size() == 2);
}

TEST_CASE("a study core starts its seeds before sampling, skips those that "
          "do not fit its space, and starts nothing while held",
          "[automl][warm-start]") {
  study_spec s;
  s.id = "seeded";
  s.family = "quadratic";
  s.metric = "value";
  s.sampler = "tpe";
  s.scheduler = "none";
  s.max_trials = 5;
  s.max_resource = 3;
  s.min_resource = 1;
  s.every = 1;
  auto core = study_core::make(s, nullptr, 0);
  REQUIRE(core);
  auto& c = **core;
  c.hold(true);
  CHECK_FALSE(c.wants_slots(0));
  CHECK_FALSE(c.place("n", 0, 0));
  CHECK(c.trials().empty());
  config a{{"x", 0.25}, {"y", 0.75}}, b{{"x", 0.5}, {"y", 0.5}};
  config bad{{"x", 3.0}, {"y", 0.5}}, alien{{"eta", 0.1}};
  CHECK(c.add_seeds({a, bad, b, alien}) == 2);
  CHECK(c.seeds_left() == 2);
  c.hold(false);
  CHECK(c.wants_slots(0));
  auto first = c.place("n", 0, 0);
  auto second = c.place("n", 1, 0);
  auto third = c.place("n", 2, 0);
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(third);
  CHECK(first->params == a);
  CHECK(second->params == b);
  CHECK(third->params != a);
  CHECK(third->params != b);
  CHECK(c.seeds_left() == 0);
}
