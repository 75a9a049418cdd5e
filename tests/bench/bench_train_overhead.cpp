// bench_train_overhead: what troupe costs a running training job (issue
// 18's coordination overhead goal: a 2-worker job of 100 ms steps against
// the same steps with no troupe in between, <= 1%).
//
// The steps: rounds of data-parallel XGBoost on --rows generated rows (28
// standard normal columns, a binary label from a planted logistic model
// with interactions, seed 7; 800,000 rows make rounds of about 100 ms on
// this machine's two workers), depth 6, eta 0.1, one thread per worker.
//
// troupe: a cluster of real processes on loopback, `troupe node --head`
// (1 slot) and a worker node (1 slot); the job's two workers take one slot
// each. Bare: the same two workers' parts (the job's own training split,
// the same blocks of rows) trained by this process and a second one (this
// program again), through troupe's rabit tracker: two processes, as the
// job's workers are, but no actor and no cluster. Both are timed the same
// way: from the end of the first round to the end of the last, over the
// rounds between (troupe: the first worker's per-round reports as the
// coordinator receives them, summary.json's round_seconds; bare: the first
// worker's after-round callback). The whole job's time (placement to
// model, with shipping the rows and joining the collective) is printed
// beside it; the bare side has none to compare (its second process reads
// the data itself).
// Runs alternate; medians and the spread are reported.
//
//   bench_train_overhead [--repeats 5] [--rounds 30] [--rows 800000]
// bench-timeout: 1800

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/models/trainable.hpp"
#include "actors/models/xgb_data.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/tabular/dataset.hpp"
#include "actors/training/rabit_tracker.hpp"
#include "actors/training/wire.hpp"
#include "actors/training/xgb_parallel.hpp"
#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_process.hpp"
#include "tests/bench/bench_training.hpp"

using namespace troupe;
using namespace troupe::bench;
namespace fs = std::filesystem;

namespace {

/// The job's two parts, as its coordinator deals them.
struct bare_parts {
  std::vector<tabular::matrix> rows;
  training::xgb_part part;
};

bare_parts parts_of(const std::string& csv) {
  auto table = tabular::read_csv(csv);
  if (!table) fail(describe(table.error()));
  auto data = tabular::make_dataset(*table, "label");
  if (!data) fail(describe(data.error()));
  auto split = tabular::train_test_split(data->X.labels, data->task, 0, 0.2);
  if (!split) fail(describe(split.error()));
  auto train = tabular::take_rows(data->X, split->train);
  bare_parts out;
  for (size_t w = 0; w < 2; ++w) {
    auto [b, e] = training::block_of(train.rows, w, 2);
    std::vector<size_t> which;
    for (auto i = b; i < e; ++i)
      which.push_back(i);
    out.rows.push_back(tabular::take_rows(train, which));
  }
  auto params =
      models::xgboost_params({{"eta", 0.1}, {"max_depth", int64_t{6}}},
                             data->task, data->classes.size(), 1, 0);
  if (!params) fail(describe(params.error()));
  out.part.params = *params;
  out.part.types = models::xgboost_feature_types(data->prep);
  return out;
}

struct timing {
  double round_s = 0; ///< per round, after the first
  double whole_s = 0; ///< the whole job (troupe only)
};

/// Worker 1 of a bare run, in a process of its own (this program again,
/// with --bare-worker CSV PORT ROUNDS): exits 0 when it trained.
int bare_worker(const std::string& csv, int port, uint32_t rounds) {
  auto p = parts_of(csv);
  auto part = p.part;
  part.tracker_host = "127.0.0.1";
  part.tracker_port = port;
  part.world = 2;
  part.task = "worker-1";
  part.rounds = rounds;
  auto out = training::train_part(part, p.rows[1]);
  if (!out)
    std::fprintf(stderr, "bare worker: %s\n", describe(out.error()).c_str());
  return out ? 0 : 3;
}

/// The two parts with no troupe in between: worker 0 in this process,
/// worker 1 in another, through a rabit tracker in this one.
timing bare_run(const bare_parts& p, const std::string& csv, uint32_t rounds,
                const std::string& log) {
  auto tracker = training::rabit_tracker::start("127.0.0.1", 2);
  if (!tracker) fail(describe(tracker.error()));
  auto child =
      spawn({self_exe(), "--bare-worker", csv,
             std::to_string((*tracker)->port()), std::to_string(rounds)},
            log);
  clock_type::time_point first, last;
  auto part = p.part;
  part.tracker_host = "127.0.0.1";
  part.tracker_port = (*tracker)->port();
  part.world = 2;
  part.task = "worker-0";
  part.rounds = rounds;
  part.after_round = [&](uint32_t r, const xgb::booster&) {
    auto now = clock_type::now();
    if (r == 1) first = now;
    last = now;
    return true;
  };
  auto out = training::train_part(part, p.rows[0]);
  if (!out) fail("bare run: " + describe(out.error()));
  // the other worker ends with this one: wait for it, do not stop it
  int st = 0;
  for (auto w = clock_type::now(); waitpid(child, &st, WNOHANG) == 0;) {
    if (seconds_since(w) > 60) fail("the bare worker did not end in 60 s");
    usleep(10000);
  }
  for (auto& slot : children)
    if (slot == child) slot = 0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail("the bare worker failed (see " + log + ")");
  timing t;
  t.round_s =
      std::chrono::duration<double>(last - first).count() / (rounds - 1);
  return t;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string{argv[1]} == "--bare-worker")
    return bare_worker(argv[2], std::stoi(argv[3]),
                       static_cast<uint32_t>(std::stoul(argv[4])));
  auto root = start_bench("bench_train_overhead");
  int repeats = std::stoi(arg_text(argc, argv, "--repeats", "5"));
  auto rounds =
      static_cast<uint32_t>(std::stoul(arg_text(argc, argv, "--rounds", "30")));
  auto rows = std::stoul(arg_text(argc, argv, "--rows", "800000"));
  auto csv = root + "/generated.csv";
  progress("writing %lu generated rows", rows);
  write_higgs_like(csv, rows);
  auto bare = parts_of(csv);
  training_cluster cluster{root, 1};
  cluster.start_worker("w1", 1);
  cluster.wait_nodes(2);

