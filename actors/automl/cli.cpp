#include "actors/automl/cli.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/automl/cash_space.hpp"
#include "actors/automl/report.hpp"
#include "actors/automl/service.hpp"
#include "actors/automl/space_file.hpp"
#include "actors/automl/wire.hpp"
#include "actors/models/families.hpp"
#include "actors/tabular/idx.hpp"
#include "actors/tabular/metrics.hpp"
#include "runtime/client.hpp"
#include "runtime/command_cluster.hpp"
#include "runtime/errors.hpp"
#include "runtime/shell.hpp"
#include "schemas/automl.capnp.h"

namespace troupe::automl {

using models::shared_dataset;
using tabular::check_metric;
using tabular::find_metric;
using tabular::is_classification;
using tabular::read_csv;
using tabular::task_kind;

namespace {

std::atomic<int> interrupts{0};

void on_sigint(int) {
  interrupts.fetch_add(1);
}

/// A StudyStatus as the CLI shows it.
struct status_view {
  std::string id, state, metric, message, model_dir;
  bool maximize = false;
  uint64_t elapsed_ms = 0, budget_ms = 0, max_trials = 0;
  uint64_t done = 0, running = 0, pruned = 0, failed = 0, paused = 0;
  uint64_t requeued = 0, total = 0;
  bool has_best = false;
  double best_value = 0;
  uint64_t best_trial = 0;
  struct row {
    uint64_t id = 0;
    std::string state;
    double value = 0;
    uint64_t steps = 0;
    config params;
    std::vector<double> objectives; ///< secondary ones
  };
  std::vector<row> board;
  /// Multi-objective: the secondary objectives and the Pareto front.
  std::vector<std::string> objectives;
  std::vector<row> front;
};

caf::expected<status_view> view_of(const envelope& env) {
  return env.visit<schema::StudyStatus>([](auto s) {
    status_view v;
    v.id = s.getId();
    v.state = state_of(s);
    v.metric = s.getMetric();
    v.message = s.getMessage();
    v.model_dir = s.getModelDir();
    v.maximize = s.getMaximize();
    v.elapsed_ms = s.getElapsedMs();
    v.budget_ms = s.getBudgetMs();
    v.max_trials = s.getMaxTrials();
    v.done = s.getDone();
    v.running = s.getRunning();
    v.pruned = s.getPruned();
    v.failed = s.getFailed();
    v.paused = s.getPaused();
    v.requeued = s.getRequeued();
    v.total = s.getTotalTrials();
    v.has_best = s.getHasBest();
    v.best_value = s.getBestValue();
    v.best_trial = s.getBestTrial();
    auto row_of = [](auto r) {
      status_view::row x;
      x.id = r.getId();
      x.state = trial_state_of(r);
      x.value = r.getValue();
      x.steps = r.getSteps();
      x.params = read_params(r.getParams());
      for (auto o : r.getObjectives())
        x.objectives.push_back(o);
      return x;
    };
    for (auto r : s.getLeaderboard())
      v.board.push_back(row_of(r));
    for (auto name : s.getObjectives())
      v.objectives.emplace_back(name.cStr());
    for (auto r : s.getParetoFront())
      v.front.push_back(row_of(r));
    return v;
  });
}

std::string progress_line(const status_view& v, bool tty) {
  double frac = 0;
  std::string limit;
  if (v.budget_ms > 0) {
    frac = static_cast<double>(v.elapsed_ms) / static_cast<double>(v.budget_ms);
    limit = "/" + clock_text(v.budget_ms);
  } else if (v.max_trials > 0) {
    frac = static_cast<double>(v.done + v.pruned + v.failed) /
           static_cast<double>(v.max_trials);
  }
  frac = std::min(1.0, std::max(0.0, frac));
  std::string bar;
  if (tty) {
    const int width = 20;
    int full = static_cast<int>(frac * width + 0.5);
    bar = "[" + std::string(static_cast<size_t>(full), '#') +
          std::string(static_cast<size_t>(width - full), '.') + "] ";
  }
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%s%s%s  trials: %llu done, %llu running, %llu pruned, %llu "
                "failed",
                bar.c_str(), clock_text(v.elapsed_ms).c_str(), limit.c_str(),
                static_cast<unsigned long long>(v.done),
                static_cast<unsigned long long>(v.running),
                static_cast<unsigned long long>(v.pruned),
                static_cast<unsigned long long>(v.failed));
  std::string line = buf;
  if (v.has_best) {
    std::snprintf(buf, sizeof(buf), "  best %s %.5g (#%llu)", v.metric.c_str(),
                  v.best_value, static_cast<unsigned long long>(v.best_trial));
    line += buf;
  }
  return line;
}

std::string params_text(const config& cfg) {
  std::string out;
  for (auto& [name, v] : cfg) {
    if (!out.empty()) out += ' ';
    std::string value;
    if (auto* d = std::get_if<double>(&v)) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.4g", *d);
      value = buf;
    } else {
      value = to_string(v);
    }
    out += name + "=" + value;
  }
  return out;
}

