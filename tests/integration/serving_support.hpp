#pragma once

// What the serving tests share: the troupe command line, a model of pima
// saved by `troupe automl`, closed-loop load over the Predictor RPC, and a
// deployment's status read over it.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "schemas/serving.capnp.h"
#include "tests/support/process.hpp"

namespace troupe::test::serving {

inline std::vector<std::string> cmd(std::vector<std::string> args) {
  args.insert(args.begin(), troupe_bin());
  return args;
}

/// A model of pima saved by troupe automl under `dir`; returns its directory.
inline std::string train_pima(const std::filesystem::path& dir) {
  using namespace std::chrono_literals;
  auto r =
      run(cmd({"automl", "--data",
               std::string{TROUPE_SOURCE_DIR} + "/tests/data/pima_diabetes.csv",
               "--target", "diabetes", "--families", "xgboost", "--trials", "2",
               "--max-rounds", "8", "--min-rounds", "4", "--slots", "1",
               "--out", (dir / "runs").string(), "--quiet"}),
          120s);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  for (auto& e : std::filesystem::recursive_directory_iterator(dir / "runs"))
    if (e.path().filename() == "model.json")
      return e.path().parent_path().string();
  FAIL("automl saved no model");
  return {};
}

/// `troupe serve --model MODEL --name NAME --port PORT ARGS...` logging to
/// dir/serve.log, once it says it serves NAME (at most 60 s).
inline std::unique_ptr<process> serve(const std::filesystem::path& dir,
                                      const std::string& model,
                                      const std::string& name, uint16_t port,
                                      std::vector<std::string> args) {
  using namespace std::chrono_literals;
  std::vector<std::string> argv{
      "serve",  "--model",           model, "--name", name,
      "--port", std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = std::make_unique<process>(cmd(argv), (dir / "serve.log").string());
  auto ready = "deployment " + name + " on";
  REQUIRE(eventually([&] { return p->log().find(ready) != std::string::npos; },
                     60s));
  return p;
}

/// pima's 8 encoded features for row number `i` of a load generator: 16
/// distinct rows, so that equal rows can be compared across replicas.
inline std::vector<float> pima_row(uint64_t i) {
  std::vector<float> row(8);
  for (unsigned k = 0; k < 8; ++k)
    row[k] = static_cast<float>(k * 3 + i % 16);
  return row;
}

/// One answered (or failed) request of a load generator.
struct answer {
  std::string sent_id;
  std::string answered_id;
  uint64_t row = 0;
  float score = 0;
  std::string replica;
  uint32_t batch_rows = 0;
  double latency_ms = 0;
  std::string error;
};

/// `clients` threads, each with its own connection, each sending one-row
/// requests to `deployment` one at a time (closed loop) with request ids
/// "PREFIX-CLIENT-I", until stop() or `max_requests` per client.
class load {
public:
  load(uint16_t port, std::string deployment, size_t clients,
       std::string prefix = "r", size_t max_requests = 1'000'000)
      : port_(port), deployment_(std::move(deployment)),
        prefix_(std::move(prefix)), max_requests_(max_requests) {
    for (size_t c = 0; c < clients; ++c)
      threads_.emplace_back([this, c] { client(c); });
  }

  ~load() { stop(); }

  /// Stops sending and waits for the answers outstanding.
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  /// Requests answered (or failed) so far.
  size_t done() const { return done_; }

  /// Every answer, once stopped.
  const std::vector<answer>& answers() const { return answers_; }

private:
  void client(size_t c) {
    using namespace std::chrono_literals;
    auto conn = cluster_client::connect("127.0.0.1", port_, 5s);
    if (!conn) {
      record({prefix_ + "-" + std::to_string(c),
              {},
              0,
              0,
              {},
              0,
              0,
              "connect: " + describe(conn.error())});
      return;
    }
    auto cap = (*conn)->service("serving");
    if (!cap) {
      record({prefix_ + "-" + std::to_string(c),
              {},
              0,
              0,
              {},
              0,
              0,
              "service: " + describe(cap.error())});
      return;
    }
    auto api = cap->castAs<schema::Predictor>();
    for (uint64_t i = 0; !stop_ && i < max_requests_; ++i) {
      answer a;
      a.sent_id = prefix_ + "-" + std::to_string(c) + "-" + std::to_string(i);
      a.row = i + c;
      auto req = api.predictRequest();
      auto r = req.initRequest();
      r.setDeployment(deployment_);
      r.setRequestId(a.sent_id);
      auto values = pima_row(a.row);
      auto row = r.initRows(1)[0].initValues(8);
      for (unsigned k = 0; k < 8; ++k)
        row.set(k, values[k]);
      auto start = std::chrono::steady_clock::now();
      auto out = rpc_call("predict", [&] {
        auto got = (*conn)->wait(req.send());
        auto resp = got.getResponse();
        a.answered_id = resp.getRequestId().cStr();
        a.replica = resp.getReplica().cStr();
        a.batch_rows = resp.getBatchRows();
        if (resp.getPredictions().size() != 1)
          a.error = "answered " + std::to_string(resp.getPredictions().size()) +
                    " rows";
        else
          a.score = resp.getPredictions()[0].getScores()[0];
      });
      a.latency_ms = std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - start)
                         .count();
      if (!out) a.error = describe(out.error());
      record(std::move(a));
    }
  }

  void record(answer a) {
    std::lock_guard<std::mutex> guard{mtx_};
    answers_.push_back(std::move(a));
    ++done_;
  }

  uint16_t port_;
  std::string deployment_;
  std::string prefix_;
  size_t max_requests_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> done_{0};
  std::mutex mtx_;
  std::vector<answer> answers_;
  std::vector<std::thread> threads_;
};

/// A deployment's status over a fresh connection, or an error.
struct status_view {
  uint32_t desired = 0;
  uint32_t ready = 0;
  uint32_t replicas = 0; ///< in any state
  uint64_t requests = 0, errors = 0, shed = 0, retries = 0;
  std::vector<std::string> ready_nodes;
};

inline caf::expected<status_view> status(uint16_t port,
                                         const std::string& deployment) {
  using namespace std::chrono_literals;
  auto conn = cluster_client::connect("127.0.0.1", port, 5s);
  if (!conn) return conn.error();
  auto cap = (*conn)->service("serving");
  if (!cap) return cap.error();
  auto api = cap->castAs<schema::Predictor>();
  return rpc_call("deployment", [&] {
    auto req = api.deploymentRequest();
    req.setName(deployment);
    auto s = (*conn)->wait(req.send()).getStatus();
    status_view v;
    v.desired = s.getDesiredReplicas();
    for (auto r : s.getReplicas()) {
      ++v.replicas;
      if (std::string{r.getState().cStr()} == "ready") {
        ++v.ready;
        v.ready_nodes.push_back(r.getNode().cStr());
      }
    }
    v.requests = s.getRequests();
    v.errors = s.getErrors();
    v.shed = s.getShed();
    v.retries = s.getRetries();
    return v;
  });
}

} // namespace troupe::test::serving
