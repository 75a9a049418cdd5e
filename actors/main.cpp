// The `troupe` executable: the one place that knows every actor family and
// wires their subcommands.

#include <unistd.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "actors/automl/cli.hpp"
#include "actors/automl/predict.hpp"
#include "actors/automl/service.hpp"
#include "actors/demo/primes.hpp"
#include "actors/features/cli.hpp"
#include "actors/features/rpc.hpp"
#include "actors/features/service.hpp"
#include "actors/serving/cli.hpp"
#include "actors/serving/rpc.hpp"
#include "actors/serving/service.hpp"
#include "actors/validation/cli.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "runtime/shell.hpp"

namespace {

/// Registers every actor family's kinds.
void register_all_kinds(caf::actor_system_config& cfg) {
  troupe::demo::register_kinds(cfg);
  troupe::automl::register_kinds(cfg);
  troupe::features::register_kinds(cfg);
  troupe::serving::register_kinds(cfg);
}

/// The services every head runs, and the RPC interfaces its gateway serves.
void add_head_services(troupe::node_options& node, uint32_t feature_shards) {
  node.services.push_back(
      {troupe::automl::service_kind, troupe::automl::service_name, {}});
  node.services.push_back({troupe::features::service_kind,
                           troupe::features::service_name,
                           "shards=" + std::to_string(feature_shards)});
  node.services.push_back(
      {troupe::serving::service_kind, troupe::serving::service_name, {}});
  node.rpc_services.push_back(troupe::features::make_rpc_service());
  node.rpc_services.push_back(troupe::serving::make_rpc_service());
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"troupe: a machine-learning production line as actors"};
  app.require_subcommand(1);

