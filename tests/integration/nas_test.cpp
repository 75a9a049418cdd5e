// `troupe nas` as a real process on the committed Fashion-MNIST subset
// (tests/data/fashion-mnist-small): a bounded search writes a summary and a
// model that models::servable loads and `troupe serve` serves; bad input is
// named.

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "actors/models/servable.hpp"
#include "actors/nas/trainer.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

std::string small_dir() {
  return std::string{TROUPE_SOURCE_DIR} + "/tests/data/fashion-mnist-small";
}

std::vector<std::string> nas_cmd(std::vector<std::string> args) {
  args.insert(args.begin(), {test::troupe_bin(), "nas"});
  return args;
}

/// A bounded search: 240 training images, one supernet epoch, one
/// retraining epoch, 4 candidates, one thread.
test::run_result tiny_search(const std::string& out, const std::string& space,
                             const std::string& strategy) {
  // clang-format off
  return test::run(nas_cmd({"--data", small_dir(), "--out", out,
                            "--space", space, "--strategy", strategy,
                            "--max-params", "100000", "--max-mflops", "4",
                            "--train-images", "300", "--validation", "60",
                            "--test-images", "100", "--supernet-epochs", "1",
                            "--epochs", "1", "--candidates", "4",
                            "--batch", "40", "--threads", "1",
                            "--seed", "3"}),
                   120s);
  // clang-format on
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(test::read_file(path));
}

} // namespace

TEST_CASE("troupe nas searches the subset and writes a model that troupe "
          "serve serves",
          "[integration][nas]") {
  test::temp_dir dir;
  auto r = tiny_search(dir / "out", "mobilenet", "evolution");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("supernet epoch 1/1") != std::string::npos);
  CHECK(r.out.find("best: mobilenet") != std::string::npos);
  auto s = read_json(dir / "out/summary.json");
  CHECK(s["space"] == "mobilenet");
  CHECK(s["strategy"] == "evolution");
  CHECK(s["best"]["params"].get<int64_t>() <= 100000);
  CHECK(s["best"]["flops"].get<int64_t>() <= 4000000);
  CHECK(s["candidates_scored"] == 4);
  for (auto& c : s["history"]) {
    CHECK(c["params"].get<int64_t>() <= 100000);
    CHECK(c["flops"].get<int64_t>() <= 4000000);
  }
  auto test_acc = s["accuracy"]["test"].get<double>();
  CHECK(test_acc > 0.1); // better than chance after one epoch
  CHECK(test_acc <= 1.0);
  CHECK(s["search_cost_full_trainings"]["wall_clock"].get<double>() > 0);
  // 1 supernet epoch + 4 x 60 scoring images / 3, over 1 epoch of 240
  CHECK(s["search_cost_full_trainings"]["image_passes"].get<double>() ==
        Approx(1.0 + 4 * 60 / 3.0 / 240));

  // The model loads as the serving layer loads it.
  auto model = models::servable::load(models::model_format::torchscript,
                                      dir / "out/model/model.pt",
                                      dir / "out/model/spec.json");
  if (!model) FAIL(describe(model.error()));
  nas::image_set train, test_set;
  REQUIRE(!nas::read_fashion_mnist(small_dir(), train, test_set));
  auto probs = (*model)->predict(test_set.row(0), 5);
  REQUIRE(probs);
  REQUIRE(probs->size() == 50);

  // `troupe serve` deploys it; `troupe predict` gets the same answers.
  std::ofstream csv{dir / "images.csv"};
  for (size_t i = 0; i < 784; ++i)
    csv << (i ? "," : "") << "pixel" << i;
  csv << "\n";
  for (size_t r = 0; r < 5; ++r)
    for (size_t i = 0; i < 784; ++i)
      csv << test_set.row(r)[i] << (i + 1 < 784 ? "," : "\n");
  csv.close();
  auto port = test::free_port();
  test::process serve{
      {test::troupe_bin(), "serve", "--torchscript", dir / "out/model/model.pt",
       "--spec", dir / "out/model/spec.json", "--name", "fmnist", "--port",
       std::to_string(port), "--data-dir", dir / "node"},
      dir / "serve.log"};
  REQUIRE(test::eventually(
      [&] {
        return serve.log().find("deployment fmnist on") != std::string::npos;
      },
      60s));
  auto p = test::run({test::troupe_bin(), "predict", "--endpoint",
                      "127.0.0.1:" + std::to_string(port), "--data",
                      dir / "images.csv", "--out", dir / "preds.csv"},
                     60s);
  INFO(p.err << serve.log());
  REQUIRE(p.code == 0);
  std::istringstream lines{test::read_file(dir / "preds.csv")};
  std::string line;
  std::getline(lines, line);
  CHECK(line.rfind("prediction,p_0,", 0) == 0);
  for (size_t r = 0; r < 5; ++r) {
    REQUIRE(std::getline(lines, line));
    auto* row = probs->data() + r * 10;
    auto best = std::max_element(row, row + 10) - row;
    CHECK(line.substr(0, line.find(',')) == std::to_string(best));
  }
}

