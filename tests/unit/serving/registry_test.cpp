#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "actors/models/saved_model.hpp"
#include "actors/serving/registry.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/serving/models.hpp"

using namespace troupe;
using namespace troupe::models;
using namespace troupe::serving;
using namespace troupe::tabular;
using namespace troupe::test_models;
using tabular::task_kind;
namespace fs = std::filesystem;

namespace {

std::string add_error(registry& reg, const registration& r) {
  auto v = reg.add(r);
  REQUIRE_FALSE(v);
  return describe(v.error());
}

std::vector<uint32_t> numbers(registry& reg, const std::string& name) {
  auto vs = reg.versions(name);
  REQUIRE(vs);
  std::vector<uint32_t> out;
  for (auto& v : *vs)
    out.push_back(v.version);
  return out;
}

/// The entries of a directory (names), sorted.
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator{dir, ec})
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// Predictions of `s` on the rows of a fresh generated table.
std::vector<float> predictions(const servable& s, uint64_t seed = 42) {
  auto t = make_table(s.task(), seed, 20);
  auto x = s.prep().transform(t);
  REQUIRE(x);
  auto p = s.predict(x->values.data(), x->rows);
  REQUIRE(p);
  return std::move(*p);
}

} // namespace

TEST_CASE("versions count up per name, and a reopened registry still holds "
          "them",
          "[serving]") {
  test::temp_dir tmp;
  auto a = make_model(tmp / "a", task_kind::binary, 5);
  auto b = make_model(tmp / "b", task_kind::binary, 8);
  auto c = make_model(tmp / "c", task_kind::multiclass, 5);
  int64_t now = 1000;
  {
    auto reg = open_registry(tmp / "reg", &now);
    auto v1 = must_add(*reg, raw("churn", a));
    auto v2 = must_add(*reg, raw("churn", b));
    auto r = raw("iris.v2_x-y", c);
    r.description = "three classes";
    r.metrics = {{"accuracy", 0.95}};
    auto i1 = must_add(*reg, r);
    CHECK(v1.version == 1);
    CHECK(v2.version == 2);
    CHECK(i1.version == 1);
    CHECK(v1.registered_at == 1000);
    CHECK(v2.registered_at == 1001);
    CHECK(v1.registered_by == "alice");
    CHECK(v1.task == task_kind::binary);
    CHECK(v1.classes == std::vector<std::string>{"no", "yes"});
    REQUIRE(v1.features.size() == 3);
    CHECK(v1.features[2].name == "color");
    CHECK(v1.features[2].kind == tabular::column_kind::categorical);
    REQUIRE(v1.files.size() == 2);
    CHECK(v1.files[0].name == "model.ubj");
    CHECK(v1.files[1].name == "spec.json");
    CHECK(v1.files[0].size == fs::file_size(a.ubj));
    CHECK(v1.artifact_dir == reg->dir() + "/models/churn/v1");
    CHECK(v1.source == fs::absolute(a.ubj).lexically_normal().string());
    CHECK(i1.task == task_kind::multiclass);
    CHECK(entries(tmp / "reg/models/churn") ==
          std::vector<std::string>{"v1", "v2"});
  }
  auto reg = open_registry(tmp / "reg");
  auto names = reg->names();
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"churn", "iris.v2_x-y"});
  CHECK(numbers(*reg, "churn") == std::vector<uint32_t>{1, 2});
  auto i1 = reg->get("iris.v2_x-y", 1);
  REQUIRE(i1);
  CHECK(i1->description == "three classes");
  CHECK(i1->metrics == std::map<std::string, double>{{"accuracy", 0.95}});
  CHECK(i1->artifact_dir == reg->dir() + "/models/iris.v2_x-y/v1");
  // Each version loads its own model.
  auto s1 = reg->load(*reg->get("churn", 1));
  auto s2 = reg->load(*reg->get("churn", 2));
  REQUIRE(s1);
  REQUIRE(s2);
  CHECK(predictions(**s1) != predictions(**s2));
  // A new version after reopening continues the count.
  CHECK(must_add(*reg, raw("churn", c)).version == 3);
}

