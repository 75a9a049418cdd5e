// bench-timeout: 1500
//
// Warm starts: how long a second study needs to reach a score when it
// starts from the organisation's past studies (troupe's default) against a
// cold start (--no-warm-start), on each case below, 2 slots, 3-fold CV.
// Two scenarios per dataset, as the ATLAS talk describes them:
//   subsample  study A on the whole training file; then study B on a 50%
//              subsample of it, warm (same journal as A) and cold;
//   merge      studies A1 and A2 on the two halves; then study B on their
//              merge (the whole file, --derived-from A1,A2), warm and cold.
// Reported: the time from B's creation (its warm-start lookup included)
// until its best CV first reaches (a) the first study's final CV and (b)
// the cold B's final CV, warm against cold (goal: warm <= 30% of cold).
// Each study runs --budget-s seconds (default 30).
//
//   bench_warm_start [--budget-s 30] [--only NAME]

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/automl/journal.hpp"
#include "actors/automl/study_spec.hpp"
#include "bench_common.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "bench_warm_start: %s\n", msg.c_str());
  std::exit(1);
}

struct dataset_case {
  std::string file, target, metric;
  bool maximize;
};

const std::vector<dataset_case> cases{
    {"pima_diabetes.csv", "diabetes", "auc", true},
    {"spam.csv", "type", "auc", true},
    {"boston_housing.csv", "cmedv", "rmse", false},
};

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

/// Writes the header and the rows whose index `keep` accepts.
template <class F>
void write_rows(const std::string& from, const std::string& to, F keep) {
  std::ifstream in{from};
  std::ofstream out{to};
  std::string line;
  std::getline(in, line);
  out << line << '\n';
  for (size_t i = 0; std::getline(in, line); ++i)
    if (keep(i)) out << line << '\n';
}

/// (seconds since the study's creation, best CV so far) at each completed
/// trial that improved it.
std::vector<std::pair<double, double>>
trace(const std::string& journal, const std::string& study, bool maximize) {
  auto j = automl::study_journal::open(journal, false);
  if (!j) fail(describe(j.error()));
  auto spec_env = (*j)->spec(study);
  if (!spec_env) fail(describe(spec_env.error()));
  auto spec = automl::spec_from(*spec_env);
  if (!spec) fail(describe(spec.error()));
  auto events = (*j)->events(study);
  if (!events) fail(describe(events.error()));
  std::vector<std::pair<double, double>> out;
  double best = maximize ? -INFINITY : INFINITY;
  for (auto& ev : *events) {
    if (ev.kind != automl::event_kind::completed) continue;
    if (maximize ? ev.value > best : ev.value < best) {
      best = ev.value;
      out.emplace_back(
          static_cast<double>(ev.at_ms - spec->created_ms) / 1000.0, best);
    }
  }
  return out;
}

/// When the trace first reaches `target`; NaN if never.
double reach(const std::vector<std::pair<double, double>>& t, double target,
             bool maximize) {
  for (auto& [s, v] : t)
    if (maximize ? v >= target : v <= target) return s;
  return NAN;
}

double final_cv(const std::vector<std::pair<double, double>>& t) {
  return t.empty() ? NAN : t.back().second;
}

void study(const dataset_case& c, const std::string& data,
           const std::string& out, const std::string& id, uint64_t budget,
           const std::string& extra) {
  auto cmd = quote(TROUPE_BIN) + " automl --data " + quote(data) +
             " --target " + c.target + " --metric " + c.metric + " --budget " +
             std::to_string(budget) + "s --slots 2 --threads 1 --folds 3" +
             " --ensemble 0 --out " + quote(out) + " --study " + id +
             " --quiet " + extra + " 2>&1";
  auto [code, text] = bench::run_capture(cmd);
  if (code != 0) fail("study " + id + " failed:\n" + text);
}

std::string seconds(double s) {
  if (!std::isfinite(s)) return "never";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", s);
  return buf;
}

} // namespace

