// The shell's serving commands (`deployments`, `deployment NAME`, `scale
// NAME N|MIN:MAX`) against an in-process cluster that runs model serving
// as `troupe serve` does (the serving service on the head, its Predictor
// served by the gateway), with a small XGBoost model registered and deployed
// through the Predictor RPC interface; and the serving service going on
// with other requests while a registration is staged and checked.

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/serving/convert.hpp"
#include "actors/serving/rpc.hpp"
#include "actors/serving/service.hpp"
#include "actors/serving/shell.hpp"
#include "actors/tabular/dataset.hpp"
#include "runtime/client.hpp"
#include "runtime/node.hpp"
#include "runtime/shell.hpp"
#include "schemas/serving.capnp.h"
#include "tests/support/cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/shell_run.hpp"
#include "tests/unit/serving/models.hpp"

using namespace std::chrono_literals;
using troupe::schema::Predictor;
using words = std::vector<std::string>;
namespace tabular = troupe::tabular;

namespace {

/// A head with model serving (and 2 slots for replicas), a worker with 2
/// more, and a client of the head's gateway.
struct serving_fixture {
  troupe::test::temp_dir dir;
  std::unique_ptr<troupe::local_cluster> cluster;
  std::unique_ptr<troupe::cluster_client> client;

  serving_fixture() {
    auto kinds = [](caf::actor_system_config& cfg) {
      troupe::serving::register_kinds(cfg);
    };
    troupe::test::service_cluster c{
        1,
        2,
        kinds,
        {troupe::serving::service_kind, troupe::serving::service_name, {}},
        dir.path(),
        {troupe::serving::make_rpc_service()}};
    cluster = std::move(c.cluster);
    client = std::move(c.client);
  }

  Predictor::Client api() {
    auto cap = client->service("serving");
    if (!cap) FAIL("service serving: " << troupe::describe(cap.error()));
    return cap->castAs<Predictor>();
  }

