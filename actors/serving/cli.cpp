#include "actors/serving/cli.hpp"

#include <charconv>
#include <cstdio>

#include "actors/serving/cli_detail.hpp"
#include "actors/serving/service.hpp"
#include "runtime/errors.hpp"

namespace troupe::serving {

namespace cli_detail {

int fail(const std::string& cmd, const std::string& what, int code) {
  std::fprintf(stderr, "troupe %s: %s\n", cmd.c_str(), what.c_str());
  return code;
}

caf::expected<uint32_t> parse_version(const std::string& text) {
  auto digits = text.size() > 1 && text[0] == 'v' ? text.substr(1) : text;
  uint32_t v = 0;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc{} ||
      end != digits.data() + digits.size() || v == 0)
    return make_error(errc::invalid_argument,
                      "version '" + text + "' is not a number from 1 up");
  return v;
}

caf::expected<predictor_connection> connect(const std::string& address) {
  auto hp = parse_host_port(address, "127.0.0.1", 7701);
  if (!hp) return hp.error();
  auto c = cluster_client::connect(hp->first, hp->second);
  if (!c) return c.error();
  auto cap = (*c)->service(service_name);
  if (!cap) return cap.error();
  predictor_connection out;
  out.api = cap->template castAs<schema::Predictor>();
  out.client = std::move(*c);
  return out;
}

} // namespace cli_detail

using namespace cli_detail;

void add_commands(CLI::App& app, cli_options& o) {
  auto model_files = [&o](CLI::App* c) {
    c->add_option("--model", o.model_dir,
                  "model directory saved by automl, or a sparse-lr "
                  "training job's output directory");
    c->add_option("--xgboost", o.xgboost_file, "XGBoost model file");
    c->add_option("--torchscript", o.torchscript_file, "TorchScript file");
    c->add_option("--spec", o.spec_file,
                  "feature spec (preprocessor.json format) for "
                  "--xgboost/--torchscript");
    c->add_option("--description", o.description, "free text");
    c->add_option("--metric", o.metrics, "NAME=VALUE (repeatable)");
    c->add_flag("--no-nan", o.disallow_nan,
                "refuse rows with a missing (NaN) feature");
  };
  auto batching = [&o](CLI::App* c) {
    c->add_option("--replicas", o.replicas, "MIN:MAX replicas")
        ->capture_default_str();
    c->add_option("--max-batch", o.max_batch, "rows per batch (1: off)")
        ->capture_default_str();
    c->add_option("--max-delay-us", o.max_delay_us,
                  "longest wait for a batch to fill")
        ->capture_default_str();
    c->add_option("--queue-bound", o.queue_bound,
                  "rows queued per replica before 'overloaded'")
        ->capture_default_str();
    c->add_option("--target-in-flight", o.target_in_flight,
                  "autoscaling: rows in flight per replica")
        ->capture_default_str();
    c->add_option("--target-p99-ms", o.target_p99_ms,
                  "autoscaling: more replicas while the p99 latency is above "
                  "it (0: latency ignored)")
        ->capture_default_str();
    c->add_option("--upscale-delay-ms", o.upscale_ms)->capture_default_str();
    c->add_option("--downscale-delay-ms", o.downscale_ms)
        ->capture_default_str();
    c->add_option("--features", o.features,
                  "G1,G2: feature groups looked up for entity requests");
    c->add_option("--log-inputs", o.log_inputs, "values|hash")
        ->capture_default_str();
    c->add_option("--threads", o.threads, "threads per replica")
        ->capture_default_str();
  };
  auto cluster = [&o](CLI::App* c) {
    c->add_option("--cluster", o.cluster, "gateway HOST:PORT")
        ->capture_default_str();
  };

  o.serve_cmd = app.add_subcommand(
      "serve", "serve a model on this machine (registers and deploys it)");
  model_files(o.serve_cmd);
  batching(o.serve_cmd);
  o.serve_cmd->add_option("--name", o.name, "deployment and model name");
  o.serve_cmd->add_option("--port", o.port, "gateway port")
      ->capture_default_str();
  o.serve_cmd->add_option("--bind", o.bind, "gateway address")
      ->capture_default_str();
  o.serve_cmd
      ->add_option("--metrics-port", o.metrics_port,
                   "Prometheus /metrics port (0: off)")
      ->capture_default_str();
  o.serve_cmd->add_option("--data-dir", o.data_dir, "node data directory")
      ->capture_default_str();
  o.serve_cmd->add_option("--slots", o.slots,
                          "replica slots (default: one per core)");
  o.serve_cmd->add_option("--gateway-threads", o.gateway_threads,
                          "RPC gateway threads (default: one per core, at "
                          "most 4)");
  o.serve_cmd->add_option(
      "--scheduler-threads", o.scheduler_threads,
      "actor scheduler threads (default: 1; the replicas run "
      "their batches on their own threads)");

  o.models_cmd = app.add_subcommand("models", "the model registry");
  o.models_cmd->require_subcommand(1);
  o.register_cmd = o.models_cmd->add_subcommand("register", "register a model");
  o.register_cmd->add_option("name", o.name, "model name")->required();
  model_files(o.register_cmd);
  o.register_cmd->add_option("--stage", o.stages,
                             "staging|production|canary (repeatable)");
  cluster(o.register_cmd);
  o.list_cmd = o.models_cmd->add_subcommand("list", "list model versions");
  o.list_cmd->add_option("name", o.name, "model name (default: all)");
  cluster(o.list_cmd);
  o.stage_cmd = o.models_cmd->add_subcommand("stage", "label a version");
  o.stage_cmd->add_option("name", o.name)->required();
  o.stage_cmd->add_option("version", o.version)->required();
  o.stage_cmd->add_option("stage", o.stage, "staging|production|canary")
      ->required();
  o.stage_cmd->add_flag("--off", o.off, "remove the label");
  cluster(o.stage_cmd);

  o.deploy_cmd = app.add_subcommand("deploy", "deploy a registered model");
  o.deploy_cmd->add_option("name", o.name, "deployment name")->required();
  o.deploy_cmd->add_option("--model", o.model, "model (default: NAME)");
  o.deploy_cmd->add_option("--version", o.version, "N, latest or a stage")
      ->capture_default_str();
  batching(o.deploy_cmd);
  cluster(o.deploy_cmd);

  o.deployments_cmd = app.add_subcommand("deployments", "list deployments");
  o.deployments_cmd->add_option("name", o.name, "one deployment");
  cluster(o.deployments_cmd);
  o.scale_cmd = app.add_subcommand("scale", "set a deployment's replicas");
  o.scale_cmd->add_option("name", o.name)->required();
  o.scale_cmd->add_option("replicas", o.replicas, "MIN:MAX or N")->required();
  cluster(o.scale_cmd);
  o.traffic_cmd =
      app.add_subcommand("traffic", "split traffic between versions");
  o.traffic_cmd->add_option("name", o.name)->required();
  o.traffic_cmd->add_option("weights", o.weights, "e.g. 1=90,2=10")->required();
  cluster(o.traffic_cmd);
  o.promote_cmd =
      app.add_subcommand("promote", "send all traffic to a version");
  o.promote_cmd->add_option("name", o.name)->required();
  o.promote_cmd->add_option("version", o.version)->required();
  cluster(o.promote_cmd);
  o.rollback_cmd =
      app.add_subcommand("rollback", "send all traffic back to the stable "
                                     "version");
  o.rollback_cmd->add_option("name", o.name)->required();
  cluster(o.rollback_cmd);
  o.undeploy_cmd = app.add_subcommand("undeploy", "stop a deployment");
  o.undeploy_cmd->add_option("name", o.name)->required();
  cluster(o.undeploy_cmd);

  o.predictions_cmd = app.add_subcommand("predictions", "the prediction log");
  o.predictions_cmd->require_subcommand(1);
  o.export_cmd = o.predictions_cmd->add_subcommand(
      "export", "write logged predictions below a confidence as CSV");
  o.export_cmd
      ->add_option("--low-confidence", o.low_confidence,
                   "export rows whose confidence is below this")
      ->capture_default_str();
  o.export_cmd
      ->add_option("--data-dir", o.data_dir, "the head's data directory")
      ->capture_default_str();
  o.export_cmd->add_option("--deployment", o.deployment, "only this one");
  o.export_cmd->add_option("--since", o.since, "only from this time on");
  o.export_cmd->add_option("--out", o.out, "CSV file (default stdout)");
}