TEST_CASE("troupe nas with the RL controller over the ResNet-like space "
          "keeps its networks within the limits",
          "[integration][nas]") {
  test::temp_dir dir;
  auto r = tiny_search(dir / "out", "resnet", "rl");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  auto s = read_json(dir / "out/summary.json");
  CHECK(s["strategy"] == "rl");
  CHECK(s["best"]["params"].get<int64_t>() <= 100000);
  for (auto& c : s["history"]) {
    CHECK(c["params"].get<int64_t>() <= 100000);
    CHECK(c["flops"].get<int64_t>() <= 4000000);
  }
}

TEST_CASE("troupe nas names bad input: missing data, impossible limits, "
          "unknown space or strategy",
          "[integration][nas]") {
  test::temp_dir dir;
  auto missing = test::run(
      nas_cmd({"--data", "/nonexistent/fmnist", "--out", dir / "o"}), 30s);
  CHECK(missing.code == 1);
  CHECK_THAT(missing.err,
             Catch::Contains("troupe nas: data directory "
                             "'/nonexistent/fmnist' does not exist"));

  auto tiny = test::run(nas_cmd({"--data", small_dir(), "--out", dir / "o",
                                 "--max-params", "1000"}),
                        30s);
  CHECK(tiny.code == 1);
  CHECK_THAT(tiny.err, Catch::Contains("no network of the mobilenet space "
                                       "fits in 1000 parameters: its "
                                       "smallest has"));
  auto flops = test::run(nas_cmd({"--data", small_dir(), "--out", dir / "o",
                                  "--space", "resnet", "--max-mflops", "0.1"}),
                         30s);
  CHECK(flops.code == 1);
  CHECK_THAT(flops.err, Catch::Contains("no network of the resnet space fits "
                                        "in 100000 FLOPs"));

  auto space = test::run(
      nas_cmd({"--data", small_dir(), "--out", dir / "o", "--space", "vgg"}),
      30s);
  CHECK(space.code == 2);
  CHECK_THAT(space.err,
             Catch::Contains("troupe nas: unknown search space 'vgg' (known: "
                             "mobilenet, resnet)"));

  auto strategy = test::run(nas_cmd({"--data", small_dir(), "--out", dir / "o",
                                     "--strategy", "bayes"}),
                            30s);
  CHECK(strategy.code == 2);
  CHECK_THAT(strategy.err,
             Catch::Contains("troupe nas: unknown search strategy 'bayes' "
                             "(known: evolution, rl)"));

  auto no_data = test::run(nas_cmd({"--out", dir / "o"}), 30s);
  CHECK(no_data.code == 2);
  CHECK_THAT(no_data.err, Catch::Contains("--data DIR is required"));
}