  int job = 0;
  auto troupe_run = [&]() {
    auto id = "job-" + std::to_string(job++);
    auto toml =
        "family = \"xgboost\"\n[data]\ntrain = \"" + csv +
        "\"\ntarget = \"label\"\n[model]\nrounds = " + std::to_string(rounds) +
        "\neta = 0.1\nmax_depth = 6\n[run]\nworkers = 2\nthreads = "
        "1\ncheckpoint_seconds = 0\n";
    auto v = cluster.run(id, toml, 900);
    auto s = nlohmann::json::parse(v.summary);
    if (!s["round_seconds"].is_number()) fail(id + ": no round_seconds");
    return timing{s["round_seconds"].get<double>(),
                  s["train_seconds"].get<double>()};
  };

  std::vector<double> t_round, b_round, t_whole, over;
  for (int r = 0; r < repeats; ++r) {
    timing a, b;
    if (r % 2 == 0) {
      a = troupe_run();
      b = bare_run(bare, csv, rounds, root + "/bare.log");
    } else {
      b = bare_run(bare, csv, rounds, root + "/bare.log");
      a = troupe_run();
    }
    t_round.push_back(a.round_s);
    b_round.push_back(b.round_s);
    t_whole.push_back(a.whole_s);
    over.push_back(100 * (a.round_s / b.round_s - 1));
    progress("repeat %d: a round %.1f ms in troupe, %.1f ms bare (%+.2f%%); "
             "the whole job %.2f s",
             r + 1, 1000 * a.round_s, 1000 * b.round_s, over.back(), a.whole_s);
  }
  auto overhead = median(over);
  auto [lo, hi] = std::minmax_element(over.begin(), over.end());
  bool met = overhead <= 1.0;
  std::printf("bench_train_overhead: a round of a 2-worker job: troupe %.1f "
              "ms, bare %.1f ms (medians); overhead %+.2f%% (spread %+.2f%% "
              "to %+.2f%%; goal <= 1%%: %s); the whole job %.2f s (with "
              "shipping the rows to the workers)\n",
              1000 * median(t_round), 1000 * median(b_round), overhead, *lo,
              *hi, met ? "met" : "not met", median(t_whole));
  nlohmann::json out{{"bench", "bench_train_overhead"},
                     {"rounds", rounds},
                     {"rows", rows},
                     {"troupe_round_s", t_round},
                     {"bare_round_s", b_round},
                     {"troupe_whole_s", t_whole},
                     {"overhead_percent", over},
                     {"median_overhead_percent", overhead},
                     {"goal_met", met}};
  out["nproc"] = nproc();
  out["cpu"] = cpu_model();
  out["date"] = utc_now();
  std::printf("%s\n", out.dump().c_str());
  cluster.stop();
  fs::remove_all(root);
  return 0;
}
