#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "actors/automl/space.hpp"
#include "actors/automl/space_file.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::automl;
using namespace troupe::tabular;
using Catch::Matchers::Contains;

namespace {

using p = param_spec;

/// The message of a failed space, or "" if it was made.
std::string error_of(std::vector<param_spec> params) {
  auto space = search_space::make(std::move(params));
  return space ? std::string{} : describe(space.error());
}

search_space xgb() {
  auto space = xgboost_space();
  REQUIRE(space);
  return *space;
}

std::vector<std::string> names(const search_space& s) {
  std::vector<std::string> result;
  for (auto& x : s.params())
    result.push_back(x.name);
  return result;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

} // namespace

TEST_CASE("invalid parameters are refused with their name and the cause",
          "[space]") {
  CHECK_THAT(error_of({p::real("eta", 0.3, 0.001)}),
             Contains("'eta'") && Contains("low (0.3) must be below high"));
  CHECK_THAT(error_of({p::real("eta", 0.5, 0.5)}), Contains("below high"));
  CHECK_THAT(error_of({p::integer("depth", 10, 2)}),
             Contains("'depth'") && Contains("below high"));
  CHECK_THAT(error_of({p::real("lr", 0, 1, true)}),
             Contains("'lr'") && Contains("log scale needs low > 0"));
  CHECK_THAT(error_of({p::real("lr", -1, 1, true)}), Contains("low > 0"));
  CHECK_THAT(error_of({p::categorical("booster", {})}),
             Contains("'booster'") && Contains("no choices"));
  CHECK_THAT(error_of({p::categorical("b", {"x", "x"})}),
             Contains("'x' is listed twice"));
  CHECK_THAT(error_of({p::real("x", NAN, 1)}), Contains("finite"));
  auto frac = p::integer("n", 1, 5);
  frac.low = 1.5;
  CHECK_THAT(error_of({frac}), Contains("whole numbers"));
}

TEST_CASE("conditions must name a categorical parent and its choices",
          "[space]") {
  auto b = p::categorical("booster", {"gbtree", "dart"});
  CHECK_THAT(error_of({p::real("rate_drop", 0, 1).only_if("boostr", {"dart"})}),
             Contains("'rate_drop'") && Contains("unknown parent 'boostr'"));
  CHECK_THAT(error_of({p::real("eta", 0.1, 1),
                       p::real("x", 0, 1).only_if("eta", {"a"})}),
             Contains("parent 'eta' is not categorical"));
  CHECK_THAT(error_of({b, p::real("x", 0, 1).only_if("booster", {"gblinear"})}),
             Contains("'gblinear' is not a choice of 'booster'"));
  CHECK_THAT(error_of({b, p::real("x", 0, 1).only_if("booster", {})}),
             Contains("lists no values"));
  CHECK_THAT(error_of({b, b}), Contains("'booster' is declared twice"));
  CHECK_THAT(error_of({p::categorical("a", {"1"}).only_if("a", {"1"})}),
             Contains("'a'") && Contains("itself"));
  CHECK_THAT(error_of({p::categorical("a", {"1"}).only_if("b", {"1"}),
                       p::categorical("b", {"1"}).only_if("c", {"1"}),
                       p::categorical("c", {"1"}).only_if("a", {"1"})}),
             Contains("cycle") && Contains("a -> b -> c -> a"));
}

TEST_CASE("a space orders parents before children, keeping the rest",
          "[space]") {
  auto space = search_space::make(
      {p::real("child", 0, 1).only_if("kind", {"a"}), p::real("x", 0, 1),
       p::categorical("kind", {"a", "b"}), p::real("y", 0, 1)});
  REQUIRE(space);
  CHECK(names(*space) == std::vector<std::string>{"x", "kind", "child", "y"});
  CHECK(space->parent_of(2) == std::optional<size_t>{1});
  CHECK(!space->parent_of(0));
}

TEST_CASE("samples respect bounds, and log scales centre on the geometric "
          "mean",
          "[space]") {
  auto space = search_space::make(
      {p::real("u", 2, 4), p::real("lr", 1e-4, 1, true), p::integer("n", 2, 5),
       p::integer("m", 1, 8, true), p::categorical("c", {"a", "b", "c"})});
  REQUIRE(space);
  std::mt19937_64 rng{42};
  std::vector<double> us, lrs, ms;
  std::set<int64_t> ns, m_seen;
  std::set<std::string> cs;
  for (int i = 0; i < 4001; ++i) {
    auto c = space->sample(rng);
    REQUIRE(!space->check(c));
    us.push_back(std::get<double>(c["u"]));
    lrs.push_back(std::get<double>(c["lr"]));
    ns.insert(std::get<int64_t>(c["n"]));
    m_seen.insert(std::get<int64_t>(c["m"]));
    cs.insert(std::get<std::string>(c["c"]));
  }
  CHECK(*std::min_element(us.begin(), us.end()) >= 2);
  CHECK(*std::max_element(us.begin(), us.end()) <= 4);
  CHECK(median(us) == Approx(3).margin(0.1));
  // Log-uniform on [1e-4, 1]: the median is the geometric mean, 1e-2,
  // where a uniform draw would give 0.5.
  CHECK(std::log10(median(lrs)) == Approx(-2).margin(0.15));
  CHECK(*std::min_element(lrs.begin(), lrs.end()) >= 1e-4);
  CHECK(*std::max_element(lrs.begin(), lrs.end()) <= 1);
  CHECK(ns == std::set<int64_t>{2, 3, 4, 5}); // both bounds included
  CHECK(m_seen == std::set<int64_t>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(cs == std::set<std::string>{"a", "b", "c"});
}

TEST_CASE("conditional children are present exactly when the parent "
          "matches",
          "[space]") {
  auto space = search_space::make(
      {p::categorical("booster", {"gbtree", "dart", "gblinear"}),
       p::real("rate_drop", 0, 0.3).only_if("booster", {"dart"}),
       p::categorical("sample_type", {"uniform", "weighted"})
           .only_if("booster", {"dart"}),
       p::real("deep", 0, 1).only_if("sample_type", {"weighted"}),
       p::real("tree_only", 0, 1).only_if("booster", {"gbtree", "dart"})});
  REQUIRE(space);
  std::mt19937_64 rng{7};
  int darts = 0, deep = 0;
  for (int i = 0; i < 2000; ++i) {
    auto c = space->sample(rng);
    REQUIRE(!space->check(c));
    auto& b = std::get<std::string>(c["booster"]);
    bool dart = b == "dart";
    darts += dart;
    CHECK(c.count("rate_drop") == dart);
    CHECK(c.count("sample_type") == dart);
    CHECK(c.count("tree_only") == (b != "gblinear"));
    bool weighted =
        dart && std::get<std::string>(c["sample_type"]) == "weighted";
    CHECK(c.count("deep") == weighted);
    deep += weighted;
  }
  CHECK(darts > 500);
  CHECK(deep > 200);
}

TEST_CASE("check names what is wrong with a configuration", "[space]") {
  auto space = xgb();
  std::mt19937_64 rng{1};
  auto c = space.sample(rng);
  c["booster"] = std::string{"gbtree"};
  c.erase("rate_drop");
  c.erase("skip_drop");
  REQUIRE(!space.check(c));
  auto bad = c;
  bad["rate_drop"] = 0.1;
  CHECK_THAT(describe(space.check(bad)), Contains("'rate_drop'"));
  bad = c;
  bad["eta"] = 0.9;
  CHECK_THAT(describe(space.check(bad)),
             Contains("'eta'") && Contains("outside"));
  bad = c;
  bad["max_depth"] = 3.0;
  CHECK_THAT(describe(space.check(bad)), Contains("expected an integer"));
  bad = c;
  bad.erase("subsample");
  CHECK_THAT(describe(space.check(bad)), Contains("'subsample': missing"));
  bad = c;
  bad["nope"] = 1.0;
  CHECK_THAT(describe(space.check(bad)), Contains("unknown parameter 'nope'"));
}

TEST_CASE("the xgboost family has its default space", "[space]") {
  auto space = space_registry::global().get("xgboost");
  REQUIRE(space);
  CHECK(names(*space) ==
        std::vector<std::string>{"eta", "max_depth", "min_child_weight",
                                 "subsample", "colsample_bytree", "lambda",
                                 "alpha", "booster", "rate_drop", "skip_drop"});
  auto* eta = space->find("eta");
  REQUIRE(eta);
  CHECK(eta->log);
  CHECK(eta->low == 1e-3);
  CHECK(eta->high == 0.3);
  CHECK(space->find("max_depth")->kind == param_kind::integer);
  CHECK(space->find("skip_drop")->when->values ==
        std::vector<std::string>{"dart"});
}

TEST_CASE("a registry takes new families and names the known ones", "[space]") {
  // "mlp" is a built-in where LibTorch is built: the new family is "tabnet".
#ifdef TROUPE_WITH_TORCH
  std::vector<std::string> known{"knn", "linear",    "mlp",    "quadratic",
                                 "rf",  "sparse-lr", "tabnet", "xgboost"};
  std::string listed =
      "knn, linear, mlp, quadratic, rf, sparse-lr, tabnet, xgboost";
#else
  std::vector<std::string> known{"knn",       "linear", "quadratic", "rf",
                                 "sparse-lr", "tabnet", "xgboost"};
  std::string listed = "knn, linear, quadratic, rf, sparse-lr, tabnet, xgboost";
#endif
  auto reg = space_registry::with_builtins();
  CHECK(reg.add("tabnet", [] {
    return search_space::make({p::integer("width", 16, 1024, true)});
  }) == caf::none);
  CHECK(reg.families() == known);
  CHECK(reg.get("tabnet"));
  CHECK(reg.add("tabnet", [] { return search_space::make({}); }) != caf::none);
  auto missing = reg.get("svm");
  REQUIRE(!missing);
  CHECK_THAT(describe(missing.error()), Contains("'svm'") && Contains(listed));
}

TEST_CASE("a JSON file replaces, adds and removes parameters", "[space]") {
  test::temp_dir dir;
  auto path = dir / "space.json";
  test::write_file(path, R"({
    "remove": ["alpha"],
    "params": {
      "eta": {"type": "float", "low": 0.01, "high": 0.2, "log": true},
      "grow_policy": {"type": "categorical",
                      "choices": ["depthwise", "lossguide"]},
      "max_leaves": {"type": "int", "low": 8, "high": 256, "log": true,
                     "parent": "grow_policy", "when": "lossguide"},
      "gamma": {"type": "float", "low": 0, "high": 5}
    }})");
  auto space = apply_space_file(xgb(), path);
  REQUIRE(space);
  CHECK(!space->find("alpha"));
  CHECK(space->find("eta")->low == 0.01);
  CHECK(space->find("eta")->high == 0.2);
  CHECK(space->find("max_leaves")->when->parent == "grow_policy");
  CHECK(names(*space).back() == "gamma");
  CHECK(space->size() == 12);
  std::mt19937_64 rng{3};
  for (int i = 0; i < 200; ++i) {
    auto c = space->sample(rng);
    CHECK(std::get<double>(c["eta"]) <= 0.2);
    CHECK(c.count("max_leaves") ==
          (std::get<std::string>(c["grow_policy"]) == "lossguide"));
  }
}

TEST_CASE("a TOML file overrides the default space in file order", "[space]") {
  test::temp_dir dir;
  auto path = dir / "space.toml";
  test::write_file(path, R"(remove = ["alpha", "lambda"]

[params.zeta]
type = "float"
low = 1
high = 2

[params.max_depth]
type = "int"
low = 3
high = 6

[params.booster]
type = "categorical"
choices = ["gbtree", "dart", "gblinear"]
)");
  auto space = load_space("xgboost", path);
  REQUIRE(space);
  CHECK(!space->find("alpha"));
  CHECK(!space->find("lambda"));
  CHECK(space->find("max_depth")->low == 3);
  CHECK(space->find("booster")->choices.size() == 3);
  CHECK(names(*space).back() == "zeta");
}

TEST_CASE("space file errors name the file, the parameter and the line",
          "[space]") {
  test::temp_dir dir;
  auto err = [&](const std::string& name, const std::string& text) {
    auto path = dir / name;
    test::write_file(path, text);
    auto space = apply_space_file(xgb(), path);
    return space ? std::string{} : describe(space.error());
  };
  auto json = dir / "bad.json";
  CHECK_THAT(
      err("bad.json",
          R"({"params": {"eta": {"type": "float", "low": 1, "high": 0.1}}})"),
      Contains(json) && Contains("'eta'") && Contains("below high"));
  CHECK_THAT(err("bad.json", R"({"params": {"eta": {"type": "float",
             "low": 0.1, "hi": 1}}})"),
             Contains(json) && Contains("unknown key 'hi'"));
  CHECK_THAT(err("bad.json", R"({"params": {"eta": {"low": 0.1, "high": 1}}})"),
             Contains("'eta'") && Contains("needs a 'type'"));
  CHECK_THAT(err("bad.json", R"({"remove": ["etta"]})"),
             Contains(json) && Contains("'etta' is not a parameter"));
  CHECK_THAT(err("bad.json", R"({"remove": ["booster"]})"),
             Contains(json) && Contains("'rate_drop'") &&
                 Contains("unknown parent 'booster'"));
  CHECK_THAT(err("bad.json", "{\"params\": {\n  \"eta\": }"),
             Contains(json + ":2:") && Contains("invalid JSON"));
  CHECK_THAT(err("bad.json", R"({"parms": {}})"),
             Contains("unknown key 'parms'"));

  auto toml = dir / "bad.toml";
  CHECK_THAT(err("bad.toml", "[params.depth]\ntype = \"int\"\nlow = 2\n"
                             "high = 9.5\n"),
             Contains(toml + ":1:") && Contains("'depth'") &&
                 Contains("whole numbers"));
  CHECK_THAT(err("bad.toml", "\n\n[params.eta]\ntype = \"float\"\nlow = 0\n"
                             "high = 1\nlog = \"yes\"\n"),
             Contains(toml + ":7:") && Contains("'eta'") &&
                 Contains("'log' must be true or false"));
  CHECK_THAT(err("bad.toml", "[params.x]\ntype = \"float\"\nlow = 0\nhigh = 1\n"
                             "parent = \"booster\"\nwhen = \"linear\"\n"),
             Contains(toml + ":1:") && Contains("'x'") &&
                 Contains("'linear' is not a choice of 'booster'"));
  CHECK_THAT(
      err("bad.toml", "[params.c]\ntype = \"categorical\"\nchoices = []\n"),
      Contains(toml) && Contains("'c'") && Contains("no choices"));
  CHECK_THAT(err("bad.toml", "a = 1\n[params\n"),
             Contains(toml + ":2:") && Contains("invalid TOML"));

  auto missing = apply_space_file(xgb(), dir / "none.toml");
  REQUIRE(!missing);
  CHECK(missing.error().code() == static_cast<uint8_t>(errc::not_found));
  CHECK_THAT(describe(missing.error()), Contains("none.toml"));
  CHECK_THAT(err("space.yaml", "x: 1"), Contains(".json or .toml"));
}