  /// A register request for `name` in the xgboost format with `files`
  /// (name, bytes; copied into the request), each with its size and
  /// checksum.
  auto registration(
      const std::string& name,
      const std::vector<std::pair<std::string, std::string_view>>& files) {
    auto req = api().registerRequest();
    auto r = req.initRegistration();
    r.setName(name);
    r.setFormat("xgboost");
    r.setRegisteredBy("test");
    auto out = r.initFiles(static_cast<unsigned>(files.size()));
    for (unsigned i = 0; i < files.size(); ++i) {
      auto bytes = files[i].second;
      out[i].setName(files[i].first);
      out[i].setSize(bytes.size());
      out[i].setChecksum(troupe::serving::checksum(bytes.data(), bytes.size()));
      out[i].setContent(kj::arrayPtr(
          reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
    }
    return req;
  }

  /// Trains a binary XGBoost model (5 rounds) and registers it as `name`
  /// v1 in the xgboost format: the booster file, then spec.json.
  void register_model(const std::string& name) {
    auto a = troupe::test_models::make_model(dir.path(),
                                             tabular::task_kind::binary, 5, 7);
    auto ubj = troupe::test::read_file(a.ubj);
    auto spec = troupe::test::read_file(a.spec);
    auto req = registration(name, {{"model.ubj", ubj}, {"spec.json", spec}});
    try {
      auto v = client->wait(req.send()).getVersion();
      REQUIRE(v.getVersion() == 1);
    } catch (const kj::Exception& e) {
      FAIL("register " << name << ": " << e.getDescription().cStr());
    }
  }

  /// Deploys v1 of `model` as `name` with one replica.
  /// (`edit` changes the spec before it is sent.)
  void
  deploy(const std::string& name, const std::string& model,
         const std::function<void(troupe::schema::DeploymentSpec::Builder)>&
             edit = {}) {
    auto req = api().deployRequest();
    auto spec = req.initSpec();
    spec.setName(name);
    spec.setModel(model);
    spec.setVersion("1");
    spec.setMinReplicas(1);
    spec.setMaxReplicas(1);
    spec.setMaxQueueDelayUs(500);
    if (edit) edit(spec);
    try {
      client->wait(req.send());
    } catch (const kj::Exception& e) {
      FAIL("deploy " << name << ": " << e.getDescription().cStr());
    }
  }

  /// Waits (at most 60 s) until deployment `name` has a ready replica.
  bool wait_ready(const std::string& name) {
    return troupe::test::eventually(
        [&] {
          auto req = api().deploymentRequest();
          req.setName(name);
          try {
            for (auto r : client->wait(req.send()).getStatus().getReplicas())
              if (r.getState() == "ready") return true;
          } catch (const kj::Exception&) {
          }
          return false;
        },
        60s);
  }

  /// Sends one request of `rows` rows (raw cells) to deployment `name`.
  void predict(const std::string& name, unsigned rows) {
    auto req = api().predictRequest();
    auto r = req.initRequest();
    r.setDeployment(name);
    auto cols = r.initColumns(3);
    cols.set(0, "x0");
    cols.set(1, "x1");
    cols.set(2, "color");
    auto out = r.initRows(rows);
    for (unsigned i = 0; i < rows; ++i) {
      auto cells = out[i].initCells(3);
      cells[0].setNumber(0.1 * i);
      cells[1].setNumber(0.5);
      cells[2].setText(i % 2 ? "red" : "blue");
    }
    try {
      auto answer = client->wait(req.send());
      REQUIRE(answer.getResponse().getPredictions().size() == rows);
    } catch (const kj::Exception& e) {
      FAIL("predict " << name << ": " << e.getDescription().cStr());
    }
  }
};

/// A shell on the fixture's client (which it takes) with captured output,
/// which can wait for a deployment's replicas.
struct shell_run : troupe::test::shell_run {
  explicit shell_run(std::unique_ptr<troupe::cluster_client> client)
      : troupe::test::shell_run(std::move(client),
                                {troupe::serving::make_shell_extension()}) {}

  /// Runs `deployment NAME` until its output has `ready` of `wanted`
  /// replicas ready and no others listed (at most 60 s); returns whether it
  /// did, the last output in `out`.
  bool wait_ready(const std::string& name, size_t ready, size_t wanted) {
    auto line = "(want " + std::to_string(wanted) + ", " +
                std::to_string(ready) + " ready)\n";
    auto count = "\n" + std::to_string(ready) + " replicas\n";
    return troupe::test::eventually(
        [&] {
          return run("deployment " + name) &&
                 out.str().find(line) != std::string::npos &&
                 out.str().find(count) != std::string::npos;
        },
        60s);
  }
};

/// The replica lines of `deployment` output: (node, state, served).
std::vector<words> replica_lines(const std::string& text) {
  static const std::regex row{
      R"(\n\S+ +(head|worker-1) +v1 +(\S+) +\d+ +(\d+)(?=\n))"};
  std::vector<words> result;
  for (std::sregex_iterator i{text.begin(), text.end(), row}, end; i != end;
       ++i)
    result.push_back({(*i)[1], (*i)[2], (*i)[3]});
  return result;
}

} // namespace

TEST_CASE("the shell shows a served deployment with the requests it answered",
          "[shell][serving]") {
  serving_fixture f;
  f.register_model("churn");
  f.deploy("churn", "churn");
  REQUIRE(f.wait_ready("churn"));
  for (unsigned i = 1; i <= 4; ++i)
    f.predict("churn", i);
  shell_run s{std::move(f.client)};

  REQUIRE(s.run("deployments"));
  INFO(s.out.str() << s.err.str());
  CHECK_THAT(s.out.str(),
             Catch::StartsWith("NAME   MODEL  VERSIONS  REPLICAS    REQUESTS  "
                               "ERRORS  SHED  RETRIES  QUEUED  P50") &&
                 Catch::EndsWith("\n1 deployments\n"));
  CHECK_THAT(
      s.out.str(),
      Catch::Matches(R"([\s\S]*\nchurn +churn +1=100 +1/1 \(1\.\.1\) +4 )"
                     R"(+0 +0 +0 +0 +[\d.]+(us|ms|s) +[\d.]+(us|ms|s)\n)"
                     R"([\s\S]*)"));

  REQUIRE(s.run("deployment churn"));
  auto text = s.out.str();
  INFO(text);
  CHECK_THAT(text, Catch::StartsWith("deployment        churn\n"
                                     "model             churn\n"
                                     "version           1\n"
                                     "replicas          1:1 (want 1, 1 ready)\n"
                                     "max batch rows    32\n"
                                     "max queue delay   500us\n"));
  CHECK_THAT(text, Catch::Contains("\ntraffic           1=100\n"
                                   "stable version    v1\n"
                                   "previous version  -\n"
                                   "requests          4\n"
                                   "rows              10\n"
                                   "errors            0\n"));
  CHECK_THAT(text, Catch::Matches(R"([\s\S]*\nlatency +p50 [\d.]+(us|ms|s), )"
                                  R"(p99 [\d.]+(us|ms|s)\n[\s\S]*)"));
  auto replicas = replica_lines(text);
  REQUIRE(replicas.size() == 1);
  CHECK(replicas[0][1] == "ready");
  CHECK(replicas[0][2] == "10");
  CHECK(s.err.str().empty());
  CHECK(s.sh->failures() == 0);
}

TEST_CASE("scale in the shell brings a deployment to 2 ready replicas and "
          "back to 1",
          "[shell][serving]") {
  serving_fixture f;
  f.register_model("churn");
  f.deploy("churn", "churn");
  shell_run s{std::move(f.client)};
  REQUIRE(s.wait_ready("churn", 1, 1));

  REQUIRE(s.run("scale churn 2"));
  INFO(s.out.str() << s.err.str());
  CHECK_THAT(s.out.str(), Catch::StartsWith("churn: model churn, replicas "
                                            "2..2, ") &&
                              Catch::EndsWith(" ready, traffic 1=100, 0 "
                                              "requests\n"));
  bool two = s.wait_ready("churn", 2, 2);
  INFO(s.out.str() << s.err.str());
  REQUIRE(two);
  auto replicas = replica_lines(s.out.str());
  REQUIRE(replicas.size() == 2);
  CHECK(replicas[0][1] == "ready");
  CHECK(replicas[1][1] == "ready");

  REQUIRE(s.run("scale churn 1:1"));
  CHECK_THAT(s.out.str(), Catch::StartsWith("churn: model churn, replicas "
                                            "1..1, "));
  bool one = s.wait_ready("churn", 1, 1);
  INFO(s.out.str() << s.err.str());
  REQUIRE(one);
  CHECK(replica_lines(s.out.str()).size() == 1);

  REQUIRE(s.run("deployments"));
  CHECK_THAT(s.out.str(), Catch::Contains(" 1/1 (1..1) "));
  CHECK(s.sh->failures() == 0);
}

TEST_CASE("the shell shows the serving service's errors and completes "
          "deployment names",
          "[shell][serving]") {
  serving_fixture f;
  f.register_model("churn");
  f.deploy("churn", "churn");
  shell_run s{std::move(f.client)};

  CHECK_FALSE(s.run("deployment nope"));
  CHECK(s.out.str().empty());
  CHECK(s.err.str() == "error: serving: no deployment 'nope'; deployed: "
                       "churn\n");
  CHECK_FALSE(s.run("scale nope 2"));
  CHECK(s.err.str() == "error: serving: no deployment 'nope'; deployed: "
                       "churn\n");
  CHECK_FALSE(s.run("scale churn 0"));
  CHECK(s.err.str() == "error: scale: replicas '0': N must be at least 1\n"
                       "usage: scale NAME N|MIN:MAX\n");
  CHECK(s.sh->failures() == 3);

  CHECK(s.sh->completions("deployment ", "") == words{"churn"});
  CHECK(s.sh->completions("nodes; scale ", "ch") == words{"churn"});
  CHECK(s.sh->completions("scale churn ", "").empty());
}

TEST_CASE("the serving service answers other requests while a large "
          "registration is staged and checked",
          "[serving]") {
  serving_fixture f;
  f.register_model("churn");
  // 40 MiB that is no XGBoost model: written, copied, synced and hashed,
  // then refused when it does not load
  std::string junk(size_t{40} << 20, '\0');
  for (size_t i = 0; i < junk.size(); ++i)
    junk[i] = static_cast<char>(i * 131 % 251);
  auto spec = troupe::test::read_file(f.dir / "spec.json");
  auto req = f.registration("junk", {{"model.ubj", junk}, {"spec.json", spec}});
  using clock = std::chrono::steady_clock;
  auto sent = clock::now();
  clock::time_point registered_at, listed_at;
  std::string refusal;
  auto registered =
      req.send().then([&](auto&&) { registered_at = clock::now(); },
                      [&](kj::Exception&& e) {
                        registered_at = clock::now();
                        refusal = e.getDescription().cStr();
                      });
  auto list = f.api().modelsRequest();
  list.setName("");
  std::vector<std::string> names;
  auto listed = list.send().then([&](auto&& resp) {
    listed_at = clock::now();
    for (auto v : resp.getList().getVersions())
      names.push_back(v.getName().cStr() + std::string{" v"} +
                      std::to_string(v.getVersion()));
  });
  f.client->wait(kj::mv(listed));
  f.client->wait(kj::mv(registered));
  // The list was answered well before the registration, not together with
  // it (as when the service stages and checks the files itself); both wait
  // for the 40 MiB to arrive first.
  using ms = std::chrono::duration<double, std::milli>;
  double reg_ms = ms(registered_at - sent).count();
  double list_ms = ms(listed_at - sent).count();
  INFO("registration answered after " << reg_ms << " ms, the list after "
                                      << list_ms << " ms");
  CHECK(list_ms < reg_ms * 0.75);
  CHECK(names == std::vector<std::string>{"churn v1"});
  CHECK_THAT(refusal, Catch::Contains("model 'junk': cannot register") &&
                          Catch::Contains("model.ubj"));

  // refused: nothing of it is stored
  auto again = f.api().modelsRequest();
  again.setName("");
  auto all = f.client->wait(again.send()).getList().getVersions();
  REQUIRE(all.size() == 1);
  CHECK(std::string{all[0].getName().cStr()} == "churn");
}

TEST_CASE("a deployment with a p99 target gets a second replica while its "
          "latency is above the target, and one without stays at one",
          "[serving]") {
  serving_fixture f;
  f.register_model("churn");
  // Each lone request waits 50 ms for its batch to fill: a p99 far above
  // 1 ms, while a row or two in flight never asks for a second replica.
  auto slow = [](uint32_t target_p99_ms) {
    return [=](troupe::schema::DeploymentSpec::Builder s) {
      s.setMaxReplicas(2);
      s.setMaxBatchRows(64);
      s.setMaxQueueDelayUs(50000);
      s.setTargetInFlight(1000);
      s.setUpscaleDelayMs(0);
      s.setTargetP99Ms(target_p99_ms);
    };
  };
  f.deploy("timed", "churn", slow(1));
  f.deploy("untimed", "churn", slow(0));
  REQUIRE(f.wait_ready("timed"));
  REQUIRE(f.wait_ready("untimed"));
  auto desired = [&](const std::string& name) {
    auto req = f.api().deploymentRequest();
    req.setName(name);
    return f.client->wait(req.send()).getStatus().getDesiredReplicas();
  };
  CHECK(desired("timed") == 1);
  // about 4 answers per router tick (250 ms), for at most 10 s
  CHECK(troupe::test::eventually(
      [&] {
        f.predict("timed", 1);
        return desired("timed") == 2;
      },
      10s));
  // the same requests without a target: the latency has no vote
  for (int i = 0; i < 20; ++i)
    f.predict("untimed", 1);
  CHECK(desired("untimed") == 1);
  auto spec = [&](const std::string& name) {
    auto req = f.api().deploymentRequest();
    req.setName(name);
    return f.client->wait(req.send()).getStatus().getSpec().getTargetP99Ms();
  };
  CHECK(spec("timed") == 1);
  CHECK(spec("untimed") == 0);
}
