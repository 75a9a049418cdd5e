// Model serving through the real binary: `troupe serve` of a model that
// `troupe automl` saved, reached by `troupe predict --endpoint`, the
// registry and deployment commands, the prediction log and /metrics.

#include <catch2/catch.hpp>

#include <signal.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "actors/tabular/csv.hpp"
#include "runtime/client.hpp"
#include "schemas/serving.capnp.h"
#include "tests/integration/serving_support.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace test = troupe::test;
using test::serving::cmd;

namespace {

/// The value of the first series line starting with `prefix`, or -1.
double series(const std::string& text, const std::string& prefix) {
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0)
      return std::stod(line.substr(line.rfind(' ') + 1));
  return -1;
}

} // namespace

TEST_CASE("troupe serve answers what troupe predict answers locally, a bad "
          "request fails alone, canary split then promote and rollback, a "
          "corrupt model is refused, and /metrics and the low-confidence "
          "export show the traffic",
          "[integration][serving]") {
  test::temp_dir dir;
  auto model = test::serving::train_pima(dir.path());
  auto data = std::string{TROUPE_SOURCE_DIR} + "/tests/data/pima_diabetes.csv";
  auto port = test::free_port();
  auto mport = test::free_port();
  auto endpoint = "127.0.0.1:" + std::to_string(port);
  auto serve = test::serving::serve(
      dir.path(), model, "pima", port,
      {"--metrics-port", std::to_string(mport), "--data-dir", dir / "node",
       "--replicas", "1:2", "--max-delay-us", "500", "--target-p99-ms", "250"});
  INFO(serve->log());

  // the autoscaling targets given to serve reach the deployment
  auto shown =
      test::run(cmd({"deployments", "pima", "--cluster", endpoint}), 30s);
  INFO(shown.out << shown.err);
  REQUIRE(shown.code == 0);
  CHECK(shown.out.find("\ntarget in flight  16 rows\n"
                       "target p99        250ms\n") != std::string::npos);

  // the same predictions as the local model
  auto local = test::run(cmd({"predict", "--model", model, "--data", data,
                              "--out", dir / "local.csv"}),
                         60s);
  REQUIRE(local.code == 0);
  auto remote =
      test::run(cmd({"predict", "--endpoint", endpoint, "--data", data, "--out",
                     dir / "remote.csv", "--batch-rows", "100"}),
                60s);
  INFO(remote.err);
  REQUIRE(remote.code == 0);
  CHECK(test::read_file(dir / "remote.csv") ==
        test::read_file(dir / "local.csv"));

  // a request missing features fails with a message naming one; the next
  // good request is served
  {
    std::ofstream bad{dir / "bad.csv"};
    bad << "pregnant,glucose,pressure\n6,148,72\n";
  }
  auto b = test::run(
      cmd({"predict", "--endpoint", endpoint, "--data", dir / "bad.csv"}), 30s);
  CHECK(b.code == 1);
  CHECK(b.err.find("no column 'triceps'") != std::string::npos);
  auto again = test::run(cmd({"predict", "--endpoint", endpoint, "--data", data,
                              "--out", dir / "again.csv"}),
                         60s);
  CHECK(again.code == 0);
  CHECK(test::read_file(dir / "again.csv") ==
        test::read_file(dir / "local.csv"));

  // a corrupt model file is refused, and v1 keeps serving
  {
    auto bytes = test::read_file(model + "/model.ubj");
    std::ofstream out{dir / "broken.ubj", std::ios::binary};
    out << bytes.substr(0, bytes.size() / 2);
  }
  auto corrupt = test::run(
      cmd({"models", "register", "pima", "--xgboost", dir / "broken.ubj",
           "--spec", model + "/preprocessor.json", "--cluster", endpoint}),
      30s);
  CHECK(corrupt.code == 1);
  CHECK(corrupt.err.find("broken") != std::string::npos);
  auto listed =
      test::run(cmd({"models", "list", "pima", "--cluster", endpoint}), 30s);
  CHECK(listed.out.find("pima v1") != std::string::npos);
  CHECK(listed.out.find("pima v2") == std::string::npos);

  // v2: the same booster registered as a plain XGBoost file
  auto reg = test::run(
      cmd({"models", "register", "pima", "--xgboost", model + "/model.ubj",
           "--spec", model + "/preprocessor.json", "--cluster", endpoint}),
      30s);
  INFO(reg.out << reg.err);
  REQUIRE(reg.code == 0);
  CHECK(reg.out.find("pima v2") != std::string::npos);

  // canary: 90/10 between v1 and v2, counted over 1,000 requests
  auto tr = test::run(
      cmd({"traffic", "pima", "1=90,2=10", "--cluster", endpoint}), 30s);
  INFO(tr.out << tr.err);
  REQUIRE(tr.code == 0);
  auto client = troupe::cluster_client::connect("127.0.0.1", port);
  REQUIRE(client);
  auto cap = (*client)->service("serving");
  REQUIRE(cap);
  auto api = cap->castAs<troupe::schema::Predictor>();
  auto versions = [&](int n) {
    std::map<uint32_t, int> seen;
    for (int i = 0; i < n; ++i) {
      auto req = api.predictRequest();
      auto r = req.initRequest();
      r.setDeployment("pima");
      auto row = r.initRows(1)[0].initValues(8);
      for (unsigned k = 0; k < 8; ++k)
        row.set(k, static_cast<float>(k + i % 7));
      auto answer = (*client)->wait(req.send());
      seen[answer.getResponse().getVersion()]++;
      CHECK(answer.getResponse().getPredictions().size() == 1);
    }
    return seen;
  };
  auto split = versions(1000);
  CHECK(split[1] >= 899);
  CHECK(split[1] <= 901);
  CHECK(split[2] >= 99);
  CHECK(split[2] <= 101);
  // v2 without traffic: a request pinned to it is refused at once (it has
  // no replicas to wait for)
  auto off = test::run(
      cmd({"traffic", "pima", "1=100,2=0", "--cluster", endpoint}), 30s);
  REQUIRE(off.code == 0);
  {
    auto req = api.predictRequest();
    auto r = req.initRequest();
    r.setDeployment("pima");
    r.setVersion(2);
    auto row = r.initRows(1)[0].initValues(8);
    for (unsigned k = 0; k < 8; ++k)
      row.set(k, static_cast<float>(k));
    CHECK_THROWS_WITH((*client)->wait(req.send()),
                      Catch::Contains("does not serve version 2 (weight 0)"));
  }
  auto pr =
      test::run(cmd({"promote", "pima", "2", "--cluster", endpoint}), 30s);
  REQUIRE(pr.code == 0);
  CHECK(versions(50)[2] == 50);
  auto rb = test::run(cmd({"rollback", "pima", "--cluster", endpoint}), 30s);
  REQUIRE(rb.code == 0);
  CHECK(versions(50)[1] == 50);

  // each version records where its registrant took it from
  {
    auto req = api.modelsRequest();
    req.setName("pima");
    auto answer = (*client)->wait(req.send());
    auto list = answer.getList().getVersions();
    REQUIRE(list.size() == 2);
    CHECK(std::string{list[0].getSource().cStr()} ==
          fs::absolute(model).string());
    CHECK(std::string{list[1].getSource().cStr()} ==
          fs::absolute(model + "/model.ubj").string());
  }

  // numbers with trailing garbage are refused before anything is sent
  auto bad_n =
      test::run(cmd({"scale", "pima", "3abc", "--cluster", endpoint}), 30s);
  CHECK(bad_n.code == 2);
  CHECK(bad_n.err.find("N '3abc' is not a whole number") != std::string::npos);
  auto bad_v =
      test::run(cmd({"promote", "pima", "2x", "--cluster", endpoint}), 30s);
  CHECK(bad_v.code == 2);
  CHECK(bad_v.err.find("version '2x' is not a number") != std::string::npos);

  // a wrong feature count is refused per request
  {
    auto req = api.predictRequest();
    auto r = req.initRequest();
    r.setDeployment("pima");
    r.initRows(1)[0].initValues(3);
    CHECK_THROWS_WITH((*client)->wait(req.send()),
                      Catch::Contains("has 3 values, the model takes 8"));
  }

  // metrics
  auto text = test::http_get(mport, "/metrics");
  INFO(text);
  CHECK(text.find("text/plain; version=0.0.4") != std::string::npos);
  CHECK(
      series(
          text,
          "troupe_serving_requests_total{deployment=\"pima\",version=\"1\"}") >=
      900);
  // two passes over pima's rows, then the canary's
  auto local_table = troupe::tabular::read_csv(dir / "local.csv");
  REQUIRE(local_table);
  CHECK(
      series(text,
             "troupe_serving_rows_total{deployment=\"pima\",version=\"1\"}") >=
      2.0 * static_cast<double>(local_table->rows()) + 900);
  CHECK(series(text, "troupe_serving_replicas{deployment=\"pima\"}") >= 1);
  CHECK(series(
            text,
            "troupe_serving_errors_total{deployment=\"pima\",version=\"1\"}") >=
        2);

  // every logged row below 0.6 confidence comes out, and only those
  size_t uncertain = 0;
  for (auto p : local_table->find("p_pos")->numbers)
    if (std::max(p, 1 - p) < 0.6) ++uncertain;
  REQUIRE(uncertain > 0);
  REQUIRE(test::eventually(
      [&] {
        auto ex =
            test::run(cmd({"predictions", "export", "--low-confidence", "0.6",
                           "--data-dir", dir / "node", "--deployment", "pima",
                           "--out", dir / "low.csv"}),
                      30s);
        if (ex.code != 0) return false;
        auto low = troupe::tabular::read_csv(dir / "low.csv");
        if (!low) return false;
        for (auto c : low->find("confidence")->numbers)
          if (c >= 0.6) return false;
        // two full passes over pima, then the canary rows
        return low->rows() >= 2 * uncertain;
      },
      10s));
  serve->signal(SIGINT);
  CHECK(serve->wait(30s) == 0);
}

