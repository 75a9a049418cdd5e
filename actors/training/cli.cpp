#include "actors/training/cli.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "actors/training/job_config.hpp"
#include "actors/training/job_journal.hpp"
#include "actors/training/service.hpp"
#include "actors/training/wire.hpp"
#include "runtime/client.hpp"
#include "runtime/command_cluster.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

std::string progress_line(const job_view& v) {
  char buf[256];
  auto pct = v.steps ? 100.0 * static_cast<double>(v.step) / v.steps : 0.0;
  double eta = v.step && v.steps > v.step
                   ? v.elapsed_ms / 1000.0 * (v.steps - v.step) / v.step
                   : 0;
  std::snprintf(buf, sizeof(buf),
                "job %s %s: step %llu/%llu (%.0f%%), %llu examples, %.0f "
                "examples/s, ETA %.0fs",
                v.id.c_str(), v.state.c_str(),
                static_cast<unsigned long long>(v.step),
                static_cast<unsigned long long>(v.steps), pct,
                static_cast<unsigned long long>(v.examples), v.per_second, eta);
  std::string out = buf;
  // a sparse-lr job's validation every valid_every steps
  if (!std::isnan(v.logloss) && !v.ended()) {
    std::snprintf(buf, sizeof(buf), ", valid logloss %.4f AUC %.4f", v.logloss,
                  v.auc);
    out += buf;
  }
  return out;
}

std::string absolute(const std::string& p) {
  return std::filesystem::absolute(p).lexically_normal().string();
}

} // namespace

CLI::App* add_train_command(CLI::App& app, train_options& o) {
  auto* cmd = app.add_subcommand(
      "train", "run a training job: sparse-lr (a parameter-server logistic "
               "regression over hashed features), xgboost, mlp or "
               "torchscript (a user's module; data-parallel), pipeline "
               "(the mlp net cut into stage actors) or tensor (a classifier "
               "whose layers are split over the workers)");
  auto* config = cmd->add_option("--config", o.config, "the job's TOML file");
  cmd->add_option("--resume", o.resume,
                  "continue job ID of the journal in --out (or on "
                  "--cluster) from its last checkpoint")
      ->excludes(config);
  cmd->add_option("--cluster", o.cluster,
                  "gateway HOST:PORT of a cluster (default: embedded)");
  cmd->add_option("--out", o.out, "where model.json and summary.json go")
      ->capture_default_str();
  cmd->add_option("--job", o.id, "the job's id (default: train-N)");
  cmd->add_option("--workers", o.workers,
                  "N or MIN:MAX workers instead of the config's: an elastic "
                  "gang (xgboost, mlp) regroups on MIN..MAX slots")
      ->excludes("--resume");
  cmd->add_option("--slots", o.slots,
                  "embedded: slots of the one node (default: what the job "
                  "needs, at least one per core)");
  cmd->add_flag("--quiet", o.quiet, "no progress line");
  return cmd;
}

