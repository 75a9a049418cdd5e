// bench-timeout: 1500
//
// AutoML quality: `troupe automl` against Optuna 3.1 TPE tuning XGBoost, at
// the same wall-clock budget (60 s, 2 cores), on each dataset of tests/data
// with a fixed, seeded, stratified 75/25 split written to two CSV files both
// tools read. troupe runs as a user runs it (the `troupe` binary, 2 slots of
// 1 thread, TPE + ASHA, 3-fold CV). The peer (--peer):
//   user    (default) the plain Optuna script over the space XGBoost users
//           write: eta, depth, child weight, sampling, L1/L2 and 20-600
//           rounds as a parameter, native categorical splits, 3-fold CV, 2
//           trials at once of 1 thread each, no pruner;
//   cash    Optuna over a CASH space: XGBoost, random forest, extra trees,
//           k-NN and a linear model, with their imputation, encoding and
//           scaling, 2 trials at once of 1 thread each;
//   troupe  Optuna over troupe's own space and fidelity (243 rounds, reports
//           every 9 to a MedianPruner), 1 trial of 2 threads.
// Reported per dataset: each tool's CV and test score side by side, the
// test gap in percent, trials, and the time troupe needed to reach Optuna's
// final CV score (from its journal).
//
//   bench_automl_quality [--budget-s 60] [--seed 0] [--only NAME]
//                        [--peer user|cash|troupe]

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/automl/journal.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/tabular/dataset.hpp"
#include "bench_common.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "bench_automl_quality: %s\n", msg.c_str());
  std::exit(1);
}

struct dataset_case {
  std::string file;
  std::string target;
  std::string metric;
};

const std::vector<dataset_case> cases{
    {"spam.csv", "type", "auc"},
    {"ticdata.csv", "CARAVAN", "auc"},
    {"shuttle.csv", "Class", "logloss"},
    {"pima_diabetes.csv", "diabetes", "auc"},
    {"boston_housing.csv", "cmedv", "rmse"},
};

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

/// Splits the CSV's data lines 75/25 (stratified, seeded, as troupe's
/// train_test_split) into train.csv and test.csv under `dir`.
std::string split_files(const std::string& path, const std::string& target,
                        uint64_t seed, const std::string& dir) {
  auto t = tabular::read_csv(path);
  if (!t) fail(describe(t.error()));
  auto d = tabular::make_dataset(*t, target);
  if (!d) fail(describe(d.error()));
  std::ifstream in{path};
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  if (lines.size() != d->X.rows + 1)
    fail(path + ": " + std::to_string(lines.size() - 1) + " lines but " +
         std::to_string(d->X.rows) + " labeled rows (quoted newlines or " +
         "missing targets are not split by lines)");
  auto split = tabular::train_test_split(d->X.labels, d->task, seed, 0.25);
  if (!split) fail(describe(split.error()));
  auto write = [&](const std::string& name, const std::vector<size_t>& rows) {
    std::ofstream out{dir + "/" + name};
    out << lines[0] << '\n';
    for (auto r : rows)
      out << lines[r + 1] << '\n';
  };
  write("train.csv", split->train);
  write("test.csv", split->test);
  return tabular::to_string(d->task);
}

/// Seconds from the study's first event to each completed trial, with the
/// best CV score so far.
std::vector<std::pair<double, double>> troupe_trace(const std::string& journal,
                                                    const std::string& study,
                                                    bool maximize) {
  auto j = automl::study_journal::open(journal, false);
  if (!j) fail(describe(j.error()));
  auto events = (*j)->events(study);
  if (!events) fail(describe(events.error()));
  std::vector<std::pair<double, double>> out;
  if (events->empty()) return out;
  auto t0 = events->front().at_ms;
  double best = maximize ? -INFINITY : INFINITY;
  for (auto& ev : *events) {
    if (ev.kind != automl::event_kind::completed) continue;
    if (maximize ? ev.value > best : ev.value < best) {
      best = ev.value;
      out.emplace_back(static_cast<double>(ev.at_ms - t0) / 1000.0, best);
    }
  }
  return out;
}