void print_leaderboard(const status_view& v) {
  std::printf("\nleaderboard (%s, %s is better)\n", v.metric.c_str(),
              v.maximize ? "higher" : "lower");
  std::printf("%4s  %6s  %-9s  %10s  %6s  %s\n", "rank", "trial", "state",
              v.metric.c_str(), "steps", "config");
  size_t rank = 0;
  for (auto& r : v.board) {
    if (++rank > 10) break;
    std::printf("%4zu  %6llu  %-9s  %10.5g  %6llu  %s\n", rank,
                static_cast<unsigned long long>(r.id), r.state.c_str(), r.value,
                static_cast<unsigned long long>(r.steps),
                params_text(r.params).c_str());
  }
  if (v.board.empty()) std::printf("  (no trial produced a result)\n");
}

/// A multi-objective study's result: its Pareto front.
void print_front(const status_view& v) {
  if (v.objectives.empty()) return;
  std::string names = v.metric;
  for (auto& o : v.objectives)
    names += ", " + o;
  std::printf("\npareto front (%s; %s: %s is better, the others lower)\n",
              names.c_str(), v.metric.c_str(), v.maximize ? "higher" : "lower");
  std::printf("%6s  %10s", "trial", v.metric.c_str());
  for (auto& o : v.objectives)
    std::printf("  %12s", o.c_str());
  std::printf("  %6s  %s\n", "steps", "config");
  for (auto& r : v.front) {
    std::printf("%6llu  %10.5g", static_cast<unsigned long long>(r.id),
                r.value);
    for (size_t k = 0; k < v.objectives.size(); ++k)
      std::printf("  %12.5g",
                  k < r.objectives.size() ? r.objectives[k] : std::nan(""));
    std::printf("  %6llu  %s\n", static_cast<unsigned long long>(r.steps),
                params_text(r.params).c_str());
  }
  if (v.front.empty()) std::printf("  (no trial completed)\n");
}

std::string default_study_id(const std::string& data_path) {
  auto stem = std::filesystem::path{data_path}.stem().string();
  std::string clean;
  for (char c : stem)
    clean += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'
                 ? c
                 : '_';
  if (clean.empty()) clean = "study";
  if (clean.size() > 40) clean.resize(40);
  auto t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
  return clean + "-" + buf;
}

std::string absolute(const std::string& path) {
  if (path.empty()) return path;
  return std::filesystem::absolute(path).lexically_normal().string();
}

/// Reads the data once here: checks the target, infers the task, picks the
/// default metric and checks the test file's header.
caf::error prepare_spec(automl_options& o) {
  auto& s = o.spec;
  bool from_objectives = !o.objectives.empty();
  if (from_objectives) {
    auto metric = s.metric;
    if (auto err = set_objectives(s, o.objectives)) return err;
    if (!metric.empty() && metric != s.metric)
      return make_error(errc::invalid_argument,
                        "--metric '" + metric + "' and --objectives '" +
                            o.objectives +
                            "' name different metrics (the "
                            "first objective is the metric)");
  }
  auto families = resolve_families(s.family);
  if (!families) return families.error();
  s.family = *families;
  if (multi_objective(s) && s.family == "quadratic")
    return make_error(errc::invalid_argument,
                      "--objectives '" + o.objectives +
                          "': the quadratic family has no model to measure");
  if (s.family == "quadratic") {
    if (s.metric.empty()) s.metric = "value";
    return caf::none;
  }
  if (!s.images.empty()) { // Fashion-MNIST: ten classes of images
    s.images = absolute(s.images);
    while (s.images.size() > 1 && s.images.back() == '/')
      s.images.pop_back();
    for (auto& f : tabular::fashion_mnist_files(s.images))
      if (!std::filesystem::is_regular_file(f))
        return make_error(errc::not_found,
                          "--images '" + s.images + "': no file " + f +
                              " (Fashion-MNIST's four IDX files, as "
                              "dataset-fashion-mnist installs them)");
    if (!s.data_path.empty())
      return make_error(errc::invalid_argument,
                        "--images and --data exclude each other");
    s.task = "multiclass";
    if (s.target.empty()) s.target = "label";
    if (s.metric.empty()) s.metric = "accuracy";
    s.maximize = s.metric == "accuracy";
    return caf::none;
  }
  if (s.data_path.empty())
    return make_error(errc::invalid_argument, "give --data FILE.csv");
  if (s.target.empty())
    return make_error(errc::invalid_argument, "give --target COLUMN");
  s.data_path = absolute(s.data_path);
  auto data = shared_dataset(s.data_path, s.target, o.task);
  if (!data) return data.error();
  for (auto& w : (*data)->warnings)
    std::fprintf(stderr, "troupe automl: warning: %s\n", w.c_str());
  auto task = (*data)->task;
  s.task = to_string(task);
  if (s.family == "sparse-lr" && task != task_kind::binary)
    return make_error(errc::invalid_argument,
                      "family sparse-lr (logistic regression) needs a binary "
                      "target; '" +
                          s.target + "' is " + s.task);
  if (s.metric.empty())
    s.metric = task == task_kind::binary       ? "auc"
               : task == task_kind::multiclass ? "logloss"
                                               : "rmse";
  auto m = find_metric(s.metric);
  if (!m) return m.error();
  auto classes = is_classification(task) ? (*data)->classes.size() : 0;
  if (auto err = check_metric(s.metric, classes))
    return make_error(
        errc::invalid_argument,
        std::string{from_objectives ? "--objectives" : "--metric"} + ": " +
            describe(err) + " (the target '" + s.target + "' is " + s.task +
            ")");
  s.maximize = m->better == direction::maximize;
  if (!s.test_path.empty()) {
    s.test_path = absolute(s.test_path);
    auto t = read_csv(s.test_path);
    if (!t) return t.error();
    std::vector<std::string> warnings;
    auto labeled = (*data)->prep.transform_labeled(*t, warnings);
    if (!labeled) return labeled.error();
  }
  return caf::none;
}

} // namespace