int main(int argc, char** argv) {
  auto budget = bench::arg_or(argc, argv, "--budget-s", 30);
  std::string only;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string{argv[i]} == "--only") only = argv[i + 1];
  json results = json::array();
  std::vector<double> ratios;
  for (auto& c : cases) {
    if (!only.empty() && c.file.find(only) == std::string::npos) continue;
    char tmpl[] = "/tmp/bench_warm.XXXXXX";
    if (!mkdtemp(tmpl)) fail("mkdtemp failed");
    std::string dir = tmpl;
    auto src = std::string{TROUPE_SOURCE_DIR} + "/tests/data/" + c.file;
    write_rows(src, dir + "/half.csv", [](size_t i) { return i % 2 == 0; });
    write_rows(src, dir + "/other.csv", [](size_t i) { return i % 2 == 1; });
    for (std::string scenario : {"subsample", "merge"}) {
      auto warm_dir = dir + "/" + scenario + "-warm";
      auto cold_dir = dir + "/" + scenario + "-cold";
      std::string b_data, first;
      if (scenario == "subsample") {
        study(c, src, warm_dir, "a", budget, "");
        b_data = dir + "/half.csv";
        first = "a";
        study(c, b_data, warm_dir, "b", budget, "");
      } else {
        study(c, dir + "/half.csv", warm_dir, "a1", budget, "");
        study(c, dir + "/other.csv", warm_dir, "a2", budget, "");
        b_data = src;
        first = "a1";
        study(c, b_data, warm_dir, "b", budget, "--derived-from a1,a2");
      }
      study(c, b_data, cold_dir, "b", budget, "--no-warm-start");
      auto a = trace(warm_dir + "/journal", first, c.maximize);
      auto warm = trace(warm_dir + "/journal", "b", c.maximize);
      auto cold = trace(cold_dir + "/journal", "b", c.maximize);
      auto a_final = final_cv(a), cold_final = final_cv(cold);
      auto warm_a = reach(warm, a_final, c.maximize);
      auto cold_a = reach(cold, a_final, c.maximize);
      auto warm_c = reach(warm, cold_final, c.maximize);
      auto cold_c = reach(cold, cold_final, c.maximize);
      auto ratio = warm_c / cold_c;
      // a warm study that never gets there counts as infinitely slow
      ratios.push_back(std::isfinite(ratio) ? ratio : INFINITY);
      std::printf(
          "bench_warm_start: %s %s: reach the cold study's final CV %.5f: "
          "warm %s vs cold %s (%.0f%%); reach the first study's final CV "
          "%.5f: warm %s vs cold %s; final CV warm %.5f vs cold %.5f\n",
          c.file.c_str(), scenario.c_str(), cold_final, seconds(warm_c).c_str(),
          seconds(cold_c).c_str(), 100 * ratio, a_final,
          seconds(warm_a).c_str(), seconds(cold_a).c_str(), final_cv(warm),
          cold_final);
      std::fflush(stdout);
      auto num = [](double x) { return std::isfinite(x) ? json(x) : json(); };
      results.push_back({{"dataset", c.file},
                         {"scenario", scenario},
                         {"metric", c.metric},
                         {"first_final_cv", num(a_final)},
                         {"cold_final_cv", num(cold_final)},
                         {"warm_final_cv", num(final_cv(warm))},
                         {"warm_s_to_cold_final", num(warm_c)},
                         {"cold_s_to_cold_final", num(cold_c)},
                         {"warm_s_to_first_final", num(warm_a)},
                         {"cold_s_to_first_final", num(cold_a)},
                         {"ratio", num(ratio)}});
    }
    std::filesystem::remove_all(dir);
  }
  auto med = ratios.empty() ? NAN : bench::median(ratios);
  size_t never = 0;
  for (auto r : ratios)
    never += std::isinf(r) ? 1 : 0;
  std::printf("bench_warm_start: warm/cold time to the cold study's final CV, "
              "median %.0f%% over %zu cases, %zu never (goal <= 30%%)\n",
              100 * med, ratios.size(), never);
  json j;
  j["bench"] = "bench_warm_start";
  j["budget_s"] = budget;
  j["results"] = results;
  j["median_ratio"] = std::isfinite(med) ? json(med) : json();
  j["never"] = never;
  j["goal_met"] = std::isfinite(med) && med <= 0.3;
  j["nproc"] = bench::nproc();
  j["cpu"] = bench::cpu_model();
  j["date"] = bench::utc_now();
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