double number(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

} // namespace

int main(int argc, char** argv) {
  auto budget = bench::arg_or(argc, argv, "--budget-s", 60);
  auto seed = bench::arg_or(argc, argv, "--seed", 0);
  std::string only;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string{argv[i]} == "--only") only = argv[i + 1];
  std::string peer = "user";
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string{argv[i]} == "--peer") peer = argv[i + 1];
  if (peer != "user" && peer != "troupe" && peer != "cash")
    fail("--peer is user, cash or troupe");
  auto peer_args =
      peer == "user"   ? std::string{" --space user --jobs 2 --threads 1"}
      : peer == "cash" ? std::string{" --space cash --jobs 2 --threads 1"}
                       : std::string{" --space troupe --threads 2 --every 9"};
  std::string data_dir = TROUPE_SOURCE_DIR "/tests/data";
  json results = json::array();
  size_t wins = 0, compared = 0, within = 0;
  for (auto& c : cases) {
    if (!only.empty() && c.file.find(only) == std::string::npos) continue;
    char tmpl[] = "/tmp/bench_quality.XXXXXX";
    if (!mkdtemp(tmpl)) fail("mkdtemp failed");
    std::string dir = tmpl;
    auto task = split_files(data_dir + "/" + c.file, c.target, seed, dir);
    bool maximize = c.metric == "auc";
    // troupe, as a user runs it.
    auto cmd =
        quote(TROUPE_BIN) + " automl --data " + quote(dir + "/train.csv") +
        " --test " + quote(dir + "/test.csv") + " --target " + c.target +
        " --metric " + c.metric + " --budget " + std::to_string(budget) +
        "s --slots 2 --threads 1 --folds 3 --seed " + std::to_string(seed) +
        " --out " + quote(dir + "/runs") + " --study q --quiet 2>&1";
    auto [tcode, tout] = bench::run_capture(cmd);
    if (tcode != 0) fail("troupe failed on " + c.file + ":\n" + tout);
    std::ifstream sin{dir + "/runs/q/summary.json"};
    auto summary = json::parse(sin, nullptr, false);
    if (summary.is_discarded()) fail("no troupe summary for " + c.file);
    double t_cv =
        summary["best"].is_object() ? number(summary["best"], "cv_score") : NAN;
    double t_test = number(summary, "test_score");
    auto trace = troupe_trace(dir + "/runs/journal", "q", maximize);
    // Optuna, on the same files.
    auto pcmd =
        std::string{"/usr/bin/python3 "} +
        quote(TROUPE_SOURCE_DIR "/tests/bench/peers/optuna_quality.py") +
        " --train " + quote(dir + "/train.csv") + " --test " +
        quote(dir + "/test.csv") + " --target " + c.target + " --task " + task +
        " --metric " + c.metric + " --budget-s " + std::to_string(budget) +
        " --seed " + std::to_string(seed) + " --folds 3" + peer_args;
    auto [ocode, oout] = bench::run_capture(pcmd);
    if (ocode != 0) fail("optuna failed on " + c.file + ":\n" + oout);
    auto o = json::parse(oout, nullptr, false);
    if (o.is_discarded()) fail("optuna printed no JSON for " + c.file);
    double o_cv = number(o, "cv_score");
    double o_test = number(o, "test_score");
    // When did troupe first reach Optuna's final CV score?
    double reach = NAN;
    for (auto& [t, v] : trace)
      if (std::isfinite(o_cv) && (maximize ? v >= o_cv : v <= o_cv)) {
        reach = t;
        break;
      }
    // Optuna may finish no trial within the budget (slow dart trials on
    // large data): then it has no model, and troupe's score stands alone.
    bool better = !std::isfinite(o_test) ||
                  (maximize ? t_test >= o_test : t_test <= o_test);
    // How far troupe's test score is behind (negative) or ahead, in % of
    // the peer's (goal: never more than 0.5% behind).
    double gap = NAN;
    if (std::isfinite(t_test) && std::isfinite(o_test) && o_test != 0)
      gap = 100.0 * (maximize ? t_test - o_test : o_test - t_test) /
            std::fabs(o_test);
    if (std::isfinite(t_test) && std::isfinite(o_test)) {
      ++compared;
      wins += better ? 1 : 0;
      within += (better || gap >= -0.5) ? 1 : 0;
    }
    std::printf(
        "bench_automl_quality: %s (%s, %s): test %s troupe %.5f vs "
        "optuna %.5f (%s, %+.2f%%); CV troupe %.5f vs optuna %.5f; trials "
        "troupe %lld vs optuna %lld; troupe reached optuna's final CV "
        "in %s\n",
        c.file.c_str(), task.c_str(), c.metric.c_str(), c.metric.c_str(),
        t_test, o_test, better ? "troupe >= optuna" : "troupe < optuna", gap,
        t_cv, o_cv,
        static_cast<long long>(summary["trials"]["total"].get<int64_t>()),
        static_cast<long long>(o.value("trials", int64_t{0})),
        std::isfinite(reach)
            ? (std::to_string(reach).substr(0, 5) + " s").c_str()
            : "never");
    std::fflush(stdout);
    results.push_back(
        {{"dataset", c.file},
         {"task", task},
         {"metric", c.metric},
         {"troupe_test", t_test},
         {"optuna_test", o_test},
         {"troupe_cv", t_cv},
         {"optuna_cv", o_cv},
         {"troupe_trials", summary["trials"]},
         {"optuna_trials", o.value("trials", int64_t{0})},
         {"optuna_elapsed_s", o.value("elapsed_s", 0.0)},
         {"troupe_elapsed_ms", summary.value("elapsed_ms", int64_t{0})},
         {"troupe_reached_optuna_cv_s",
          std::isfinite(reach) ? json(reach) : json(nullptr)},
         {"troupe_best_config", summary["best"].is_object()
                                    ? summary["best"]["config"]
                                    : json(nullptr)},
         {"optuna_best_params", o.value("best_params", json::object())},
         {"test_gap_percent", std::isfinite(gap) ? json(gap) : json(nullptr)},
         {"troupe_test_ge_optuna", better}});
    std::filesystem::remove_all(dir);
  }
  std::printf("bench_automl_quality: troupe's test score >= optuna's (%s "
              "peer) on %zu of %zu datasets, within 0.5%% on %zu (goal: "
              "all)\n",
              peer.c_str(), wins, compared, within);
  json j;
  j["bench"] = "bench_automl_quality";
  j["budget_s"] = budget;
  j["seed"] = seed;
  j["split"] = "stratified 75/25 (troupe train_test_split), same files";
  j["troupe"] = "troupe automl: TPE + ASHA, 3-fold CV, 2 slots x 1 thread";
  j["peer"] = peer;
  j["optuna"] =
      peer == "user"
          ? "Optuna 3.1 TPESampler over the user's space (20-600 rounds, "
            "native categorical), 3-fold CV, n_jobs 2 x nthread 1"
      : peer == "cash"
          ? "Optuna 3.1 TPESampler over a CASH space (XGBoost, random "
            "forest, extra trees, k-NN, linear; imputation, encoding, "
            "scaling), 3-fold CV, n_jobs 2 x 1 thread"
          : "Optuna 3.1 TPESampler + MedianPruner over troupe's space, "
            "3-fold CV, nthread 2";
  j["datasets"] = results;
  j["wins"] = wins;
  j["within_half_percent"] = within;
  j["compared"] = compared;
  j["goal_met"] = compared > 0 && wins == compared;
  j["nproc"] = bench::nproc();
  j["cpu"] = bench::cpu_model();
  j["date"] = bench::utc_now();
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
