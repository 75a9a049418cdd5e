// The NAS family's declaration: `troupe nas`.

#include "actors/nas/family.hpp"

#include <memory>

#include <CLI/CLI.hpp>

#include "actors/nas/cli.hpp"
#include "actors/nas/errors.hpp"

namespace troupe::nas {

namespace {

std::vector<cli_command> add_commands(CLI::App& app) {
  auto opts = std::make_shared<cli_options>();
  auto* cmd = add_nas_command(app, *opts);
  cli_command nas;
  nas.chosen = [cmd] { return cmd->parsed(); };
  nas.run = [opts](const program_context&) {
    return run_nas_command(std::move(*opts));
  };
  return {nas};
}

} // namespace

family declare_family() {
  family f;
  f.name = "nas";
  f.kinds = [](caf::actor_system_config&) {
    using cat = troupe::error_category_of<errc>;
    register_error_category(cat::value, &cat::name);
  };
  f.commands = add_commands;
  return f;
}

} // namespace troupe::nas
