// The AutoML family's declaration: its actor kinds, the head's "automl"
// service, `troupe automl` and the shell's study commands.

#include "actors/automl/family.hpp"

#include <cstdlib>
#include <memory>

#include <CLI/CLI.hpp>

#include "actors/automl/cli.hpp"
#include "actors/automl/service.hpp"
#include "actors/automl/shell.hpp"
#include "runtime/log.hpp"

namespace troupe::automl {

namespace {

std::vector<cli_command> add_commands(CLI::App& app) {
  auto opts = std::make_shared<automl_options>();
  auto& am = *opts;
  auto& sp = am.spec;
  auto* cmd = app.add_subcommand(
      "automl", "search models for a dataset (a study), refit the best");
  cmd->add_option("--data", sp.data_path, "training CSV");
  cmd->add_option("--images", sp.images,
                  "Fashion-MNIST's IDX files' directory instead of --data "
                  "(mlp trials run as jobs: --workers-per-trial N >= 2)");
  cmd->add_option("--target", sp.target, "target column");
  cmd->add_option("--test", sp.test_path, "test CSV (scored at the end)");
  cmd->add_option("--metric", sp.metric,
                  "auc|logloss|accuracy|ks|rmse|mae (default by task)");
  cmd->add_option("--objectives", am.objectives,
                  "multi-objective: METRIC[,latency][,model-size]; the "
                  "result is the Pareto front (secondary ones minimized)");
  cmd->add_option("--task", am.task,
                  "binary|multiclass|regression (default: inferred)");
  auto* budget_opt = cmd->add_option(
      "--budget", am.budget, "wall-clock budget: 90s, 10m, 1h (default 10m)");
  budget_opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--trials", sp.max_trials, "trial budget")
      ->excludes(budget_opt);
  cmd->add_option("--slots", am.slots,
                  "embedded: parallel trials (default: one per core)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--scheduler", sp.scheduler,
                  "asha|hyperband|bohb|pbt|median|none")
      ->capture_default_str();
  cmd->add_option("--sampler", sp.sampler, "tpe|random")->capture_default_str();
  cmd->add_option("--cluster", am.cluster,
                  "gateway HOST:PORT of a cluster (default: embedded)");
  cmd->add_option("--out", am.out, "output and journal directory")
      ->capture_default_str();
  cmd->add_option("--seed", sp.seed, "random seed")->capture_default_str();
  cmd->add_option("--folds", sp.folds, "k-fold CV (0: 25% holdout)")
      ->capture_default_str();
  cmd->add_option("--space", am.space_file,
                  "search space override (.json or .toml)");
  cmd->add_option("--study", sp.id, "study id (default: data-time)");
  cmd->add_option("--resume", am.resume,
                  "continue a study of the journal in --out");
  cmd->add_option("--weight", am.weight, "fair-share weight")
      ->capture_default_str();
  cmd->add_option("--priority", sp.priority,
                  "priority among the cluster's work (higher first)")
      ->capture_default_str();
  cmd->add_flag("--preemptible", sp.preemptible,
                "higher-priority work may take the study's slots back (their "
                "trials are re-queued)");
  cmd->add_option("--max-rounds", sp.max_resource,
                  "boosting rounds of a full trial")
      ->capture_default_str();
  cmd->add_option("--min-rounds", sp.min_resource, "rounds of the first rung")
      ->capture_default_str();
  cmd->add_option("--eta", sp.eta, "reduction factor")->capture_default_str();
  cmd->add_option("--every", sp.every, "report every N rounds")
      ->capture_default_str();
  cmd->add_option("--patience", sp.patience,
                  "a trial stops after N rounds without improving (0: never)")
      ->capture_default_str();
  cmd->add_option("--ensemble", sp.ensemble,
                  "ensemble selection over the N best trials (0: the best)")
      ->capture_default_str();
  cmd->add_option("--ensemble-method", sp.ensemble_method,
                  "caruana (weighted greedy selection) or stacking (a "
                  "linear meta-model, kept when it beats caruana out of "
                  "fold)")
      ->capture_default_str();
  cmd->add_flag("--no-warm-start{false}", sp.warm_start,
                "do not seed the study with past studies' best configurations");
  cmd->add_option("--derived-from", sp.derived_from,
                  "studies whose data this data derives from (A,B): their "
                  "best configurations seed this study first");
  cmd->add_option("--threads", sp.threads, "threads per slot")
      ->capture_default_str();
  sp.family = "all";
  cmd->add_option("--families,--family", sp.family,
                  "model families searched together (CASH): all, or a list "
                  "of xgboost,rf,linear,knn,mlp; one family tunes only it "
                  "(sparse-lr: the parameter server's FTRL, each trial a "
                  "job; quadratic: the synthetic test family)")
      ->capture_default_str();
  cmd->add_option("--workers-per-trial", sp.workers_per_trial,
                  "each trial is a training job of N workers on a gang of "
                  "slots: mlp with N >= 2 (data-parallel LibTorch), or "
                  "sparse-lr (parameter-server workers, and one shard; "
                  "default 1)");
  cmd->add_option("--sleep-ms", sp.sleep_ms,
                  "quadratic family: sleep per step");
  cmd->add_flag("--quiet", am.quiet, "no progress bar");
  cli_command automl;
  automl.chosen = [cmd] { return cmd->parsed(); };
  automl.run = [opts, cmd](const program_context& program) {
    opts->max_given = cmd->count("--max-rounds") > 0;
    opts->min_given = cmd->count("--min-rounds") > 0;
    opts->every_given = cmd->count("--every") > 0;
    auto* level = std::getenv("TROUPE_LOG");
    log::init("automl", level ? level : "error");
    return run_automl(std::move(*opts), program.register_kinds);
  };
  auto report = std::make_shared<report_options>();
  auto* rep = app.add_subcommand(
      "report", "write a study's report: one self-contained HTML file");
  rep->add_option("study", report->study, "the study's id")->required();
  rep->add_option("--runs", report->runs,
                  "the directory holding the journal (troupe automl --out)")
      ->capture_default_str();
  rep->add_option("--out", report->out, "the HTML file to write")
      ->capture_default_str();
  cli_command report_cmd;
  report_cmd.chosen = [rep] { return rep->parsed(); };
  report_cmd.run = [report](const program_context&) {
    return run_report(*report);
  };
  return {automl, report_cmd};
}

} // namespace

family declare_family() {
  family f;
  f.name = "automl";
  f.kinds = register_kinds;
  f.head_services = [](node_options& node) {
    node.services.push_back({service_kind, service_name, {}});
  };
  f.commands = add_commands;
  f.shell = [](shell_backend& core) { return shell_commands(core); };
  return f;
}

} // namespace troupe::automl
