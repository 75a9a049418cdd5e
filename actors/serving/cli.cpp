#include "actors/serving/cli.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/models/saved_model.hpp"
#include "actors/serving/convert.hpp"
#include "actors/serving/prediction_log.hpp"
#include "actors/serving/registry.hpp"
#include "actors/serving/rpc.hpp"
#include "actors/serving/service.hpp"
#include "actors/serving/shell.hpp"
#include "actors/tabular/csv.hpp"
#include "runtime/bridge.hpp"
#include "runtime/client.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "runtime/time.hpp"
#include "schemas/serving.capnp.h"

namespace troupe::serving {

namespace fs = std::filesystem;

namespace {

int fail(const std::string& cmd, const std::string& what, int code = 1) {
  std::fprintf(stderr, "troupe %s: %s\n", cmd.c_str(), what.c_str());
  return code;
}

/// A version number: "3" or "v3", from 1 to 2^32 - 1.
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

/// The Predictor of the cluster at opts.cluster.
struct predictor_connection {
  std::unique_ptr<cluster_client> client;
  schema::Predictor::Client api = nullptr;
};

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

void add_file(capnp::List<schema::ModelFile>::Builder list, unsigned i,
              const std::string& name, const std::string& bytes) {
  list[i].setName(name);
  list[i].setSize(bytes.size());
  list[i].setChecksum(checksum(bytes.data(), bytes.size()));
  list[i].setContent(kj::arrayPtr(
      reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
}

/// Fills a Registration from the model files named in `opts`.
caf::error fill_registration(const cli_options& opts,
                             schema::Registration::Builder r) {
  int given = !opts.model_dir.empty() + !opts.xgboost_file.empty() +
              !opts.torchscript_file.empty();
  if (given != 1)
    return make_error(errc::invalid_argument,
                      "give exactly one of --model DIR, --xgboost FILE or "
                      "--torchscript FILE");
  std::vector<std::pair<std::string, std::string>> files;
  std::string format;
  std::string source;
  if (!opts.model_dir.empty()) {
    format = "troupe";
    source = opts.model_dir;
    std::error_code ec;
    if (!fs::is_directory(opts.model_dir, ec))
      return make_error(errc::not_found,
                        "--model " + opts.model_dir + " is not a directory");
    for (auto& e : fs::directory_iterator(opts.model_dir, ec)) {
      if (!e.is_regular_file()) continue;
      auto bytes = read_file(e.path());
      if (!bytes) return bytes.error();
      files.emplace_back(e.path().filename().string(), std::move(*bytes));
    }
    std::sort(files.begin(), files.end());
  } else {
    format = opts.xgboost_file.empty() ? "torchscript" : "xgboost";
    source =
        opts.xgboost_file.empty() ? opts.torchscript_file : opts.xgboost_file;
    if (opts.spec_file.empty())
      return make_error(errc::invalid_argument,
                        "--" + format +
                            " needs --spec SPEC.json (the "
                            "features, task and classes)");
    auto bytes = read_file(source);
    if (!bytes) return bytes.error();
    auto name = fs::path{source}.filename().string();
    if (name == "spec.json")
      name = "model" + fs::path{source}.extension().string();
    files.emplace_back(name, std::move(*bytes));
    auto spec = read_file(opts.spec_file);
    if (!spec) return spec.error();
    files.emplace_back("spec.json", std::move(*spec));
  }
  r.setName(opts.name);
  r.setFormat(format);
  auto fl = r.initFiles(static_cast<unsigned>(files.size()));
  for (unsigned i = 0; i < files.size(); ++i)
    add_file(fl, i, files[i].first, files[i].second);
  const char* user = std::getenv("USER");
  r.setRegisteredBy(user ? user : "unknown");
  r.setDescription(opts.description);
  std::error_code ec;
  auto abs = fs::absolute(source, ec);
  r.setSource(ec ? source : abs.string());
  auto ml = r.initMetrics(static_cast<unsigned>(opts.metrics.size()));
  for (unsigned i = 0; i < ml.size(); ++i) {
    auto& kv = opts.metrics[i];
    auto eq = kv.find('=');
    try {
      if (eq == std::string::npos || eq == 0) throw std::invalid_argument("");
      ml[i].setName(kv.substr(0, eq));
      ml[i].setValue(std::stod(kv.substr(eq + 1)));
    } catch (const std::exception&) {
      return make_error(errc::invalid_argument,
                        "--metric '" + kv + "' is not NAME=NUMBER");
    }
  }
  auto sl = r.initStages(static_cast<unsigned>(opts.stages.size()));
  for (unsigned i = 0; i < sl.size(); ++i)
    sl.set(i, opts.stages[i]);
  r.setAllowNan(!opts.disallow_nan);
  return caf::none;
}

caf::expected<deployment_settings> settings_of(const cli_options& opts,
                                               const std::string& name) {
  deployment_settings d;
  d.name = name;
  d.model = opts.model.empty() ? name : opts.model;
  d.version = opts.version;
  auto r = parse_replica_range(opts.replicas);
  if (!r) return r.error();
  d.min_replicas = r->first;
  d.max_replicas = r->second;
  d.max_batch_rows = opts.max_batch;
  d.max_queue_delay_us = opts.max_delay_us;
  d.queue_bound_rows = opts.queue_bound;
  d.target_in_flight = opts.target_in_flight;
  d.target_p99_ms = opts.target_p99_ms;
  d.upscale_delay_ms = opts.upscale_ms;
  d.downscale_delay_ms = opts.downscale_ms;
  size_t at = 0;
  while (!opts.features.empty() && at <= opts.features.size()) {
    auto end = opts.features.find(',', at);
    if (end == std::string::npos) end = opts.features.size();
    if (end > at)
      d.feature_groups.push_back(opts.features.substr(at, end - at));
    at = end + 1;
  }
  d.log_inputs = opts.log_inputs;
  d.threads_per_replica = opts.threads;
  if (auto err = validate(d)) return err;
  return d;
}

std::string describe_version(schema::ModelVersion::Reader v) {
  std::string out =
      std::string{v.getName()} + " v" + std::to_string(v.getVersion()) + " (" +
      std::string{v.getFormat()} + ", " + std::string{v.getTask()} + ", " +
      std::to_string(v.getFeatures().size()) + " features";
  for (auto m : v.getMetrics()) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), ", %s %.4g", m.getName().cStr(),
                  m.getValue());
    out += buf;
  }
  out += ")";
  if (v.getStages().size() > 0) {
    out += " [";
    for (unsigned i = 0; i < v.getStages().size(); ++i)
      out += (i ? "," : "") + std::string{v.getStages()[i]};
    out += "]";
  }
  out += " by " + std::string{v.getRegisteredBy()} + " at " +
         format_time(v.getRegisteredAt(), fraction::shortest);
  return out;
}

/// Prints a reply (root `T`) the way the shell shows it (`format`, from
/// actors/serving/shell.hpp), so that the CLI and the shell agree; a reply that
/// cannot be shown fails the call.
template <class T>
void print_as_shell(typename T::Reader r,
                    caf::expected<std::string> (*format)(const envelope&)) {
  capnp::MallocMessageBuilder mb;
  mb.setRoot(r);
  auto text = format(envelope::of<T>(mb));
  if (!text) throw rpc_failure(describe(text.error()));
  std::fputs(text->c_str(), stdout);
}

int run_serve(cli_options& opts, const kind_registrar& kinds,
              node_options node) {
  const std::string cmd = "serve";
  if (opts.name.empty()) {
    auto src = !opts.model_dir.empty()
                   ? opts.model_dir
                   : (!opts.xgboost_file.empty() ? opts.xgboost_file
                                                 : opts.torchscript_file);
    auto p = fs::path{src};
    auto stem = p.filename().string() == "best" || p.filename().empty()
                    ? p.parent_path().filename().string()
                    : p.stem().string();
    std::string clean;
    for (char c : stem)
      clean += std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                       c == '_' || c == '-'
                   ? c
                   : '-';
    opts.name = clean.empty() ? "model" : clean.substr(0, 64);
  }
  capnp::MallocMessageBuilder reg_msg;
  if (auto err =
          fill_registration(opts, reg_msg.initRoot<schema::Registration>()))
    return fail(cmd, describe(err), 2);
  auto settings = settings_of(opts, opts.name);
  if (!settings) return fail(cmd, describe(settings.error()), 2);
  settings->version = "latest";
  node.head = true;
  node.name = "head";
  node.port = 0;
  node.gateway_port = opts.port;
  node.gateway_bind = opts.bind;
  node.metrics_port = opts.metrics_port;
  node.data_dir = opts.data_dir;
  if (opts.gateway_threads > 0) node.gateway_threads = opts.gateway_threads;
  // One scheduler thread unless asked: here the actors only route (each
  // replica runs its batches on its engine thread, a registration on a
  // detached actor, the prediction log on its writer thread), and a second
  // worker only adds wake-ups between router and replica. Measured with
  // bench_serving's open loop at half of peak (11,000 preds/s, batching
  // 64/200 us), 6 alternating pairs: p99 4.7 ms with 1 thread against
  // 6.5 ms with 2 (median), every pair lower; closed-loop peak unchanged.
  node.scheduler.threads =
      opts.scheduler_threads > 0 ? opts.scheduler_threads : 1;
  node.slots = opts.slots > 0
                   ? opts.slots
                   : std::max(1u, std::thread::hardware_concurrency());
  std::error_code ec;
  fs::create_directories(opts.data_dir, ec);
  fs::remove(fs::path{opts.data_dir} / "head.json", ec);
  // signals stay blocked in every thread; the node's thread waits for them
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int code = 0;
  std::atomic<bool> ended{false};
  std::thread node_thread{[&] {
    code = run_node(node, kinds);
    ended = true;
  }};
  // wait for the head to write where its gateway listens
  uint16_t gport = 0;
  for (int i = 0; i < 600 && !ended && gport == 0; ++i) {
    std::ifstream in{fs::path{opts.data_dir} / "head.json"};
    if (in) {
      try {
        auto j = nlohmann::json::parse(in);
        gport = j.at("gateway_port").get<uint16_t>();
      } catch (const std::exception&) {
      }
    }
    if (gport == 0) std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  auto stop_node = [&] {
    if (!ended) kill(getpid(), SIGTERM);
    node_thread.join();
  };
  if (gport == 0) {
    stop_node();
    return fail(cmd, "the node did not start (see the log above)", 1);
  }
  auto address = opts.bind + ":" + std::to_string(gport);
  auto c = connect(address);
  if (!c) {
    stop_node();
    return fail(cmd, describe(c.error()));
  }
  auto version = rpc_call("register", [&] {
    auto req = c->api.registerRequest();
    req.setRegistration(reg_msg.getRoot<schema::Registration>().asReader());
    auto answer = c->client->wait(req.send());
    auto v = answer.getVersion();
    return std::make_pair(describe_version(v), v.getVersion());
  });
  if (!version) {
    stop_node();
    return fail(cmd, describe(version.error()));
  }
  auto status = rpc_call("deploy", [&] {
    auto req = c->api.deployRequest();
    to_schema(*settings, req.initSpec());
    req.getSpec().setVersion(std::to_string(version->second));
    return c->client->wait(req.send()).getStatus().getDesiredReplicas();
  });
  if (!status) {
    stop_node();
    return fail(cmd, describe(status.error()));
  }
  std::printf("troupe serve: %s\n", version->first.c_str());
  std::printf("troupe serve: deployment %s on %s (Predictor over "
              "Cluster.service(\"serving\")), %u..%u replicas, metrics on "
              "http://%s:%u/metrics; Ctrl-C stops\n",
              opts.name.c_str(), address.c_str(), settings->min_replicas,
              settings->max_replicas, opts.bind.c_str(), opts.metrics_port);
  std::fflush(stdout);
  c->api = nullptr;
  c->client.reset();
  node_thread.join();
  return code;
}

int run_register(cli_options& opts) {
  const std::string cmd = "models register";
  capnp::MallocMessageBuilder msg;
  if (auto err = fill_registration(opts, msg.initRoot<schema::Registration>()))
    return fail(cmd, describe(err), 2);
  auto c = connect(opts.cluster);
  if (!c) return fail(cmd, describe(c.error()));
  auto v = rpc_call("register", [&] {
    auto req = c->api.registerRequest();
    req.setRegistration(msg.getRoot<schema::Registration>().asReader());
    auto answer = c->client->wait(req.send());
    return describe_version(answer.getVersion());
  });
  if (!v) return fail(cmd, describe(v.error()));
  std::printf("registered %s\n", v->c_str());
  return 0;
}

int run_list(cli_options& opts) {
  auto c = connect(opts.cluster);
  if (!c) return fail("models list", describe(c.error()));
  auto out = rpc_call("models", [&] {
    auto req = c->api.modelsRequest();
    req.setName(opts.name);
    std::vector<std::string> lines;
    auto answer = c->client->wait(req.send());
    for (auto v : answer.getList().getVersions())
      lines.push_back(describe_version(v));
    return lines;
  });
  if (!out) return fail("models list", describe(out.error()));
  for (auto& l : *out)
    std::printf("%s\n", l.c_str());
  if (out->empty()) std::printf("no models registered\n");
  return 0;
}

int run_stage(cli_options& opts) {
  auto c = connect(opts.cluster);
  if (!c) return fail("models stage", describe(c.error()));
  auto parsed = parse_version(opts.version);
  if (!parsed) return fail("models stage", describe(parsed.error()), 2);
  auto version = *parsed;
  auto out = rpc_call("stage", [&] {
    auto req = c->api.setStageRequest();
    req.setName(opts.name);
    req.setVersion(version);
    req.setStage(opts.stage);
    req.setOn(!opts.off);
    auto answer = c->client->wait(req.send());
    return describe_version(answer.getVersion());
  });
  if (!out) return fail("models stage", describe(out.error()));
  std::printf("%s\n", out->c_str());
  return 0;
}

/// Runs a call that answers a DeploymentStatus and prints it.
template <class F>
int status_call(cli_options& opts, const std::string& cmd, F&& make) {
  auto c = connect(opts.cluster);
  if (!c) return fail(cmd, describe(c.error()));
  auto out = rpc_call(cmd, [&] {
    auto answer = make(*c);
    print_as_shell<schema::DeploymentStatus>(answer.getStatus(),
                                             format_deployment);
    return true;
  });
  if (!out) return fail(cmd, describe(out.error()));
  return 0;
}

} // namespace

void add_commands(CLI::App& app, cli_options& o) {
  auto model_files = [&o](CLI::App* c) {
    c->add_option("--model", o.model_dir, "model directory saved by automl");
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
  if (opts.deploy_cmd->parsed()) {
    auto d = settings_of(opts, opts.name);
    if (!d) return fail("deploy", describe(d.error()), 2);
    return status_call(opts, "deploy", [&](predictor_connection& c) {
      auto req = c.api.deployRequest();
      to_schema(*d, req.initSpec());
      return c.client->wait(req.send());
    });
  }
  if (opts.deployments_cmd->parsed()) {
    if (!opts.name.empty())
      return status_call(opts, "deployment", [&](predictor_connection& c) {
        auto req = c.api.deploymentRequest();
        req.setName(opts.name);
        return c.client->wait(req.send());
      });
    auto c = connect(opts.cluster);
    if (!c) return fail("deployments", describe(c.error()));
    auto out = rpc_call("deployments", [&] {
      auto list = c->client->wait(c->api.deploymentsRequest().send());
      print_as_shell<schema::DeploymentList>(list.getList(),
                                             format_deployments);
      return true;
    });
    if (!out) return fail("deployments", describe(out.error()));
    return 0;
  }
  if (opts.scale_cmd->parsed()) {
    auto r = parse_replica_range(opts.replicas);
    if (!r) return fail("scale", describe(r.error()), 2);
    return status_call(opts, "scale", [&](predictor_connection& c) {
      auto req = c.api.scaleRequest();
      req.setName(opts.name);
      req.setMinReplicas(r->first);
      req.setMaxReplicas(r->second);
      return c.client->wait(req.send());
    });
  }
  if (opts.traffic_cmd->parsed()) {
    auto w = parse_weights(opts.weights);
    if (!w) return fail("traffic", describe(w.error()), 2);
    return status_call(opts, "traffic", [&](predictor_connection& c) {
      auto req = c.api.setTrafficRequest();
      req.setName(opts.name);
      auto l = req.initWeights(static_cast<unsigned>(w->size()));
      unsigned i = 0;
      for (auto& [v, weight] : *w) {
        l[i].setVersion(v);
        l[i].setWeight(weight);
        ++i;
      }
      return c.client->wait(req.send());
    });
  }
  if (opts.promote_cmd->parsed()) {
    auto parsed = parse_version(opts.version);
    if (!parsed) return fail("promote", describe(parsed.error()), 2);
    auto v = *parsed;
    return status_call(opts, "promote", [&](predictor_connection& c) {
      auto req = c.api.promoteRequest();
      req.setName(opts.name);
      req.setVersion(v);
      return c.client->wait(req.send());
    });
  }
  if (opts.rollback_cmd->parsed())
    return status_call(opts, "rollback", [&](predictor_connection& c) {
      auto req = c.api.rollbackRequest();
      req.setName(opts.name);
      return c.client->wait(req.send());
    });
  if (opts.undeploy_cmd->parsed()) {
    auto c = connect(opts.cluster);
    if (!c) return fail("undeploy", describe(c.error()));
    auto out = rpc_call("undeploy", [&] {
      auto req = c->api.undeployRequest();
      req.setName(opts.name);
      c->client->wait(req.send());
      return true;
    });
    if (!out) return fail("undeploy", describe(out.error()));
    std::printf("undeployed %s\n", opts.name.c_str());
    return 0;
  }
  if (opts.export_cmd->parsed()) {
    prediction_log_options lo;
    auto dir = (fs::path{opts.data_dir} / "serving" / "predictions").string();
    std::error_code ec;
    if (!fs::exists(fs::path{dir} / "data.mdb", ec))
      return fail("predictions export", "no prediction log in " + dir +
                                            " (give the head's --data-dir)");
    auto log = prediction_log::open(dir, lo);
    if (!log) return fail("predictions export", describe(log.error()));
    export_filter f;
    f.deployment = opts.deployment;
    if (!opts.since.empty()) {
      auto t = parse_time(opts.since, "s");
      if (!t) return fail("predictions export", describe(t.error()), 2);
      f.since_us = *t;
    }
    caf::expected<size_t> n = size_t{0};
    if (opts.out.empty()) {
      n = (*log)->export_low_confidence(opts.low_confidence, std::cout, f);
    } else {
      atomic_file out{opts.out};
      n = (*log)->export_low_confidence(opts.low_confidence, out.stream(), f);
      if (n)
        if (auto err = out.commit())
          return fail("predictions export", describe(err));
    }
    if (!n) return fail("predictions export", describe(n.error()));
    std::fprintf(stderr, "troupe predictions export: %zu rows below %g\n", *n,
                 opts.low_confidence);
    return 0;
  }
  return 2;
}

int run_remote_predict(const cli_options& opts) {
  const std::string cmd = "predict";
  auto table = tabular::read_csv(opts.data);
  if (!table) return fail(cmd, describe(table.error()), 2);
  auto c = connect(opts.endpoint);
  if (!c) return fail(cmd, describe(c.error()));
  auto deployment = opts.deployment;
  if (deployment.empty()) {
    auto names = rpc_call("deployments", [&] {
      std::vector<std::string> out;
      auto list = c->client->wait(c->api.deploymentsRequest().send());
      for (auto s : list.getList().getDeployments())
        out.push_back(s.getSpec().getName());
      return out;
    });
    if (!names) return fail(cmd, describe(names.error()));
    if (names->size() != 1)
      return fail(cmd,
                  std::to_string(names->size()) +
                      " deployments there: name one with --deployment",
                  2);
    deployment = names->front();
  }
  const tabular::column* entity_col = nullptr;
  if (!opts.entities_column.empty()) {
    entity_col = table->find(opts.entities_column);
    if (!entity_col)
      return fail(cmd,
                  "no column '" + opts.entities_column + "' in " + opts.data +
                      " (columns: " + table->column_list() + ")",
                  2);
  }
  tabular::prediction_table out;
  size_t rows = table->rows();
  size_t step = std::max<size_t>(1, opts.batch_rows);
  for (size_t at = 0; at < rows; at += step) {
    auto n = std::min(step, rows - at);
    auto res = rpc_call(
        "predict rows " + std::to_string(at + 1) + ".." +
            std::to_string(at + n),
        [&] {
          auto req = c->api.predictRequest();
          auto r = req.initRequest();
          r.setDeployment(deployment);
          if (entity_col) {
            auto es = r.initEntities(static_cast<unsigned>(n));
            for (unsigned i = 0; i < n; ++i)
              es.set(i, entity_col->text[at + i]);
          } else {
            auto cols =
                r.initColumns(static_cast<unsigned>(table->columns.size()));
            for (unsigned k = 0; k < cols.size(); ++k)
              cols.set(k, table->columns[k].name);
            auto rl = r.initRows(static_cast<unsigned>(n));
            for (unsigned i = 0; i < n; ++i) {
              auto cells = rl[i].initCells(cols.size());
              for (unsigned k = 0; k < cols.size(); ++k) {
                auto& col = table->columns[k];
                if (col.is_missing(at + i)) continue;
                if (col.kind == tabular::column_kind::numeric)
                  cells[k].setNumber(col.numbers[at + i]);
                else
                  cells[k].setText(col.text[at + i]);
              }
            }
          }
          auto reply = c->client->wait(req.send());
          auto answer = reply.getResponse();
          if (answer.getPredictions().size() != n)
            throw rpc_failure("the server answered " +
                              std::to_string(answer.getPredictions().size()) +
                              " predictions for " + std::to_string(n) +
                              " rows");
          if (out.columns.empty()) {
            out.columns.push_back("prediction");
            auto classes = answer.getClasses();
            if (classes.size() == 2)
              out.columns.push_back("p_" + std::string{classes[1]});
            else if (classes.size() > 2)
              for (auto cl : classes)
                out.columns.push_back("p_" + std::string{cl});
          }
          for (auto p : answer.getPredictions()) {
            auto scores = p.getScores();
            if (p.getLabel().size() > 0) {
              out.prediction.push_back(p.getLabel());
            } else {
              // the shortest text, as local `predict` writes
              char buf[32];
              auto end = std::to_chars(buf, buf + sizeof(buf),
                                       scores.size() ? scores[0] : NAN)
                             .ptr;
              out.prediction.emplace_back(buf, end);
            }
            for (auto s : scores)
              out.scores.push_back(s);
          }
          return true;
        });
    if (!res) return fail(cmd, describe(res.error()));
  }
  if (out.columns.empty()) out.columns.push_back("prediction");
  if (opts.out.empty()) {
    tabular::write_predictions(std::cout, out);
  } else {
    atomic_file file{opts.out};
    tabular::write_predictions(file.stream(), out);
    if (auto err = file.commit()) return fail(cmd, describe(err));
  }
  return 0;
}

} // namespace troupe::serving