TEST_CASE("a prediction by entity ids looks the features up in the feature "
          "store under the names troupe features join gives them",
          "[integration][serving]") {
  test::temp_dir dir;
  // 300 entities with two float fields and a vector of 2; the label leans
  // on a - b + v_0
  {
    std::ofstream ents{dir / "ents.csv"}, train{dir / "train.csv"},
        ids{dir / "ids.csv"};
    ents << "id,ts,a,b,v\n";
    train << "g.a,g.b,g.v_0,g.v_1,label\n";
    ids << "id\n";
    uint64_t x = 7;
    auto next = [&x] {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<double>(x >> 11) / 9007199254740992.0;
    };
    for (int i = 0; i < 300; ++i) {
      // values exact in float32, as the store keeps them
      auto a = std::round(next() * 1024) / 1024;
      auto b = std::round(next() * 1024) / 1024;
      auto c = std::round(next() * 1024) / 1024;
      auto d = std::round(next() * 1024) / 1024;
      auto label = a - b + c + 0.3 * (next() - 0.5) > 0.5 ? "yes" : "no";
      ents << "e" << i << ",2024-01-01," << a << "," << b << "," << c << ";"
           << d << "\n";
      train << a << "," << b << "," << c << "," << d << "," << label << "\n";
      ids << "e" << i << "\n";
    }
  }
  auto am =
      test::run(cmd({"automl", "--data", dir / "train.csv", "--target", "label",
                     "--trials", "2", "--max-rounds", "8", "--min-rounds", "4",
                     "--slots", "1", "--out", dir / "runs", "--quiet"}),
                120s);
  INFO(am.out << am.err);
  REQUIRE(am.code == 0);
  std::string model;
  for (auto& e : fs::recursive_directory_iterator(dir / "runs"))
    if (e.path().filename() == "model.json")
      model = e.path().parent_path().string();
  REQUIRE(!model.empty());

  auto port = test::free_port();
  auto endpoint = "127.0.0.1:" + std::to_string(port);
  auto serve = test::serving::serve(
      dir.path(), model, "gm", port,
      {"--features", "g", "--metrics-port", "0", "--data-dir", dir / "node"});
  INFO(serve->log());
  auto create = test::run(
      cmd({"features", "create", "--cluster", endpoint, "--group", "g",
           "--field", "a:float64", "--field", "b:float64", "--vector", "v:2"}),
      30s);
  INFO(create.out << create.err);
  REQUIRE(create.code == 0);
  auto ingest = test::run(cmd({"features", "ingest", "--cluster", endpoint,
                               "--group", "g", "--file", dir / "ents.csv",
                               "--entity", "id", "--time", "ts", "--quiet"}),
                          60s);
  INFO(ingest.out << ingest.err);
  REQUIRE(ingest.code == 0);

  auto local = test::run(cmd({"predict", "--model", model, "--data",
                              dir / "train.csv", "--out", dir / "local.csv"}),
                         60s);
  REQUIRE(local.code == 0);
  auto remote = test::run(cmd({"predict", "--endpoint", endpoint, "--data",
                               dir / "ids.csv", "--entity", "id", "--out",
                               dir / "remote.csv", "--batch-rows", "64"}),
                          60s);
  INFO(remote.err);
  REQUIRE(remote.code == 0);
  CHECK(test::read_file(dir / "remote.csv") ==
        test::read_file(dir / "local.csv"));
  serve->signal(SIGINT);
  CHECK(serve->wait(30s) == 0);
}

