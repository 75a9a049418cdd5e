// bench-timeout: 600
//
// AutoML overhead, troupe against Optuna 3.1 in the same run:
//   noop   2,000 no-op trials (the synthetic quadratic family, one step, no
//          sleep), random sampler, LMDB journal on, embedded cluster with 2
//          slots; against Optuna's in-memory study with RandomSampler.
//          Trials per second. Goal: troupe >= 2,000/s.
//   sleep  1,000 trials that each sleep 0.2 s on 2 slots: overhead over the
//          ideal 100 s, in %. Optuna runs the same with n_jobs=2. Goal:
//          troupe <= 1 % (Ray Tune publishes 14.4 %).
// Both tools start timing when the study is created and stop when its last
// trial has ended.
//
//   bench_automl_overhead [--noop-trials N] [--sleep-trials N] [--sleep-ms MS]

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/automl/cli.hpp"
#include "actors/automl/service.hpp"
#include "bench_common.hpp"
#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "schemas/automl.capnp.h"

using namespace troupe;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "bench_automl_overhead: %s\n", msg.c_str());
  std::exit(1);
}

struct troupe_result {
  double seconds = 0; ///< submit to the last trial's end, by the client
  uint64_t complete = 0;
  uint64_t total = 0;
};

/// Runs one quadratic study on an embedded cluster of `slots` slots.
troupe_result run_troupe(uint64_t trials, double sleep_ms, uint32_t slots) {
  char tmpl[] = "/tmp/bench_automl.XXXXXX";
  if (!mkdtemp(tmpl)) fail("mkdtemp failed");
  std::string dir = tmpl;
  troupe_result out;
  {
    auto cluster = local_cluster::start(
        0, slots, automl::register_kinds, {},
        {{automl::service_kind, automl::service_name, {}}}, dir);
    if (!cluster) fail(describe(cluster.error()));
    auto client =
        cluster_client::connect("127.0.0.1", (*cluster)->gateway_port());
    if (!client) fail(describe(client.error()));
    automl::study_spec spec;
    spec.id = "overhead";
    spec.family = "quadratic";
    spec.metric = "value";
    spec.sampler = "random";
    spec.scheduler = "none";
    spec.max_trials = trials;
    spec.max_resource = 1;
    spec.min_resource = 1;
    spec.every = 1;
    spec.sleep_ms = sleep_ms;
    auto sub = automl::submit_envelope(spec, 1);
    if (!sub) fail(describe(sub.error()));
    auto t0 = std::chrono::steady_clock::now();
    auto r = (*client)->send(automl::service_name, *sub, "submit");
    if (!r) fail(describe(r.error()));
    auto ref = automl::ref_envelope(spec.id);
    for (;;) {
      auto s = (*client)->send(automl::service_name, ref, "status");
      if (!s) fail(describe(s.error()));
      std::string state;
      (void)s->visit<schema::StudyStatus>([&](auto x) {
        state = x.getState();
        out.complete = x.getDone();
        out.total = x.getTotalTrials();
      });
      // The study ends its trials before it refits: "refitting" or later.
      if (state != "running" && state != "stopping") break;
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    out.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
  }
  std::filesystem::remove_all(dir);
  if (out.complete != trials)
    fail("troupe completed " + std::to_string(out.complete) + " of " +
         std::to_string(trials) + " trials");
  return out;
}

json run_optuna(uint64_t trials, double sleep_s, int jobs) {
  std::string cmd = "/usr/bin/python3 '" TROUPE_SOURCE_DIR
                    "/tests/bench/peers/optuna_overhead.py' --sampler random "
                    "--trials " +
                    std::to_string(trials) + " --jobs " + std::to_string(jobs);
  if (sleep_s > 0) cmd += " --sleep-s " + std::to_string(sleep_s);
  auto [status, text] = bench::run_capture(cmd);
  if (status != 0) fail("the Optuna peer failed: " + cmd);
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.contains("elapsed_s"))
    fail("the Optuna peer printed no result: " + text);
  return j;
}

} // namespace

int main(int argc, char** argv) {
  log::init("bench", "error");
  auto noop_trials = bench::arg_or(argc, argv, "--noop-trials", 2000);
  auto sleep_trials = bench::arg_or(argc, argv, "--sleep-trials", 1000);
  auto sleep_ms = bench::arg_or(argc, argv, "--sleep-ms", 200);

  // No-op trials: throughput.
  (void)run_troupe(200, 0, 2); // warm-up
  auto t_noop = run_troupe(noop_trials, 0, 2);
  auto o_noop = run_optuna(noop_trials, 0, 1);
  double t_rate = static_cast<double>(noop_trials) / t_noop.seconds;
  double o_rate = o_noop["trials_per_s"].get<double>();
  std::printf("bench_automl_overhead: %llu no-op trials, journal on, 2 slots: "
              "troupe %.0f trials/s vs optuna (in-memory) %.0f trials/s = "
              "%.2fx (goal >= 2000/s: %s)\n",
              static_cast<unsigned long long>(noop_trials), t_rate, o_rate,
              t_rate / o_rate, t_rate >= 2000 ? "met" : "not met");

  // Sleeping trials: overhead over the ideal.
  double ideal = static_cast<double>(sleep_trials) *
                 static_cast<double>(sleep_ms) / 1000.0 / 2.0;
  auto t_sleep = run_troupe(sleep_trials, static_cast<double>(sleep_ms), 2);
  auto o_sleep =
      run_optuna(sleep_trials, static_cast<double>(sleep_ms) / 1000.0, 2);
  double t_over = (t_sleep.seconds / ideal - 1) * 100;
  double o_over = (o_sleep["elapsed_s"].get<double>() / ideal - 1) * 100;
  std::printf("bench_automl_overhead: %llu trials of %llu ms on 2 slots "
              "(ideal %.1f s): troupe %.2f s = %.2f %% overhead vs optuna "
              "n_jobs=2 %.2f s = %.2f %% (goal <= 1 %%: %s; Ray Tune "
              "publishes 14.4 %%)\n",
              static_cast<unsigned long long>(sleep_trials),
              static_cast<unsigned long long>(sleep_ms), ideal, t_sleep.seconds,
              t_over, o_sleep["elapsed_s"].get<double>(), o_over,
              t_over <= 1 ? "met" : "not met");

  json j;
  j["bench"] = "bench_automl_overhead";
  j["noop"] = {
      {"trials", noop_trials},         {"troupe_s", t_noop.seconds},
      {"troupe_trials_per_s", t_rate}, {"optuna_s", o_noop["elapsed_s"]},
      {"optuna_trials_per_s", o_rate}, {"ratio", t_rate / o_rate},
      {"goal_trials_per_s", 2000},     {"goal_met", t_rate >= 2000}};
  j["sleep"] = {{"trials", sleep_trials},
                {"sleep_ms", sleep_ms},
                {"slots", 2},
                {"ideal_s", ideal},
                {"troupe_s", t_sleep.seconds},
                {"troupe_overhead_pct", t_over},
                {"optuna_s", o_sleep["elapsed_s"]},
                {"optuna_overhead_pct", o_over},
                {"goal_overhead_pct", 1},
                {"goal_met", t_over <= 1}};
  j["journal"] = "LMDB, no fsync per commit (survives kill -9)";
  j["optuna_version"] = o_noop.value("optuna_version", "3.1");
  j["nproc"] = bench::nproc();
  j["cpu"] = bench::cpu_model();
  j["date"] = bench::utc_now();
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