  // troupe node
  troupe::node_options node;
  std::vector<std::string> labels;
  std::string scheduler = "sharing";
  int64_t heartbeat_ms = 500;
  int64_t timeout_ms = 3000;
  int64_t connect_ms = 30000;
  auto* node_cmd = app.add_subcommand("node", "run a cluster node");
  auto* head_flag = node_cmd->add_flag("--head", node.head, "run the head");
  node_cmd->add_option("--join", node.join, "HOST:PORT of the head to join")
      ->excludes(head_flag);
  node_cmd->add_option("--name", node.name,
                       "node name (default: head, or "
                       "the host name and pid)");
  node_cmd->add_option("--port", node.port, "port for nodes (head)")
      ->capture_default_str();
  node_cmd->add_option("--bind", node.bind, "address for nodes (head)")
      ->capture_default_str();
  node_cmd
      ->add_option("--gateway-port", node.gateway_port,
                   "RPC gateway port (head)")
      ->capture_default_str();
  node_cmd
      ->add_option("--gateway-threads", node.gateway_threads,
                   "RPC gateway threads (head; 0: one per core, at most 4)")
      ->capture_default_str();
  node_cmd
      ->add_option("--gateway-bind", node.gateway_bind,
                   "RPC gateway address (head)")
      ->capture_default_str();
  node_cmd->add_option("--data-dir", node.data_dir,
                       "data directory (default run/NAME)");
  node_cmd->add_option("--secret-file", node.secret_file,
                       "file holding the cluster secret");
  node_cmd->add_option("--slots", node.slots, "worker slots offered")
      ->capture_default_str();
  node_cmd->add_option("--label", labels, "label KEY=VALUE (repeatable)");
  node_cmd
      ->add_option("--log-level", node.log_level,
                   "trace|debug|info|warn|error|critical|off")
      ->capture_default_str();
  node_cmd->add_option("--log-file", node.log_file, "also log to this file");
  node_cmd
      ->add_option("--heartbeat-ms", heartbeat_ms, "heartbeat interval (head)")
      ->capture_default_str();
  node_cmd
      ->add_option("--node-timeout-ms", timeout_ms,
                   "a silent node is removed after this (head)")
      ->capture_default_str();
  node_cmd
      ->add_option("--connect-timeout-ms", connect_ms,
                   "how long a worker tries to reach the head")
      ->capture_default_str();
  node_cmd->add_option("--scheduler", scheduler, "sharing|stealing")
      ->capture_default_str();
  node_cmd->add_option("--threads", node.scheduler.threads,
                       "scheduler threads (0: one per core)");
  uint32_t feature_shards = 4;
  node_cmd
      ->add_option("--feature-shards", feature_shards,
                   "shards of a new feature store (head)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  node_cmd
      ->add_option("--metrics-port", node.metrics_port,
                   "serve Prometheus /metrics on this port (0: off)")
      ->capture_default_str();
  node_cmd
      ->add_option("--metrics-bind", node.metrics_bind,
                   "address of the metrics endpoint")
      ->capture_default_str();

  // troupe shell
  troupe::shell_options shell;
  auto* shell_cmd = app.add_subcommand("shell", "interactive actor shell");
  shell_cmd->add_option("address", shell.address, "gateway HOST:PORT")
      ->capture_default_str();
  shell_cmd->add_option("-c", shell.commands, "run \"cmd; cmd\" and exit");
  shell_cmd->add_option("--history-file", shell.history_file,
                        "history file (default ~/.troupe_history)");

  // troupe demo
  size_t demo_nodes = 3;
  size_t demo_tasks = 12;
  auto* demo_cmd = app.add_subcommand(
      "demo", "form a cluster in this process, spawn workers, send them work");
  demo_cmd->add_option("--nodes", demo_nodes, "nodes in the cluster")
      ->capture_default_str();
  demo_cmd->add_option("--tasks", demo_tasks, "work items to send")
      ->capture_default_str();

  // troupe automl
  troupe::automl::automl_options am;
  auto& sp = am.spec;
  auto* automl_cmd = app.add_subcommand(
      "automl", "search models for a dataset (a study), refit the best");
  automl_cmd->add_option("--data", sp.data_path, "training CSV");
  automl_cmd->add_option("--target", sp.target, "target column");
  automl_cmd->add_option("--test", sp.test_path,
                         "test CSV (scored at the end)");
  automl_cmd->add_option("--metric", sp.metric,
                         "auc|logloss|accuracy|ks|rmse|mae (default by task)");
  automl_cmd->add_option("--task", am.task,
                         "binary|multiclass|regression (default: inferred)");
  auto* budget_opt = automl_cmd->add_option(
      "--budget", am.budget, "wall-clock budget: 90s, 10m, 1h (default 10m)");
  budget_opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  automl_cmd->add_option("--trials", sp.max_trials, "trial budget")
      ->excludes(budget_opt);
  automl_cmd
      ->add_option("--slots", am.slots,
                   "embedded: parallel trials (default: one per core)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  automl_cmd
      ->add_option("--scheduler", sp.scheduler,
                   "asha|hyperband|bohb|median|none")
      ->capture_default_str();
  automl_cmd->add_option("--sampler", sp.sampler, "tpe|random")
      ->capture_default_str();
  automl_cmd->add_option("--cluster", am.cluster,
                         "gateway HOST:PORT of a cluster (default: embedded)");
  automl_cmd->add_option("--out", am.out, "output and journal directory")
      ->capture_default_str();
  automl_cmd->add_option("--seed", sp.seed, "random seed")
      ->capture_default_str();
  automl_cmd->add_option("--folds", sp.folds, "k-fold CV (0: 25% holdout)")
      ->capture_default_str();
  automl_cmd->add_option("--space", am.space_file,
                         "search space override (.json or .toml)");
  automl_cmd->add_option("--study", sp.id, "study id (default: data-time)");
  automl_cmd->add_option("--resume", am.resume,
                         "continue a study of the journal in --out");
  automl_cmd->add_option("--weight", am.weight, "fair-share weight")
      ->capture_default_str();
  automl_cmd
      ->add_option("--max-rounds", sp.max_resource,
                   "boosting rounds of a full trial")
      ->capture_default_str();
  automl_cmd
      ->add_option("--min-rounds", sp.min_resource, "rounds of the first rung")
      ->capture_default_str();
  automl_cmd->add_option("--eta", sp.eta, "reduction factor")
      ->capture_default_str();
  automl_cmd->add_option("--every", sp.every, "report every N rounds")
      ->capture_default_str();
  automl_cmd->add_option("--threads", sp.threads, "threads per slot")
      ->capture_default_str();
  automl_cmd->add_option("--family", sp.family, "xgboost|quadratic")
      ->capture_default_str();
  automl_cmd->add_option("--sleep-ms", sp.sleep_ms,
                         "quadratic family: sleep per step");
  automl_cmd->add_flag("--quiet", am.quiet, "no progress bar");

  // troupe predict
  troupe::automl::predict_options pr;
  auto* predict_cmd =
      app.add_subcommand("predict", "predict with a model saved by automl");
  troupe::serving::cli_options sv;
  auto* model_opt =
      predict_cmd->add_option("--model", pr.model_dir, "model directory");
  predict_cmd->add_option("--data", pr.data_path, "CSV to predict")->required();
  predict_cmd->add_option("--out", pr.out_path, "output CSV (default stdout)");
  troupe::serving::add_predict_options(*predict_cmd, sv);
  (void)model_opt;

  // troupe serve, models, deploy, deployments, scale, traffic, promote,
  // rollback, undeploy, predictions
  troupe::serving::add_commands(app, sv);

  // troupe features
  troupe::features::cli_options fe;
  auto* features_cmd = troupe::features::add_command(app, fe);

  // troupe validate
  troupe::validation::cli_options va;
  auto* validate_cmd = troupe::validation::add_command(app, va);

  CLI11_PARSE(app, argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);

  if (*node_cmd) {
    if (!node.head && node.join.empty()) {
      std::fprintf(stderr, "troupe node: give --head or --join HOST:PORT\n");
      return 2;
    }
    if (!troupe::log::valid_level(node.log_level)) {
      std::fprintf(stderr,
                   "troupe node: --log-level '%s' is not one of "
                   "trace|debug|info|warn|error|critical|off\n",
                   node.log_level.c_str());
      return 2;
    }
    if (scheduler != "sharing" && scheduler != "stealing") {
      std::fprintf(stderr,
                   "troupe node: --scheduler '%s' is not sharing or "
                   "stealing\n",
                   scheduler.c_str());
      return 2;
    }
    if (heartbeat_ms < 10 || timeout_ms < 2 * heartbeat_ms) {
      std::fprintf(stderr, "troupe node: need --heartbeat-ms >= 10 and "
                           "--node-timeout-ms >= 2 x heartbeat\n");
      return 2;
    }
    node.scheduler.policy = scheduler;
    node.heartbeat = std::chrono::milliseconds{heartbeat_ms};
    node.node_timeout = std::chrono::milliseconds{timeout_ms};
    node.connect_timeout = std::chrono::milliseconds{connect_ms};
    for (auto& kv : labels) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::fprintf(stderr, "troupe node: --label '%s' is not KEY=VALUE\n",
                     kv.c_str());
        return 2;
      }
      node.labels.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    if (node.name.empty()) {
      if (node.head) {
        node.name = "head";
      } else {
        char host[128] = {0};
        gethostname(host, sizeof(host) - 1);
        node.name = std::string{host} + "-" + std::to_string(getpid());
      }
    }
    troupe::log::init(node.name, node.log_level, node.log_file);
    add_head_services(node, feature_shards);
    return troupe::run_node(node, register_all_kinds);
  }
  if (*shell_cmd) {
    troupe::log::init("shell", "warn");
    return troupe::run_shell(shell);
  }
  if (*demo_cmd) {
    troupe::log::init(
        "demo", std::getenv("TROUPE_LOG") ? std::getenv("TROUPE_LOG") : "warn");
    return troupe::demo::run_demo(demo_nodes, demo_tasks);
  }
  if (*automl_cmd) {
    troupe::log::init("automl", std::getenv("TROUPE_LOG")
                                    ? std::getenv("TROUPE_LOG")
                                    : "error");
    return troupe::automl::run_automl(std::move(am), register_all_kinds);
  }
  if (*features_cmd) {
    troupe::log::init("features", std::getenv("TROUPE_LOG")
                                      ? std::getenv("TROUPE_LOG")
                                      : "error");
    return troupe::features::run(fe, register_all_kinds);
  }
  if (*validate_cmd) {
    troupe::log::init("validate", "warn");
    return troupe::validation::run(va);
  }
  if (*predict_cmd) {
    troupe::log::init("predict", "warn");
    if (!sv.endpoint.empty()) {
      if (!pr.model_dir.empty()) {
        std::fprintf(stderr, "troupe predict: give --model or --endpoint, "
                             "not both\n");
        return 2;
      }
      sv.data = pr.data_path;
      sv.out = pr.out_path;
      return troupe::serving::run_remote_predict(sv);
    }
    if (pr.model_dir.empty()) {
      std::fprintf(stderr, "troupe predict: give --model DIR (a saved model) "
                           "or --endpoint HOST:PORT (a serving gateway)\n");
      return 2;
    }
    return troupe::automl::run_predict(pr);
  }
  if (troupe::serving::chosen(sv)) {
    bool serve = sv.serve_cmd->parsed();
    troupe::log::init(serve ? "serve" : "serving",
                      std::getenv("TROUPE_LOG") ? std::getenv("TROUPE_LOG")
                                                : (serve ? "info" : "warn"));
    troupe::node_options base;
    add_head_services(base, feature_shards);
    return troupe::serving::run(sv, register_all_kinds, std::move(base));
  }
  return 2;
}