TEST_CASE("dynamic batching forms full batches under concurrent load and a "
          "lone request waits no longer than the queue delay",
          "[integration][serving]") {
  test::temp_dir dir;
  auto model = test::serving::train_pima(dir.path());
  auto port = test::free_port();
  auto endpoint = "127.0.0.1:" + std::to_string(port);
  // full: batches of 8 that may wait 2 s; lone: batches of 8 within 50 ms
  auto serve = test::serving::serve(
      dir.path(), model, "full", port,
      {"--metrics-port", "0", "--data-dir", dir / "node", "--max-batch", "8",
       "--max-delay-us", "2000000", "--slots", "2"});
  INFO(serve->log());
  auto dep =
      test::run(cmd({"deploy", "lone", "--model", "full", "--cluster", endpoint,
                     "--max-batch", "8", "--max-delay-us", "50000"}),
                30s);
  INFO(dep.out << dep.err);
  REQUIRE(dep.code == 0);

  // 8 clients, one request each outstanding: every batch but those formed
  // while the clients start and stop holds 8 rows (a batch waiting for a
  // 9th client would wait 2 s per request)
  {
    test::serving::load eight{port, "full", 8, "full"};
    REQUIRE(test::eventually([&] { return eight.done() >= 800; }, 60s));
    eight.stop();
    size_t full = 0;
    for (auto& a : eight.answers()) {
      INFO(a.sent_id << ": " << a.error);
      REQUIRE(a.error.empty());
      CHECK(a.batch_rows >= 1);
      CHECK(a.batch_rows <= 8);
      if (a.batch_rows == 8) ++full;
    }
    CHECK(full >= eight.answers().size() * 9 / 10);
  }

  // one client: each request waits the 50 ms for company, then goes alone
  test::serving::load one{port, "lone", 1, "lone", 10};
  REQUIRE(test::eventually([&] { return one.done() == 10; }, 60s));
  one.stop();
  for (auto& a : one.answers()) {
    INFO(a.sent_id << ": " << a.error);
    REQUIRE(a.error.empty());
    CHECK(a.batch_rows == 1);
    CHECK(a.latency_ms >= 50);
    CHECK(a.latency_ms < 1050);
  }
  serve->signal(SIGINT);
  CHECK(serve->wait(30s) == 0);
}

