// The training family's declaration: `troupe train`.

#include "actors/training/family.hpp"

#include <memory>

#include <CLI/CLI.hpp>

#include "actors/training/cli.hpp"

namespace troupe::training {

namespace {

std::vector<cli_command> add_commands(CLI::App& app) {
  auto opts = std::make_shared<train_options>();
  auto* cmd = add_train_command(app, *opts);
  cli_command train;
  train.chosen = [cmd] { return cmd->parsed(); };
  train.run = [opts](const program_context&) {
    return run_train_command(*opts);
  };
  return {train};
}

} // namespace

family declare_family() {
  family f;
  f.name = "training";
  f.commands = add_commands;
  return f;
}

} // namespace troupe::training
