// The training family's declaration: `troupe train`.

#include "actors/training/family.hpp"

#include <cstdlib>
#include <memory>

#include <CLI/CLI.hpp>

#include "actors/training/cli.hpp"
#include "actors/training/service.hpp"
#include "actors/training/shell.hpp"
#include "runtime/log.hpp"

namespace troupe::training {

namespace {

std::vector<cli_command> add_commands(CLI::App& app) {
  auto opts = std::make_shared<train_options>();
  auto* cmd = add_train_command(app, *opts);
  cli_command train;
  train.chosen = [cmd] { return cmd->parsed(); };
  train.run = [opts](const program_context& program) {
    auto* level = std::getenv("TROUPE_LOG");
    log::init("train", level ? level : "error");
    return run_train_command(*opts, program.register_kinds);
  };
  return {train};
}

} // namespace

family declare_family() {
  family f;
  f.name = "training";
  f.kinds = register_kinds;
  f.head_services = [](node_options& node) {
    node.services.push_back({service_kind, service_name, {}});
  };
  f.commands = add_commands;
  f.shell = [](shell_backend& core) { return shell_commands(core); };
  return f;
}

} // namespace troupe::training