TEST_CASE("perturbing a configuration moves numbers by 0.8 or 1.2 within "
          "bounds and keeps conditions consistent",
          "[space][pbt]") {
  auto space = search_space::make(
      {param_spec::real("lr", 1e-3, 1, true),
       param_spec::integer("depth", 2, 10),
       param_spec::categorical("kind", {"a", "b"}),
       param_spec::real("only_b", 0, 1).only_if("kind", {"b"})});
  REQUIRE(space);
  std::mt19937_64 gen{11};
  config c{{"lr", 0.5}, {"depth", int64_t{10}}, {"kind", std::string{"a"}}};
  size_t kind_changed = 0;
  for (int i = 0; i < 200; ++i) {
    auto p = space->perturb(c, gen);
    CHECK_FALSE(space->check(p)); // a valid configuration
    auto lr = std::get<double>(p.at("lr"));
    CHECK((lr == Approx(0.4) || lr == Approx(0.6)));
    auto depth = std::get<int64_t>(p.at("depth"));
    CHECK((depth == 8 || depth == 10)); // 12 clamps to 10
    if (std::get<std::string>(p.at("kind")) == "b") {
      ++kind_changed;
      CHECK(p.count("only_b") == 1); // newly active: drawn
    }
  }
  CHECK(kind_changed > 5); // redrawn a quarter of the time, half to "b"
  CHECK(kind_changed < 60);
  // PBT keeps categorical choices (a child continues its parent's model)
  for (int i = 0; i < 50; ++i) {
    auto p = space->perturb(c, gen, true);
    CHECK(std::get<std::string>(p.at("kind")) == "a");
    CHECK(p.count("only_b") == 0);
  }
}