TEST_CASE("stage labels move between versions, and resolve finds versions by "
          "number, latest and stage",
          "[serving]") {
  test::temp_dir tmp;
  auto a = make_model(tmp / "a", task_kind::binary, 5);
  auto b = make_model(tmp / "b", task_kind::binary, 8);
  auto c = make_model(tmp / "c", task_kind::binary, 11);
  auto reg = open_registry(tmp / "reg");
  auto r1 = raw("churn", a);
  r1.stages = {"production"};
  CHECK(must_add(*reg, r1).stages == std::vector<std::string>{"production"});
  must_add(*reg, raw("churn", b));
  auto r3 = raw("churn", c);
  r3.stages = {"canary", "staging"};
  must_add(*reg, r3);

  auto prod = reg->resolve("churn", "production");
  REQUIRE(prod);
  CHECK(prod->version == 1);
  auto moved = reg->set_stage("churn", 2, "production");
  REQUIRE(moved);
  CHECK(moved->stages == std::vector<std::string>{"production"});
  CHECK(reg->resolve("churn", "production")->version == 2);
  CHECK(reg->get("churn", 1)->stages.empty());
  CHECK(reg->get("churn", 3)->stages ==
        std::vector<std::string>{"canary", "staging"});
  CHECK(reg->resolve("churn", "latest")->version == 3);
  CHECK(reg->resolve("churn", "v1")->version == 1);
  CHECK(reg->resolve("churn", "2")->version == 2);
  CHECK(reg->resolve("churn", "canary")->version == 3);
  // A registration taking a stage takes it from the holder.
  auto r4 = raw("churn", make_model(tmp / "d", task_kind::binary, 13));
  r4.stages = {"staging"};
  must_add(*reg, r4);
  CHECK(reg->get("churn", 3)->stages == std::vector<std::string>{"canary"});
  CHECK(reg->resolve("churn", "staging")->version == 4);

  auto cleared = reg->clear_stage("churn", 3, "canary");
  REQUIRE(cleared);
  CHECK(cleared->stages.empty());
  auto none = reg->resolve("churn", "canary");
  REQUIRE_FALSE(none);
  CHECK_THAT(describe(none.error()),
             Catch::Contains("no version of model 'churn' holds stage "
                             "'canary'; stages held: production (v2), "
                             "staging (v4)"));
  auto bad = reg->resolve("churn", "best");
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()),
             Catch::Contains("'best' is not a number, vN, latest or a stage"));
  auto unknown_stage = reg->set_stage("churn", 1, "prod");
  REQUIRE_FALSE(unknown_stage);
  CHECK_THAT(describe(unknown_stage.error()),
             Catch::Contains("unknown stage 'prod'"));
  auto no_version = reg->set_stage("churn", 9, "production");
  REQUIRE_FALSE(no_version);
  CHECK_THAT(describe(no_version.error()),
             Catch::Contains("has no version 9; versions: 1, 2, 3, 4"));
  // Still as it was.
  CHECK(reg->resolve("churn", "production")->version == 2);

  reg.reset();
  reg = open_registry(tmp / "reg");
  CHECK(reg->resolve("churn", "production")->version == 2);
  CHECK(reg->resolve("churn", "staging")->version == 4);
}

TEST_CASE("registering the same artifact again returns the existing version",
          "[serving]") {
  test::temp_dir tmp;
  auto a = make_model(tmp / "a", task_kind::binary, 5);
  auto reg = open_registry(tmp / "reg");
  auto v1 = must_add(*reg, raw("churn", a));
  auto again = raw("churn", a);
  again.stages = {"production"};
  again.registered_by = "bob";
  auto same = must_add(*reg, again);
  CHECK(same.version == 1);
  CHECK(same.registered_by == "alice");
  CHECK(same.stages == std::vector<std::string>{"production"});
  CHECK(numbers(*reg, "churn") == std::vector<uint32_t>{1});
  // Different content, or another NaN policy, is a new version.
  auto strict = raw("churn", a);
  strict.allow_nan = false;
  CHECK(must_add(*reg, strict).version == 2);
  auto other = raw("churn", make_model(tmp / "b", task_kind::binary, 6));
  CHECK(must_add(*reg, other).version == 3);
  CHECK(entries(tmp / "reg/models/churn") ==
        std::vector<std::string>{"v1", "v2", "v3"});
}

TEST_CASE("a troupe model directory registers whole, with its metric, and "
          "predicts what the saved model predicts",
          "[serving]") {
  test::temp_dir tmp;
  auto a = make_model(tmp / "a", task_kind::multiclass, 6);
  auto reg = open_registry(tmp / "reg");
  registration r;
  r.name = "iris";
  r.format = model_format::troupe;
  r.path = a.model_dir;
  r.metrics = {{"f1", 0.5}};
  auto v = must_add(*reg, r);
  CHECK(v.format == model_format::troupe);
  std::vector<std::string> files;
  for (auto& f : v.files)
    files.push_back(f.name);
  CHECK(files == std::vector<std::string>{"model.json", "model.ubj",
                                          "preprocessor.json"});
  CHECK(v.metrics ==
        std::map<std::string, double>{{"auc", 0.875}, {"f1", 0.5}});
  CHECK(v.artifact() == v.artifact_dir);
  CHECK(v.spec().empty());
  auto s = reg->load(v);
  REQUIRE(s);
  CHECK((*s)->outputs() == 3);
  auto saved = models::saved_model::load(a.model_dir);
  REQUIRE(saved);
  auto t = make_table(task_kind::multiclass, 42, 20);
  auto want = saved->predict(t);
  REQUIRE(want);
  auto got = predictions(**s, 42);
  REQUIRE(got.size() == want->scores.size());
  for (size_t i = 0; i < got.size(); ++i)
    CHECK(got[i] == Approx(want->scores[i]).margin(1e-6));
}

