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
// until its best CV first reaches (a) the first study's final CV (the issue's
// measure; for a merge, A1's) and (b) the median of
// the cold B's final CVs, warm against cold (goal: warm <= 30% of cold).
// B runs --repeats times (default 3) warm and cold, with seeds 0, 1, ...,
// in alternating order, each warm B on a fresh copy of the journal its
// parents left (so that one warm B does not seed the next). A cold B that
// never reaches the target within the budget counts as taking the budget
// (the ratio is then an upper bound, marked "<="); a warm B that never
// reaches it counts as infinitely slow; a run where neither reaches it is
// counted apart (it says nothing of their speed). Each study runs --budget-s
// seconds (default 30).
//
//   bench_warm_start [--budget-s 30] [--repeats 3] [--only NAME]

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
  auto repeats = bench::arg_or(argc, argv, "--repeats", 3);
  std::string only;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string{argv[i]} == "--only") only = argv[i + 1];
  json results = json::array();
  // per target: every (dataset, scenario, repeat)'s warm/cold ratio
  std::vector<double> first_ratios, cold_ratios;
  size_t first_never = 0, cold_never = 0;
  // A run where neither study reaches the target says nothing of their
  // speed: it is counted apart, not as a ratio.
  size_t first_neither = 0, cold_neither = 0;
  auto ratio_of = [&](double warm_s, double cold_s, size_t& never,
                      size_t& neither, std::vector<double>& into) -> double {
    if (!std::isfinite(warm_s) && !std::isfinite(cold_s)) {
      ++neither;
      return NAN;
    }
    double r = INFINITY;
    if (!std::isfinite(warm_s))
      ++never;
    else // a cold study that never got there took more than the budget
      r = warm_s / (std::isfinite(cold_s) ? cold_s : double(budget));
    into.push_back(r);
    return r;
  };
  auto pct = [](double r) {
    if (std::isnan(r)) return std::string{"neither"};
    if (!std::isfinite(r)) return std::string{"never"};
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.0f%%", 100 * r);
    return std::string{buf};
  };
  for (auto& c : cases) {
    if (!only.empty() && c.file.find(only) == std::string::npos) continue;
    char tmpl[] = "/tmp/bench_warm.XXXXXX";
    if (!mkdtemp(tmpl)) fail("mkdtemp failed");
    std::string dir = tmpl;
    auto src = std::string{TROUPE_SOURCE_DIR} + "/tests/data/" + c.file;
    write_rows(src, dir + "/half.csv", [](size_t i) { return i % 2 == 0; });
    write_rows(src, dir + "/other.csv", [](size_t i) { return i % 2 == 1; });
    for (std::string scenario : {"subsample", "merge"}) {
      auto parents_dir = dir + "/" + scenario + "-parents";
      std::string b_data, derived;
      double first_final = NAN;
      if (scenario == "subsample") {
        study(c, src, parents_dir, "a", budget, "");
        first_final =
            final_cv(trace(parents_dir + "/journal", "a", c.maximize));
        b_data = dir + "/half.csv";
      } else {
        study(c, dir + "/half.csv", parents_dir, "a1", budget, "");
        study(c, dir + "/other.csv", parents_dir, "a2", budget, "");
        first_final =
            final_cv(trace(parents_dir + "/journal", "a1", c.maximize));
        b_data = src;
        derived = " --derived-from a1,a2";
      }
      std::vector<std::vector<std::pair<double, double>>> warm, cold;
      for (uint64_t r = 0; r < repeats; ++r) {
        auto warm_dir = dir + "/" + scenario + "-warm" + std::to_string(r);
        auto cold_dir = dir + "/" + scenario + "-cold" + std::to_string(r);
        std::filesystem::copy(parents_dir, warm_dir,
                              std::filesystem::copy_options::recursive);
        auto seed = " --seed " + std::to_string(r);
        auto run_warm = [&] {
          study(c, b_data, warm_dir, "b", budget, seed + derived);
        };
        auto run_cold = [&] {
          study(c, b_data, cold_dir, "b", budget, seed + " --no-warm-start");
        };
        if (r % 2 == 0) {
          run_warm();
          run_cold();
        } else {
          run_cold();
          run_warm();
        }
        warm.push_back(trace(warm_dir + "/journal", "b", c.maximize));
        cold.push_back(trace(cold_dir + "/journal", "b", c.maximize));
      }
      std::vector<double> cold_finals;
      for (auto& t : cold)
        cold_finals.push_back(final_cv(t));
      auto cold_median = bench::median(cold_finals);
      for (uint64_t r = 0; r < repeats; ++r) {
        auto wf = reach(warm[r], first_final, c.maximize);
        auto cf = reach(cold[r], first_final, c.maximize);
        auto wc = reach(warm[r], cold_median, c.maximize);
        auto cc = reach(cold[r], cold_median, c.maximize);
        auto rf = ratio_of(wf, cf, first_never, first_neither, first_ratios);
        auto rc = ratio_of(wc, cc, cold_never, cold_neither, cold_ratios);
        std::printf(
            "bench_warm_start: %s %s seed %llu: reach the first study's final "
            "CV %.5f: warm %s vs cold %s (%s%s); reach the cold studies' "
            "median final CV %.5f: warm %s vs cold %s (%s%s); final CV warm "
            "%.5f vs cold %.5f\n",
            c.file.c_str(), scenario.c_str(), (unsigned long long)r,
            first_final, seconds(wf).c_str(), seconds(cf).c_str(),
            std::isfinite(cf) ? "" : "<=", pct(rf).c_str(), cold_median,
            seconds(wc).c_str(), seconds(cc).c_str(),
            std::isfinite(cc) ? "" : "<=", pct(rc).c_str(), final_cv(warm[r]),
            final_cv(cold[r]));
        std::fflush(stdout);
        auto num = [](double x) { return std::isfinite(x) ? json(x) : json(); };
        results.push_back({{"dataset", c.file},
                           {"scenario", scenario},
                           {"seed", r},
                           {"metric", c.metric},
                           {"first_final_cv", num(first_final)},
                           {"cold_median_final_cv", num(cold_median)},
                           {"warm_final_cv", num(final_cv(warm[r]))},
                           {"cold_final_cv", num(final_cv(cold[r]))},
                           {"warm_s_to_first_final", num(wf)},
                           {"cold_s_to_first_final", num(cf)},
                           {"warm_s_to_cold_median", num(wc)},
                           {"cold_s_to_cold_median", num(cc)},
                           {"ratio_first", num(rf)},
                           {"ratio_cold_median", num(rc)}});
      }
    }
    std::filesystem::remove_all(dir);
  }
  auto summary = [&](const char* what, const std::vector<double>& rs,
                     size_t never, size_t neither) {
    auto med = rs.empty() ? NAN : bench::median(rs);
    auto lo = rs.empty() ? NAN : bench::quantile(rs, 0.25);
    auto hi = rs.empty() ? NAN : bench::quantile(rs, 0.75);
    std::printf("bench_warm_start: warm/cold time to %s: median %s "
                "(quartiles %s-%s) over %zu runs, warm never in %zu, "
                "neither in %zu more (goal <= 30%%)\n",
                what, pct(med).c_str(), pct(lo).c_str(), pct(hi).c_str(),
                rs.size(), never, neither);
    return med;
  };
  auto med_first = summary("the first study's final CV", first_ratios,
                           first_never, first_neither);
  auto med_cold = summary("the cold studies' median final CV", cold_ratios,
                          cold_never, cold_neither);
  auto num = [](double x) { return std::isfinite(x) ? json(x) : json(); };
  json j;
  j["bench"] = "bench_warm_start";
  j["budget_s"] = budget;
  j["repeats"] = repeats;
  j["results"] = results;
  j["median_ratio_first"] = num(med_first);
  j["median_ratio_cold_median"] = num(med_cold);
  j["warm_never_first"] = first_never;
  j["warm_never_cold_median"] = cold_never;
  j["neither_first"] = first_neither;
  j["neither_cold_median"] = cold_neither;
  j["goal_met_first"] = std::isfinite(med_first) && med_first <= 0.3;
  j["nproc"] = bench::nproc();
  j["cpu"] = bench::cpu_model();
  j["date"] = bench::utc_now();
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
