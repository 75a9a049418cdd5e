// The validation family's declaration: `troupe validate`.

#include "actors/validation/family.hpp"

#include <memory>

#include <CLI/CLI.hpp>

#include "actors/validation/cli.hpp"
#include "runtime/log.hpp"

namespace troupe::validation {

namespace {

std::vector<cli_command> add_commands(CLI::App& app) {
  auto opts = std::make_shared<cli_options>();
  auto* cmd = add_command(app, *opts);
  cli_command validate;
  validate.chosen = [cmd] { return cmd->parsed(); };
  validate.run = [opts](const program_context&) {
    log::init("validate", "warn");
    return run(*opts);
  };
  return {validate};
}

} // namespace

family declare_family() {
  family f;
  f.name = "validation";
  f.commands = add_commands;
  return f;
}

} // namespace troupe::validation