caf::expected<envelope> submit_envelope(const study_spec& spec, double weight) {
  auto inner = to_envelope(spec);
  return inner.visit<schema::StudySpec>([&](auto r) {
    return make_envelope<schema::StudySubmit>([&](auto b) {
      b.setSpec(r);
      b.setWeight(weight);
    });
  });
}

envelope ref_envelope(const std::string& id) {
  return make_envelope<schema::StudyRef>([&](auto b) { b.setId(id); });
}

caf::expected<uint64_t> parse_duration_ms(const std::string& text) {
  auto bad = [&] {
    return make_error(errc::invalid_argument,
                      "duration '" + text +
                          "' is not like 90s, 10m, 1h, 500ms or a number of "
                          "seconds");
  };
  if (text.empty()) return bad();
  size_t used = 0;
  double x = 0;
  try {
    x = std::stod(text, &used);
  } catch (const std::exception&) {
    return bad();
  }
  auto unit = text.substr(used);
  double ms = 0;
  if (unit.empty() || unit == "s")
    ms = x * 1000;
  else if (unit == "ms")
    ms = x;
  else if (unit == "m" || unit == "min")
    ms = x * 60'000;
  else if (unit == "h")
    ms = x * 3'600'000;
  else
    return bad();
  if (!(ms > 0) || ms > 1e12) return bad();
  return static_cast<uint64_t>(ms);
}

