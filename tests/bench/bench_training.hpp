#pragma once

// What the training benchmarks share: a cluster of real processes on
// loopback (`troupe node --head` and worker nodes, a secret, a gateway
// client that waits until the training service is up), submitting a job
// and waiting for its end, a job's status, and generated HIGGS-shaped data.
// Needs bench_process.hpp's program_name, fail and children.

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/training/wire.hpp"
#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"
#include "tests/bench/bench_process.hpp"

namespace troupe::bench {

/// Starts a benchmark `name`: SIGINT and SIGTERM stop its children, and a
/// scratch directory /tmp/NAME.XXXXXX (returned) is named when it fails.
inline std::string start_bench(const std::string& name) {
  program_name = name;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::string tmpl = "/tmp/" + name + ".XXXXXX";
  if (!mkdtemp(tmpl.data())) fail("cannot make a scratch directory");
  on_failure = [tmpl] { progress("logs in %s", tmpl.c_str()); };
  return tmpl;
}

/// A head of `head_slots` slots in ROOT/head and workers started with
/// start_worker; `client` is connected to its gateway.
struct training_cluster {
  std::string root;
  std::string secret;
  pid_t head = 0;
  uint16_t port = 0;
  std::map<std::string, pid_t> workers;
  std::unique_ptr<cluster_client> client;

  training_cluster(std::string dir, uint32_t head_slots,
                   std::vector<std::string> extra_head_flags = {})
      : root(std::move(dir)), secret(root + "/secret") {
    {
      std::ofstream out{secret};
      out << "bench-secret\n";
    }
    chmod(secret.c_str(), 0600);
    std::vector<std::string> args{TROUPE_BIN,
                                  "node",
                                  "--head",
                                  "--data-dir",
                                  root + "/head",
                                  "--port",
                                  "0",
                                  "--gateway-port",
                                  "0",
                                  "--slots",
                                  std::to_string(head_slots),
                                  "--secret-file",
                                  secret,
                                  "--log-level",
                                  "warn"};
    args.insert(args.end(), extra_head_flags.begin(), extra_head_flags.end());
    head = spawn(args, root + "/head.log");
    uint16_t gateway = 0;
    auto t0 = clock_type::now();
    while (gateway == 0) {
      std::ifstream in{root + "/head/head.json"};
      auto j = nlohmann::json::parse(in, nullptr, false);
      if (!j.is_discarded() && j.contains("gateway_port")) {
        port = j["port"].get<uint16_t>();
        gateway = j["gateway_port"].get<uint16_t>();
      }
      if (!alive(head)) fail("the head exited at start (see head.log)");
      if (seconds_since(t0) > 60) fail("the head did not start in 60 s");
      usleep(50000);
    }
    auto c = cluster_client::connect("127.0.0.1", gateway);
    if (!c) fail(describe(c.error()));
    client = std::move(*c);
    client->set_timeout(std::chrono::seconds{60});
  }

  /// Starts (or restarts) worker node `name` with `slots` slots.
  void start_worker(const std::string& name, uint32_t slots) {
    workers[name] = spawn(
        {TROUPE_BIN, "node", "--join", "127.0.0.1:" + std::to_string(port),
         "--name", name, "--slots", std::to_string(slots), "--secret-file",
         secret, "--data-dir", root + "/" + name, "--log-level", "warn"},
        root + "/" + name + ".log");
  }

  /// Waits until `n` nodes have joined and the training service is up.
  void wait_nodes(size_t n) {
    auto t = clock_type::now();
    for (;;) {
      auto ns = client->nodes();
      auto as = client->actors();
      bool service = false;
      if (as)
        for (auto& a : *as)
          service = service || a.name == "training";
      if (ns && ns->size() == n && service) return;
      if (seconds_since(t) > 30) fail("the cluster did not form in 30 s");
      usleep(50000);
    }
  }

  training::job_view status(const std::string& id) {
    auto ref = make_envelope<schema::JobRef>([&](auto r) { r.setId(id); });
    auto r = client->send("training", ref, "status");
    if (!r) fail("status of " + id + ": " + describe(r.error()));
    auto v = training::job_view_of(*r);
    if (!v) fail("not a JobStatus: " + describe(v.error()));
    return *v;
  }

  void submit(const std::string& id, const std::string& toml) {
    auto s = make_envelope<schema::JobSubmit>([&](auto x) {
      x.setId(id);
      x.setConfig(toml);
      x.setOrigin("job.toml");
    });
    auto first = client->send("training", s, "submit");
    if (!first) fail("submit: " + describe(first.error()));
  }

  /// Submits a job, waits for its end (at most `limit_s`) and returns its
  /// finished status; fails the benchmark otherwise.
  training::job_view run(const std::string& id, const std::string& toml,
                         double limit_s) {
    submit(id, toml);
    training::job_view v;
    auto t = clock_type::now();
    do {
      usleep(100000);
      v = status(id);
      if (seconds_since(t) > limit_s)
        fail(id + " did not finish in " + std::to_string(limit_s) + " s");
    } while (!v.ended());
    if (v.state != "finished") fail(id + " " + v.state + ": " + v.message);
    return v;
  }

  /// Shuts the cluster down and stops its processes.
  void stop() {
    (void)client->shutdown();
    stop_child(head, 20);
    for (auto& [name, pid] : workers)
      stop_child(pid, 20);
  }
};

/// Nodes a job's placement ("actor@node" each) spans.
inline size_t nodes_of(const training::job_view& v) {
  std::map<std::string, int> nodes;
  for (auto& p : v.placement)
    ++nodes[p.substr(p.find('@') + 1)];
  return nodes.size();
}

/// `rows` rows of 28 standard normal columns "f0".."f27" and a binary
/// "label" from a planted logistic model with pairwise interactions (seed
/// 7): the shape of the HIGGS benchmark.
inline void write_higgs_like(const std::string& path, size_t rows) {
  std::mt19937_64 rng{7};
  std::normal_distribution<double> normal{0, 1};
  constexpr int cols = 28;
  std::vector<double> w(cols), v(cols);
  for (auto& x : w)
    x = normal(rng);
  std::ofstream out{path};
  for (int c = 0; c < cols; ++c)
    out << "f" << c << ',';
  out << "label\n";
  std::uniform_real_distribution<double> unit{0, 1};
  char buf[32];
  for (size_t r = 0; r < rows; ++r) {
    double z = 0;
    for (int c = 0; c < cols; ++c) {
      v[c] = normal(rng);
      z += 0.3 * w[c] * v[c];
    }
    z += 0.8 * v[0] * v[1] - 0.6 * v[2] * v[3] + 0.5 * std::abs(v[4]);
    for (int c = 0; c < cols; ++c) {
      std::snprintf(buf, sizeof buf, "%.5g,", v[c]);
      out << buf;
    }
    out << (unit(rng) < 1 / (1 + std::exp(-z)) ? 1 : 0) << '\n';
  }
}

} // namespace troupe::bench