TEST_CASE("bad requests fail alone with errors naming them: NaN where the "
          "model allows none, an unknown deployment, and overloaded past the "
          "queue bound",
          "[integration][serving]") {
  test::temp_dir dir;
  auto model = test::serving::train_pima(dir.path());
  auto port = test::free_port();
  auto mport = test::free_port();
  // batches of 64 wait 2 s to fill, and a replica queues at most 64
  // rows
  auto serve = test::serving::serve(
      dir.path(), model, "pima", port,
      {"--no-nan", "--metrics-port", std::to_string(mport), "--data-dir",
       dir / "node", "--max-batch", "64", "--max-delay-us", "2000000",
       "--queue-bound", "64"});
  INFO(serve->log());
  auto client = troupe::cluster_client::connect("127.0.0.1", port);
  REQUIRE(client);
  auto cap = (*client)->service("serving");
  REQUIRE(cap);
  auto api = cap->castAs<troupe::schema::Predictor>();
  auto ask = [&](const std::string& deployment, std::vector<float> values) {
    auto req = api.predictRequest();
    auto r = req.initRequest();
    r.setDeployment(deployment);
    r.setRequestId("bad-1");
    auto row = r.initRows(1)[0].initValues(8);
    for (unsigned k = 0; k < 8; ++k)
      row.set(k, values[k]);
    return troupe::rpc_call("predict",
                            [&] { (void)(*client)->wait(req.send()); });
  };
  auto good = test::serving::pima_row(0);

  // while 4 clients keep the replica busy, bad requests fail one by one
  {
    test::serving::load busy{port, "pima", 4, "busy"};
    auto nan = good;
    nan[1] = std::nanf("");
    auto r = ask("pima", nan);
    REQUIRE(!r);
    CHECK_THAT(troupe::describe(r.error()), Catch::Contains("bad-1") &&
                                                Catch::Contains("row 0") &&
                                                Catch::Contains("NaN"));
    auto unknown = ask("nope", good);
    REQUIRE(!unknown);
    CHECK_THAT(troupe::describe(unknown.error()),
               Catch::Contains("no deployment 'nope'"));
    REQUIRE(test::eventually([&] { return busy.done() >= 8; }, 30s));
    busy.stop();
    for (auto& a : busy.answers()) {
      INFO(a.sent_id << ": " << a.error);
      CHECK(a.error.empty());
    }
  }

  // past the bound: 40 rows wait for a batch of 64 (2 s), so 40 more
  // would queue 80 rows against a bound of 64, and are refused at once;
  // once the first 40 are answered, 40 rows are welcome again
  auto rows40 = [&] {
    auto req = api.predictRequest();
    auto r = req.initRequest();
    r.setDeployment("pima");
    auto rows = r.initRows(40);
    for (unsigned i = 0; i < 40; ++i) {
      auto values = test::serving::pima_row(i);
      auto row = rows[i].initValues(8);
      for (unsigned k = 0; k < 8; ++k)
        row.set(k, values[k]);
    }
    return req.send();
  };
  auto first = rows40();
  auto second = rows40();
  CHECK_THROWS_WITH((*client)->wait(kj::mv(second)),
                    Catch::Contains("overloaded") &&
                        Catch::Contains("bound 64") &&
                        Catch::Contains("retry later"));
  CHECK((*client)->wait(kj::mv(first)).getResponse().getPredictions().size() ==
        40);
  CHECK((*client)->wait(rows40()).getResponse().getPredictions().size() == 40);
  auto status = api.deploymentRequest();
  status.setName("pima");
  CHECK((*client)->wait(status.send()).getStatus().getShed() == 1);

  // undeployed: a request fails at once, naming the deployment (whether
  // this connection's thread still knew the stopped router or not)
  CHECK(test::http_get(mport, "/metrics")
            .find("troupe_serving_replicas{deployment=\"pima\"}") !=
        std::string::npos);
  auto un = test::run(cmd({"undeploy", "pima", "--cluster",
                           "127.0.0.1:" + std::to_string(port)}),
                      30s);
  INFO(un.out << un.err);
  REQUIRE(un.code == 0);
  auto gone = ask("pima", good);
  REQUIRE(!gone);
  CHECK_THAT(troupe::describe(gone.error()),
             Catch::Contains("deployment pima is not running") ||
                 Catch::Contains("no deployment 'pima'"));
  // its gauges go with it (its counters stay)
  REQUIRE(test::eventually(
      [&] {
        return test::http_get(mport, "/metrics")
                   .find("troupe_serving_replicas{deployment=\"pima\"}") ==
               std::string::npos;
      },
      10s));
  CHECK(test::http_get(mport, "/metrics")
            .find("troupe_serving_requests_total{deployment=\"pima\"") !=
        std::string::npos);
  auto again = ask("pima", good);
  REQUIRE(!again);
  CHECK_THAT(troupe::describe(again.error()),
             Catch::Contains("no deployment 'pima'"));

  // deployed again, and again after an undeploy: this connection's thread
  // may still know a stopped router, and still gets its answer
  auto endpoint = "127.0.0.1:" + std::to_string(port);
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    if (round > 0)
      REQUIRE(test::run(cmd({"undeploy", "pima", "--cluster", endpoint}), 30s)
                  .code == 0);
    auto dep = test::run(
        cmd({"deploy", "pima", "--model", "pima", "--cluster", endpoint}), 30s);
    INFO(dep.out << dep.err);
    REQUIRE(dep.code == 0);
    auto back = ask("pima", good);
    INFO((back ? std::string{} : troupe::describe(back.error())));
    CHECK(back);
  }
  serve->signal(SIGINT);
  CHECK(serve->wait(30s) == 0);
}

