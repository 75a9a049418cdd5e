// bench-timeout: 1500
//
// AutoML quality: `troupe automl` (the whole pipeline: every family, the
// feature pipeline, CASH, ensembles) against its peers, at the same
// wall-clock budget (60 s, 2 cores), on each dataset of tests/data with a
// fixed, seeded, stratified 75/25 split written to two CSV files every tool
// reads. troupe runs as a user runs it (the `troupe` binary, 2 slots of 1
// thread, TPE + ASHA, 3-fold CV), once per dataset; then each peer of
// --peer (a comma-separated list) runs on the same files:
//   user    (default) the plain Optuna script over the space XGBoost users
//           write: eta, depth, child weight, sampling, L1/L2 and 20-600
//           rounds as a parameter, native categorical splits, 3-fold CV, 2
//           trials at once of 1 thread each, no pruner;
//   cash    Optuna over a CASH space: XGBoost, random forest, extra trees,
//           k-NN and a linear model, with their imputation, encoding and
//           scaling, 2 trials at once of 1 thread each;
//   troupe  Optuna over troupe's own space and fidelity (243 rounds, reports
//           every 9 to a MedianPruner), 1 trial of 2 threads;
//   xgboost troupe itself in its XGBoost-only mode (--families xgboost).
// Reported per dataset: each tool's CV and test score side by side, the
// test gap in percent, trials, and the time troupe needed to reach Optuna's
// final CV score (from its journal).
//
//   bench_automl_quality [--budget-s 60] [--seed 0] [--only NAME]
//                        [--peer user,cash,xgboost|troupe]

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

/// One tool's result on one dataset.
struct outcome {
  double cv = NAN;
  double test = NAN;
  int64_t trials = 0;
  double elapsed_s = 0;
  json best = nullptr;
  json extra = nullptr; ///< the summary's trial counts, or Optuna's JSON
};

/// Runs `troupe automl` on the split in `dir` with `extra` flags.
outcome run_troupe(const std::string& dir, const dataset_case& c, int budget,
                   int seed, const std::string& study,
                   const std::string& extra) {
  auto cmd = quote(TROUPE_BIN) + " automl --data " + quote(dir + "/train.csv") +
             " --test " + quote(dir + "/test.csv") + " --target " + c.target +
             " --metric " + c.metric + " --budget " + std::to_string(budget) +
             "s --slots 2 --threads 1 --folds 3 --seed " +
             std::to_string(seed) + " --out " + quote(dir + "/runs") +
             " --study " + study + extra + " --quiet 2>&1";
  auto [code, out] = bench::run_capture(cmd);
  if (code != 0) fail("troupe failed on " + c.file + ":\n" + out);
  std::ifstream in{dir + "/runs/" + study + "/summary.json"};
  auto summary = json::parse(in, nullptr, false);
  if (summary.is_discarded()) fail("no troupe summary for " + c.file);
  outcome o;
  o.cv =
      summary["best"].is_object() ? number(summary["best"], "cv_score") : NAN;
  // an ensemble's out-of-fold score is the model's CV score
  if (summary["ensemble"].is_object() && summary["ensemble"]["used"] == true)
    o.cv = number(summary["ensemble"], "oof_score");
  o.test = number(summary, "test_score");
  o.trials = summary["trials"]["total"].get<int64_t>();
  o.elapsed_s =
      static_cast<double>(summary.value("elapsed_ms", int64_t{0})) / 1000.0;
  o.best = summary["best"].is_object() ? summary["best"]["config"] : json();
  o.extra = {{"trials", summary["trials"]}, {"ensemble", summary["ensemble"]}};
  return o;
}

/// Runs the Optuna peer script with `args` on the split in `dir`.
outcome run_optuna(const std::string& dir, const dataset_case& c,
                   const std::string& task, int budget, int seed,
                   const std::string& args) {
  auto cmd = std::string{"/usr/bin/python3 "} +
             quote(TROUPE_SOURCE_DIR "/tests/bench/peers/optuna_quality.py") +
             " --train " + quote(dir + "/train.csv") + " --test " +
             quote(dir + "/test.csv") + " --target " + c.target + " --task " +
             task + " --metric " + c.metric + " --budget-s " +
             std::to_string(budget) + " --seed " + std::to_string(seed) +
             " --folds 3" + args;
  auto [code, out] = bench::run_capture(cmd);
  if (code != 0) fail("optuna failed on " + c.file + ":\n" + out);
  auto j = json::parse(out, nullptr, false);
  if (j.is_discarded()) fail("optuna printed no JSON for " + c.file);
  outcome o;
  o.cv = number(j, "cv_score");
  o.test = number(j, "test_score");
  o.trials = j.value("trials", int64_t{0});
  o.elapsed_s = j.value("elapsed_s", 0.0);
  o.best = j.value("best_params", json::object());
  return o;
}

} // namespace