int run_automl(automl_options o, const kind_registrar& kinds) {
  auto fail = [](const std::string& msg, int code) {
    std::fprintf(stderr, "troupe automl: %s\n", msg.c_str());
    return code;
  };
  auto& spec = o.spec;
  bool resuming = !o.resume.empty();
  if (!resuming) {
    if (!o.budget.empty()) {
      auto ms = parse_duration_ms(o.budget);
      if (!ms) return fail(describe(ms.error()), 2);
      spec.budget_ms = *ms;
    }
    if (spec.budget_ms == 0 && spec.max_trials == 0)
      spec.budget_ms = 10 * 60'000; // the default: 10 minutes
    if (!o.space_file.empty()) {
      std::ifstream in{o.space_file};
      if (!in) return fail("cannot read --space '" + o.space_file + "'", 2);
      spec.space.assign(std::istreambuf_iterator<char>{in}, {});
      auto ext = std::filesystem::path{o.space_file}.extension().string();
      spec.space_format = ext == ".toml" ? "toml" : "json";
      auto families = resolve_families(spec.family);
      if (!families) return fail(describe(families.error()), 2);
      auto base = load_space(*families);
      if (!base) return fail(describe(base.error()), 2);
      if (auto s = apply_space_file(*base, o.space_file); !s)
        return fail(describe(s.error()), 2);
    }
    auto job = trial_job_family(spec);
    if (!job.empty()) {
      // a sparse-lr trial's resource: its job's validations; an mlp
      // trial's: its epochs
      if (!o.max_given) spec.max_resource = job == "sparse-lr" ? 9 : 10;
      if (!o.min_given) spec.min_resource = 1;
      if (!o.every_given) spec.every = 1;
    }
    if (auto err = prepare_spec(o)) return fail(describe(err), 2);
    if (spec.id.empty())
      spec.id = !spec.images.empty()         ? default_study_id(spec.images)
                : spec.family != "quadratic" ? default_study_id(spec.data_path)
                                             : default_study_id(spec.family);
    spec.created_ms = o.clock->wall_ms();
    if (auto err = validate(spec)) return fail(describe(err), 2);
  }
  // Embedded: a one-node cluster in this process, data in --out.
  auto slots =
      o.slots ? o.slots : std::max(1u, std::thread::hardware_concurrency());
  // trials run as jobs: the embedded head runs the training service too
  std::vector<head_service> services{{service_kind, service_name, {}}};
  if (!trial_job_family(spec).empty())
    services.push_back({"training.service", "training", {}});
  auto cluster =
      open_command_cluster(o.cluster, slots, kinds, std::move(services), o.out);
  if (!cluster)
    return fail(describe(cluster.error()), command_exit_code(cluster.error()));
  if (!o.cluster.empty() && !resuming && o.out != "runs")
    spec.out_dir = absolute(o.out) + "/" + spec.id;
  auto& client = cluster->client;
  // the data travels with the study: uploaded to the head's dataset cache
  // (nothing moves when it holds those bytes), fetched from there by the
  // nodes that run trials
  if (!resuming && !spec.images.empty())
    for (auto& f : tabular::fashion_mnist_files(spec.images)) {
      auto d = client->upload_dataset(f);
      if (!d) return fail(describe(d.error()), 1);
      spec.files.emplace_back(f, *d);
    }
  if (!resuming && !spec.data_path.empty()) {
    auto d = client->upload_dataset(spec.data_path);
    if (!d) return fail(describe(d.error()), 1);
    spec.data = *d;
    if (!spec.test_path.empty()) {
      auto t = client->upload_dataset(spec.test_path);
      if (!t) return fail(describe(t.error()), 1);
      spec.test = *t;
    }
  }
  caf::expected<envelope> first = caf::error{};
  if (resuming) {
    first = client->send(service_name, ref_envelope(o.resume), "resume");
  } else {
    auto sub = submit_envelope(spec, o.weight);
    if (!sub) return fail(describe(sub.error()), 1);
    first = client->send(service_name, *sub, "submit");
  }
  if (!first) return fail(describe(first.error()), 1);
  auto v = view_of(*first);
  if (!v) return fail(describe(v.error()), 1);
  auto id = v->id;
  std::printf("study %s: %s\n", id.c_str(), resuming ? "resumed" : "started");
  std::fflush(stdout);
  interrupts = 0;
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  bool tty = isatty(STDERR_FILENO) && !o.quiet;
  bool stop_sent = false;
  auto last_line = o.clock->now();
  status_view cur = *v;
  for (;;) {
    if (interrupts.load() > 0 && !stop_sent) {
      stop_sent = true;
      std::fprintf(stderr,
                   "\ntroupe automl: stopping study %s (Ctrl-C again "
                   "to leave it running)\n",
                   id.c_str());
      (void)client->send(service_name, ref_envelope(id), "stop");
    }
    if (interrupts.load() > 1) {
      if (tty) std::fputc('\n', stderr);
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
      return fail("interrupted", 1);
    }
    auto s = client->send(service_name, ref_envelope(id), "status");
    if (!s) return fail(describe(s.error()), 1);
    auto sv = view_of(*s);
    if (!sv) return fail(describe(sv.error()), 1);
    cur = std::move(*sv);
    auto now = o.clock->now();
    if (tty) {
      std::fprintf(stderr, "\r%-110s", progress_line(cur, true).c_str());
      std::fflush(stderr);
    } else if (!o.quiet && now - last_line >= std::chrono::seconds{5}) {
      std::fprintf(stderr, "%s\n", progress_line(cur, false).c_str());
      last_line = now;
    }
    if (cur.state == "finished" || cur.state == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (tty) std::fputc('\n', stderr);
  if (!o.quiet) std::fprintf(stderr, "%s\n", progress_line(cur, false).c_str());
  print_leaderboard(cur);
  print_front(cur);
  std::printf("\n");
  if (!cur.model_dir.empty())
    std::printf("best model: %s\n", cur.model_dir.c_str());
  std::printf("%s\n", cur.message.c_str());
  return cur.state == "finished" ? 0 : 1;
}

int run_report(const report_options& o) {
  auto in = read_report_input(o.runs, o.study);
  if (!in) {
    std::fprintf(stderr, "troupe report: %s\n", describe(in.error()).c_str());
    return 1;
  }
  auto html = render_report(*in);
  std::ofstream out{o.out, std::ios::binary};
  out << html;
  out.close();
  if (!out) {
    std::fprintf(stderr, "troupe report: cannot write '%s'\n", o.out.c_str());
    return 1;
  }
  std::printf("report of study %s: %s (%zu trials)\n", o.study.c_str(),
              o.out.c_str(), in->trials.size());
  return 0;
}

} // namespace troupe::automl