int run_train_command(const train_options& o, const kind_registrar& kinds) {
  auto fail = [](const std::string& what, int code) {
    std::fprintf(stderr, "troupe train: %s\n", what.c_str());
    return code;
  };
  if (o.config.empty() && o.resume.empty())
    return fail("give --config FILE, or --resume JOB", 2);
  std::string toml, origin;
  if (!o.resume.empty()) {
    if (o.cluster.empty()) {
      // the job's config is in the journal of --out (read, then closed:
      // the embedded head opens it again)
      auto journal = job_journal::open(o.out + "/jobs");
      if (!journal) return fail(describe(journal.error()), 2);
      auto stored = (*journal)->job(o.resume);
      if (!stored) return fail(describe(stored.error()), 2);
      auto sub = stored->visit<schema::JobSubmit>([](auto r) {
        return std::make_pair(std::string{r.getConfig().cStr()},
                              std::string{r.getOrigin().cStr()});
      });
      if (!sub) return fail(describe(sub.error()), 1);
      toml = sub->first;
      origin = sub->second;
    }
  } else {
    std::ifstream in{o.config, std::ios::binary};
    if (!in) return fail("cannot read job config '" + o.config + "'", 2);
    std::ostringstream text;
    text << in.rdbuf();
    toml = text.str();
    origin = absolute(o.config);
  }
  // checked here first, so that a bad config never starts a cluster
  auto cfg = toml.empty() ? caf::expected<job_config>{job_config{}}
                          : parse_job_config(toml, origin);
  if (!cfg) return fail(describe(cfg.error()), 2);
  if (!o.workers.empty())
    if (auto err = override_workers(*cfg, o.workers))
      return fail("--workers: " + describe(err), 2);
  // parameter-server shards take slots; a graph's shard actors ride along
  // on its workers' nodes
  auto slot_shards = cfg->family == "sparse-lr" ? cfg->shards : 0u;
  auto need = std::max(1u, cfg->workers + slot_shards);
  auto least = std::max(1u, cfg->min_workers + slot_shards);
  auto slots =
      o.slots ? o.slots : std::max(need, std::thread::hardware_concurrency());
  if (o.cluster.empty() && slots < least)
    return fail("--slots " + std::to_string(slots) + ": the job needs " +
                    std::to_string(least) +
                    (slot_shards ? " (workers + shards)" : " (workers)"),
                2);
  // embedded: a one-node cluster in this process, data in --out
  auto cluster = open_command_cluster(
      o.cluster, slots, kinds, {{service_kind, service_name, {}}}, o.out);
  if (!cluster)
    return fail(describe(cluster.error()), command_exit_code(cluster.error()));
  auto& client = cluster->client;
  auto out_dir =
      cluster->embedded || o.out != "runs/train" ? absolute(o.out) : "";
  caf::expected<envelope> first = caf::error{};
  if (!o.resume.empty()) {
    auto ref =
        make_envelope<schema::JobRef>([&](auto r) { r.setId(o.resume); });
    first = client->send(service_name, ref, "resume");
  } else {
    // the data travels with the job: each file the config names goes to
    // the head's dataset cache (nothing moves when it holds those bytes)
    std::vector<std::pair<std::string, dataset_ref>> uploaded;
    for (auto& path : data_files(*cfg)) {
      auto ref = client->upload_dataset(path);
      if (!ref) return fail(describe(ref.error()), 2);
      uploaded.emplace_back(path, *ref);
    }
    auto submit = make_envelope<schema::JobSubmit>([&](auto s) {
      s.setId(o.id);
      s.setConfig(toml);
      s.setOrigin(origin);
      s.setOutDir(out_dir);
      s.setWorkers(o.workers);
      auto list = s.initDatasets(static_cast<unsigned>(uploaded.size()));
      for (unsigned i = 0; i < uploaded.size(); ++i) {
        list[i].setPath(uploaded[i].first);
        write_ref(list[i].initData(), uploaded[i].second);
      }
    });
    first = client->send(service_name, submit, "submit");
  }
  if (!first) return fail(describe(first.error()), 2);
  auto v = job_view_of(*first);
  if (!v) return fail(describe(v.error()), 1);
  auto id = v->id;
  if (cfg->family == "xgboost")
    std::printf("job %s: xgboost, %u worker(s) x %u thread(s), %u rounds\n",
                id.c_str(), cfg->workers, cfg->threads, cfg->rounds);
  else if (cfg->family == "mlp" || cfg->family == "torchscript")
    std::printf("job %s: %s, %u worker(s) x %u thread(s), global batch %u, "
                "%u epochs\n",
                id.c_str(), cfg->family.c_str(), cfg->workers, cfg->threads,
                cfg->batch / cfg->workers * cfg->workers, cfg->epochs);
  else if (cfg->family == "tensor")
    std::printf("job %s: tensor, every layer split over %u worker(s) x %u "
                "thread(s), batch %u, %u epochs\n",
                id.c_str(), cfg->workers, cfg->threads, cfg->batch,
                cfg->epochs);
  else if (cfg->family == "graphsage")
    std::printf("job %s: graphsage, %u worker(s) x %u thread(s) sampling "
                "through %u graph shard(s), batch %u, fanouts %u x %u, %u "
                "epochs\n",
                id.c_str(), cfg->workers, cfg->threads, cfg->shards, cfg->batch,
                cfg->graph.fanouts[0], cfg->graph.fanouts[1], cfg->epochs);
  else if (cfg->family == "pipeline")
    std::printf("job %s: pipeline, %u stage(s) x %u thread(s), batch %u in "
                "%u micro-batches (%s), %u epochs\n",
                id.c_str(), cfg->stages, cfg->threads, cfg->batch, cfg->micro,
                cfg->schedule.c_str(), cfg->epochs);
  else
    std::printf("job %s: %s, %u worker(s), %u shard(s), %s\n", id.c_str(),
                cfg->family.c_str(), cfg->workers, cfg->shards,
                cfg->consistency.c_str());
  if (!o.resume.empty())
    std::printf("job %s: resumed from step %llu\n", id.c_str(),
                static_cast<unsigned long long>(v->checkpoint_step));
  auto shown_checkpoint = v->checkpoint_step;
  std::fflush(stdout);
  bool tty = isatty(STDERR_FILENO) && !o.quiet;
  auto ref = make_envelope<schema::JobRef>([&](auto r) { r.setId(id); });
  auto last_line = std::chrono::steady_clock::now();
  std::string shown_alert;
  for (;;) {
    auto s = client->send(service_name, ref, "status");
    if (!s) return fail(describe(s.error()), 1);
    auto sv = job_view_of(*s);
    if (!sv) return fail(describe(sv.error()), 1);
    v = std::move(sv);
    if (v->checkpoint_step != shown_checkpoint) {
      shown_checkpoint = v->checkpoint_step;
      if (tty) std::fputc('\n', stderr);
      std::printf("job %s: checkpoint at step %llu\n", id.c_str(),
                  static_cast<unsigned long long>(shown_checkpoint));
      std::fflush(stdout);
    }
    if (v->alert != shown_alert) {
      shown_alert = v->alert;
      if (tty) std::fputc('\n', stderr);
      std::printf("job %s: %s\n", id.c_str(),
                  shown_alert.empty() ? "alert cleared"
                                      : ("ALERT " + shown_alert).c_str());
      std::fflush(stdout);
    }
    if (tty) {
      std::fprintf(stderr, "\r%-100s", progress_line(*v).c_str());
      std::fflush(stderr);
    } else if (!o.quiet && std::chrono::steady_clock::now() - last_line >=
                               std::chrono::seconds{5}) {
      std::fprintf(stderr, "%s\n", progress_line(*v).c_str());
      last_line = std::chrono::steady_clock::now();
    }
    if (v->state == "finished" || v->state == "failed" || v->state == "stopped")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  if (tty) std::fputc('\n', stderr);
  if (v->state != "finished")
    return fail("job " + id + " " + v->state + ": " + v->message,
                v->bad_input ? 2 : 1);
  std::printf("trained %llu examples, %.0f examples/s, on",
              static_cast<unsigned long long>(v->examples), v->per_second);
  for (auto& p : v->placement)
    std::printf(" %s", p.c_str());
  std::printf("\nvalidation:");
  // the summary's metrics, in a fixed order (they depend on the task)
  auto summary = nlohmann::json::parse(v->summary, nullptr, false);
  const char* sep = " ";
  if (summary.is_object() && summary.contains("valid"))
    for (auto [k, label] : {std::pair{"logloss", "logloss"},
                            {"auc", "AUC"},
                            {"ks", "KS"},
                            {"accuracy", "accuracy"},
                            {"rmse", "RMSE"},
                            {"mae", "MAE"}})
      if (summary["valid"].contains(k) && summary["valid"][k].is_number()) {
        std::printf("%s%s %.6f", sep, label, summary["valid"][k].get<double>());
        sep = ", ";
      }
  // a graph job tests held-out nodes: against always answering the
  // commonest class
  if (summary.is_object() && summary.contains("majority_accuracy") &&
      summary["majority_accuracy"].is_number())
    std::printf(" (held-out nodes; the majority class: accuracy %.6f)",
                summary["majority_accuracy"].get<double>());
  // where the workers' time went, all of them together
  if (!v->usage.empty()) {
    time_split sum;
    for (auto& u : v->usage)
      sum += u.split;
    std::printf("\nworkers' time: %s (%zu worker(s), %.1f s)",
                describe_split(sum).c_str(), v->usage.size(), sum.total());
  }
  std::printf("\n%s\n", v->message.c_str());
  return 0;
}

} // namespace troupe::training