int main(int argc, char** argv) {
  auto budget = bench::arg_or(argc, argv, "--budget-s", 60);
  auto seed = bench::arg_or(argc, argv, "--seed", 0);
  std::string only;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string{argv[i]} == "--only") only = argv[i + 1];
  std::string peer_list = "user";
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string{argv[i]} == "--peer") peer_list = argv[i + 1];
  std::vector<std::string> peers;
  for (size_t s = 0, e; s <= peer_list.size(); s = e + 1) {
    e = peer_list.find(',', s);
    if (e == std::string::npos) e = peer_list.size();
    auto p = peer_list.substr(s, e - s);
    if (p != "user" && p != "troupe" && p != "cash" && p != "xgboost")
      fail("--peer takes user, cash, troupe and xgboost, not '" + p + "'");
    peers.push_back(p);
  }
  std::string data_dir = TROUPE_SOURCE_DIR "/tests/data";
  json results = json::array();
  std::map<std::string, size_t> wins, compared, within;
  for (auto& c : cases) {
    if (!only.empty() && c.file.find(only) == std::string::npos) continue;
    char tmpl[] = "/tmp/bench_quality.XXXXXX";
    if (!mkdtemp(tmpl)) fail("mkdtemp failed");
    std::string dir = tmpl;
    auto task = split_files(data_dir + "/" + c.file, c.target, seed, dir);
    bool maximize = c.metric == "auc";
    // troupe, as a user runs it.
    auto t = run_troupe(dir, c, budget, seed, "q", "");
    auto trace = troupe_trace(dir + "/runs/journal", "q", maximize);
    for (auto& peer : peers) {
      outcome o =
          peer == "xgboost"
              ? run_troupe(dir, c, budget, seed, "x", " --families xgboost")
          : peer == "user" ? run_optuna(dir, c, task, budget, seed,
                                        " --space user --jobs 2 --threads 1")
          : peer == "cash"
              ? run_optuna(dir, c, task, budget, seed,
                           " --space cash --jobs 2 --threads 1")
              : run_optuna(dir, c, task, budget, seed,
                           " --space troupe --threads 2 --every 9");
      // When did troupe first reach the peer's final CV score?
      double reach = NAN;
      for (auto& [at, v] : trace)
        if (std::isfinite(o.cv) && (maximize ? v >= o.cv : v <= o.cv)) {
          reach = at;
          break;
        }
      // A peer may finish no trial within the budget (slow trials on large
      // data): then it has no model, and troupe's score stands alone.
      bool better = !std::isfinite(o.test) ||
                    (maximize ? t.test >= o.test : t.test <= o.test);
      // How far troupe's test score is behind (negative) or ahead, in % of
      // the peer's (goal: never more than 0.5% behind).
      double gap = NAN;
      if (std::isfinite(t.test) && std::isfinite(o.test) && o.test != 0)
        gap = 100.0 * (maximize ? t.test - o.test : o.test - t.test) /
              std::fabs(o.test);
      if (std::isfinite(t.test) && std::isfinite(o.test)) {
        ++compared[peer];
        wins[peer] += better ? 1 : 0;
        within[peer] += (better || gap >= -0.5) ? 1 : 0;
      }
      std::printf(
          "bench_automl_quality: %s (%s, %s) vs %s: test troupe %.5f vs "
          "peer %.5f (%s, %+.2f%%); CV troupe %.5f vs peer %.5f; trials "
          "troupe %lld vs peer %lld; troupe reached the peer's final CV "
          "in %s\n",
          c.file.c_str(), task.c_str(), c.metric.c_str(), peer.c_str(), t.test,
          o.test, better ? "troupe >= peer" : "troupe < peer", gap, t.cv, o.cv,
          static_cast<long long>(t.trials), static_cast<long long>(o.trials),
          std::isfinite(reach)
              ? (std::to_string(reach).substr(0, 5) + " s").c_str()
              : "never");
      std::fflush(stdout);
      results.push_back(
          {{"dataset", c.file},
           {"task", task},
           {"metric", c.metric},
           {"peer", peer},
           {"troupe_test", t.test},
           {"peer_test", o.test},
           {"troupe_cv", t.cv},
           {"peer_cv", o.cv},
           {"troupe_trials", t.extra["trials"]},
           {"troupe_ensemble", t.extra["ensemble"]},
           {"peer_trials", o.trials},
           {"peer_elapsed_s", o.elapsed_s},
           {"troupe_elapsed_s", t.elapsed_s},
           {"troupe_reached_peer_cv_s",
            std::isfinite(reach) ? json(reach) : json(nullptr)},
           {"troupe_best_config", t.best},
           {"peer_best_params", o.best},
           {"test_gap_percent", std::isfinite(gap) ? json(gap) : json(nullptr)},
           {"troupe_test_ge_peer", better}});
    }
    std::filesystem::remove_all(dir);
  }
  bool met = true;
  for (auto& peer : peers) {
    std::printf("bench_automl_quality: troupe's test score >= the %s peer's "
                "on %zu of %zu datasets, within 0.5%% on %zu (goal: all)\n",
                peer.c_str(), wins[peer], compared[peer], within[peer]);
    met = met && compared[peer] > 0 && within[peer] == compared[peer];
  }
  json j;
  j["bench"] = "bench_automl_quality";
  j["budget_s"] = budget;
  j["seed"] = seed;
  j["split"] = "stratified 75/25 (troupe train_test_split), same files";
  j["troupe"] = "troupe automl (all families, CASH, feature pipeline, "
                "ensembles): TPE + ASHA, 3-fold CV, 2 slots x 1 thread";
  j["peers"] = {
      {"user", "Optuna 3.1 TPESampler over the user's XGBoost space (20-600 "
               "rounds, native categorical), 3-fold CV, n_jobs 2 x nthread "
               "1"},
      {"cash", "Optuna 3.1 TPESampler over a CASH space (XGBoost, random "
               "forest, extra trees, k-NN, linear; imputation, encoding, "
               "scaling), 3-fold CV, n_jobs 2 x 1 thread"},
      {"troupe", "Optuna 3.1 TPESampler + MedianPruner over troupe's XGBoost "
                 "space, 3-fold CV, nthread 2"},
      {"xgboost", "troupe automl --families xgboost"}};
  j["datasets"] = results;
  j["goal_met"] = met;
  j["nproc"] = bench::nproc();
  j["cpu"] = bench::cpu_model();
  j["date"] = bench::utc_now();
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