TEST_CASE("corrupt and incompatible artifacts are refused at registration "
          "and leave the registry as it was",
          "[serving]") {
  test::temp_dir tmp;
  auto a = make_model(tmp / "a", task_kind::binary, 5);
  auto reg = open_registry(tmp / "reg");
  must_add(*reg, raw("churn", a));
  auto bytes = troupe::test::read_file(a.ubj);
  auto r = raw("churn", a);
  std::string why;

  SECTION("a truncated model file") {
    troupe::test::write_file(tmp / "cut.ubj",
                             bytes.substr(0, bytes.size() / 3));
    r.path = tmp / "cut.ubj";
    why = "XGBoosterLoadModel";
  }
  SECTION("random bytes") {
    std::mt19937 gen{9};
    std::string junk(2048, '\0');
    for (auto& ch : junk)
      ch = static_cast<char>(gen());
    troupe::test::write_file(tmp / "junk.ubj", junk);
    r.path = tmp / "junk.ubj";
    why = "XGBoosterLoadModel";
  }
  SECTION("a spec whose feature count disagrees with the model") {
    auto j = nlohmann::json::parse(troupe::test::read_file(a.spec));
    j["features"].erase(0);
    troupe::test::write_file(tmp / "narrow.json", j.dump());
    r.spec_path = tmp / "narrow.json";
    why = "the booster takes 3 features, but the spec lists 2";
  }
  SECTION("a multiclass spec on a binary model") {
    auto j = nlohmann::json::parse(troupe::test::read_file(a.spec));
    j["task"] = "multiclass";
    j["classes"] = {"a", "b", "c"};
    troupe::test::write_file(tmp / "multi.json", j.dump());
    r.spec_path = tmp / "multi.json";
    why = "the spec's task is multiclass with 3 classes";
  }
  SECTION("a troupe directory whose model.json disagrees with the booster") {
    auto j = nlohmann::json::parse(
        troupe::test::read_file(a.model_dir + "/model.json"));
    j["rounds"] = 99;
    troupe::test::write_file(a.model_dir + "/model.json", j.dump());
    r.format = model_format::troupe;
    r.path = a.model_dir;
    why = "model.json says 99 rounds";
  }
  auto err = add_error(*reg, r);
  CHECK_THAT(err, Catch::StartsWith("model 'churn': cannot register"));
  CHECK_THAT(err, Catch::Contains(why));
  // No record and no directory; the earlier version still loads.
  CHECK(numbers(*reg, "churn") == std::vector<uint32_t>{1});
  CHECK(entries(tmp / "reg/models/churn") == std::vector<std::string>{"v1"});
  auto s = reg->load(*reg->get("churn", 1));
  REQUIRE(s);
  CHECK(predictions(**s).size() == 20);
  // A refused first registration of a name leaves nothing either.
  r.name = "fresh";
  add_error(*reg, r);
  CHECK(entries(tmp / "reg/models") == std::vector<std::string>{"churn"});
  auto names = reg->names();
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"churn"});
}

TEST_CASE("a file changed after registration is detected at load",
          "[serving]") {
  test::temp_dir tmp;
  auto a = make_model(tmp / "a", task_kind::binary, 5);
  auto reg = open_registry(tmp / "reg");
  auto v = must_add(*reg, raw("churn", a));
  REQUIRE(reg->load(v));
  auto path = v.artifact_dir + "/model.ubj";
  auto bytes = troupe::test::read_file(path);
  bytes[bytes.size() / 2] ^= 0x01;
  troupe::test::write_file(path, bytes);
  auto s = reg->load(v);
  REQUIRE_FALSE(s);
  CHECK_THAT(describe(s.error()),
             Catch::StartsWith("model churn v1: file model.ubj changed since "
                               "registration ("));
  fs::remove(v.artifact_dir + "/spec.json");
  CHECK_THAT(describe(reg->verify(v)),
             Catch::Contains("model.ubj changed since registration"));
  troupe::test::write_file(path, troupe::test::read_file(a.ubj));
  CHECK_THAT(describe(reg->verify(v)),
             Catch::Contains("file spec.json is missing"));
}