void add_predict_options(CLI::App& predict, cli_options& o) {
  predict.add_option("--endpoint", o.endpoint,
                     "HOST:PORT of a serving gateway (instead of --model)");
  predict.add_option("--deployment", o.deployment,
                     "deployment to ask (with --endpoint; default: the only "
                     "one)");
  predict.add_option("--batch-rows", o.batch_rows, "rows per request")
      ->capture_default_str();
  predict.add_option("--entity", o.entities_column,
                     "predict by entity ids in this column (features looked "
                     "up by the deployment)");
}

bool chosen(const cli_options& o) {
  for (auto* c : {o.serve_cmd, o.models_cmd, o.deploy_cmd, o.deployments_cmd,
                  o.scale_cmd, o.traffic_cmd, o.promote_cmd, o.rollback_cmd,
                  o.undeploy_cmd, o.predictions_cmd})
    if (c && c->parsed()) return true;
  return false;
}

int run(cli_options& opts, const kind_registrar& kinds, node_options node) {
  if (opts.serve_cmd->parsed()) return run_serve(opts, kinds, std::move(node));
  if (opts.register_cmd->parsed()) return run_register(opts);
  if (opts.list_cmd->parsed()) return run_list(opts);
  if (opts.stage_cmd->parsed()) return run_stage(opts);
  if (opts.deploy_cmd->parsed()) return run_deploy(opts);
  if (opts.deployments_cmd->parsed()) return run_deployments(opts);
  if (opts.scale_cmd->parsed()) return run_scale(opts);
  if (opts.traffic_cmd->parsed()) return run_traffic(opts);
  if (opts.promote_cmd->parsed()) return run_promote(opts);
  if (opts.rollback_cmd->parsed()) return run_rollback(opts);
  if (opts.undeploy_cmd->parsed()) return run_undeploy(opts);
  if (opts.export_cmd->parsed()) return run_export(opts);
  return 2;
}

} // namespace troupe::serving
