// Model serving's declaration: its kinds, the head's "serving" service and
// RPC interface, `troupe predict` (a saved model here, or an endpoint), the
// serving commands (`serve`, `models`, `deploy`, ...) and the shell's
// deployment commands.

#include "actors/serving/family.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <CLI/CLI.hpp>

#include "actors/serving/cli.hpp"
#include "actors/serving/local_predict.hpp"
#include "actors/serving/rpc.hpp"
#include "actors/serving/service.hpp"
#include "actors/serving/shell.hpp"
#include "runtime/log.hpp"

namespace troupe::serving {

namespace {

/// `troupe predict`: with --model, a saved model in this process; with
/// --endpoint, a serving gateway.
int run_predict_command(predict_options& local, cli_options& remote) {
  log::init("predict", "warn");
  if (!remote.endpoint.empty()) {
    if (!local.model_dir.empty()) {
      std::fprintf(stderr, "troupe predict: give --model or --endpoint, "
                           "not both\n");
      return 2;
    }
    remote.data = local.data_path;
    remote.out = local.out_path;
    return run_remote_predict(remote);
  }
  if (local.model_dir.empty()) {
    std::fprintf(stderr, "troupe predict: give --model DIR (a saved model) "
                         "or --endpoint HOST:PORT (a serving gateway)\n");
    return 2;
  }
  return run_predict(local);
}

std::vector<cli_command> add_all_commands(CLI::App& app) {
  auto local = std::make_shared<predict_options>();
  auto opts = std::make_shared<cli_options>();
  auto* predict_cmd =
      app.add_subcommand("predict", "predict with a model saved by automl "
                                    "(or a sparse-lr job's directory)");
  predict_cmd->add_option("--model", local->model_dir, "model directory");
  predict_cmd->add_option("--data", local->data_path, "CSV to predict")
      ->required();
  predict_cmd->add_option("--out", local->out_path,
                          "output CSV (default stdout)");
  add_predict_options(*predict_cmd, *opts);
  add_commands(app, *opts);

  cli_command predict;
  predict.chosen = [predict_cmd] { return predict_cmd->parsed(); };
  predict.run = [local, opts](const program_context&) {
    return run_predict_command(*local, *opts);
  };
  cli_command serving;
  serving.chosen = [opts] { return chosen(*opts); };
  serving.run = [opts](const program_context& program) {
    bool serve = opts->serve_cmd->parsed();
    auto* level = std::getenv("TROUPE_LOG");
    log::init(serve ? "serve" : "serving",
              level ? level : (serve ? "info" : "warn"));
    node_options base;
    program.add_head_services(base);
    return run(*opts, program.register_kinds, std::move(base));
  };
  return {predict, serving};
}

} // namespace

family declare_family() {
  family f;
  f.name = "serving";
  f.kinds = register_kinds;
  f.head_services = [](node_options& node) {
    node.services.push_back({service_kind, service_name, {}});
    node.rpc_services.push_back(make_rpc_service());
  };
  f.commands = add_all_commands;
  f.shell = make_shell_extension();
  return f;
}

} // namespace troupe::serving