TEST_CASE("troupe serve serves a sparse-lr training job's directory: it "
          "predicts what troupe predict predicts locally, through the job's "
          "hashing",
          "[integration][serving][sparse]") {
  test::temp_dir dir;
  auto data = std::string{TROUPE_SOURCE_DIR} + "/tests/data/spam.csv";
  {
    std::ofstream job{dir / "job.toml"};
    job << "family = \"sparse-lr\"\n[data]\ntrain = \"" << data
        << "\"\ntarget = \"type\"\n[features]\nbits = 20\ncrosses = "
           "[[\"remove\", \"free\"]]\n[run]\nworkers = 2\nshards = 2\n"
           "epochs = 2\n";
  }
  auto trained = test::run(
      cmd({"train", "--config", dir / "job.toml", "--out", dir / "job"}), 120s);
  INFO(trained.out << trained.err);
  REQUIRE(trained.code == 0);

  // locally
  auto local = test::run(cmd({"predict", "--model", dir / "job", "--data", data,
                              "--out", dir / "local.csv"}),
                         60s);
  INFO(local.err);
  REQUIRE(local.code == 0);
  auto preds = troupe::tabular::read_csv(dir / "local.csv");
  REQUIRE(preds);
  REQUIRE(preds->rows() == 4601);
  REQUIRE(preds->columns.size() == 2);
  CHECK(preds->columns[0].name == "prediction");
  CHECK(preds->columns[1].name == "p_spam");
  auto truth = troupe::tabular::read_csv(data);
  REQUIRE(truth);
  auto* y = truth->find("type");
  REQUIRE(y);
  size_t right = 0;
  for (size_t r = 0; r < truth->rows(); ++r)
    right += preds->columns[0].text[r] == y->text[r];
  CHECK(right > 0.9 * truth->rows());

  // served
  auto port = test::free_port();
  auto endpoint = "127.0.0.1:" + std::to_string(port);
  auto serve = test::serving::serve(dir.path(), dir / "job", "spam", port,
                                    {"--data-dir", dir / "node"});
  INFO(serve->log());
  auto remote =
      test::run(cmd({"predict", "--endpoint", endpoint, "--data", data, "--out",
                     dir / "remote.csv", "--batch-rows", "500"}),
                60s);
  INFO(remote.err);
  REQUIRE(remote.code == 0);
  CHECK(test::read_file(dir / "remote.csv") ==
        test::read_file(dir / "local.csv"));
  // the registry shows the job's validation metrics
  auto shown =
      test::run(cmd({"models", "list", "spam", "--cluster", endpoint}), 30s);
  INFO(shown.out << shown.err);
  CHECK(shown.code == 0);
  CHECK(shown.out.find("auc") != std::string::npos);
}