TEST_CASE("bad names and unknown models are errors that say what exists",
          "[serving]") {
  test::temp_dir tmp;
  auto a = make_model(tmp / "a", task_kind::binary, 3);
  auto reg = open_registry(tmp / "reg");
  for (auto name : {std::string{}, std::string{".."}, std::string{"a/b"},
                    std::string{"-x"}, std::string(65, 'm')})
    CHECK_THAT(add_error(*reg, raw(name, a)),
               Catch::Contains("bad model name"));
  CHECK(must_add(*reg, raw(std::string(64, 'm'), a)).version == 1);
  must_add(*reg, raw("b", a));
  auto none = reg->versions("x");
  REQUIRE_FALSE(none);
  CHECK(describe(none.error()) ==
        "no model 'x'; registered: b, " + std::string(64, 'm'));
  auto nv = reg->get("b", 7);
  REQUIRE_FALSE(nv);
  CHECK(describe(nv.error()) == "model 'b' has no version 7; versions: 1");
  auto r = raw("c", a);
  r.spec_path.clear();
  CHECK_THAT(add_error(*reg, r), Catch::Contains("no feature spec given"));
  r = raw("c", a);
  r.stages = {"prod"};
  CHECK_THAT(add_error(*reg, r), Catch::Contains("unknown stage 'prod'"));
  r = raw("c", a);
  r.path = tmp / "missing.ubj";
  CHECK_THAT(add_error(*reg, r), Catch::Contains("does not exist"));
  r = raw("c", a);
  r.metrics = {{"auc", NAN}};
  CHECK_THAT(add_error(*reg, r),
             Catch::Contains("metric 'auc' is not a finite number"));
  fs::copy_file(a.ubj, tmp / "model.bin");
  r = raw("c", a);
  r.path = tmp / "model.bin";
  CHECK_THAT(add_error(*reg, r), Catch::Contains("must end in .json or .ubj"));
  auto names = reg->names();
  REQUIRE(names);
  CHECK(names->size() == 2);
}

TEST_CASE("records survive their JSON form", "[serving]") {
  model_version v;
  v.name = "m";
  v.version = 3;
  v.format = model_format::torchscript;
  v.stages = {"canary"};
  v.registered_at = -5;
  v.task = task_kind::multiclass;
  v.classes = {"a", "b"};
  v.features = {{"f", tabular::column_kind::categorical}};
  v.allow_nan = false;
  v.metrics = {{"auc", 0.5}};
  v.files = {{"model.pt", 10, 0xffffffffffffffffull}};
  auto back = model_version_from_json(to_json(v));
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(v));
  auto j = to_json(v);
  j.erase("files");
  auto bad = model_version_from_json(j);
  REQUIRE_FALSE(bad);
  CHECK_THAT(describe(bad.error()), Catch::Contains("field 'files'"));
  CHECK(fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
}

#ifdef TROUPE_WITH_TORCH

TEST_CASE("a TorchScript model registers with its spec and predicts",
          "[serving]") {
  test::temp_dir tmp;
  REQUIRE_FALSE(
      write_torch_linear(tmp / "lin.pt", {1, 2}, 1, {0.5f}, "", true));
  nlohmann::json spec{{"format", "troupe.preprocessor"},
                      {"version", 1},
                      {"target", "y"},
                      {"task", "regression"},
                      {"target_numeric", true},
                      {"classes", nlohmann::json::array()},
                      {"features",
                       {{{"name", "a"}, {"kind", "numeric"}},
                        {{"name", "b"}, {"kind", "numeric"}}}}};
  troupe::test::write_file(tmp / "spec.json", spec.dump());
  auto reg = open_registry(tmp / "reg");
  registration r;
  r.name = "lin";
  r.format = model_format::torchscript;
  r.path = tmp / "lin.pt";
  r.spec_path = tmp / "spec.json";
  auto v = must_add(*reg, r);
  CHECK(v.files[0].name == "model.pt");
  auto s = reg->load(v);
  REQUIRE(s);
  auto y = (*s)->predict({"b", "a"}, {{cell::of(3.0), cell::of(1.0)}});
  REQUIRE(y);
  CHECK((*y)[0] == Approx(1 + 2 * 3 + 0.5));
  troupe::test::write_file(tmp / "junk.pt", "not a zip archive");
  r.path = tmp / "junk.pt";
  CHECK_THAT(add_error(*reg, r), Catch::Contains("does not load"));
  CHECK(numbers(*reg, "lin") == std::vector<uint32_t>{1});
}

#endif // TROUPE_WITH_TORCH
