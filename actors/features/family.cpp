// The feature store's declaration: its kinds, the head's "features" service
// and RPC interface, `troupe node --feature-shards`, `troupe features` and the
// shell's feature commands.

#include "actors/features/family.hpp"

#include <cstdlib>
#include <memory>

#include <CLI/CLI.hpp>

#include "actors/features/cli.hpp"
#include "actors/features/rpc.hpp"
#include "actors/features/service.hpp"
#include "actors/features/shell.hpp"
#include "runtime/log.hpp"

namespace troupe::features {

namespace {

std::vector<cli_command> add_commands(CLI::App& app) {
  auto opts = std::make_shared<cli_options>();
  auto* cmd = add_command(app, *opts);
  cli_command features;
  features.chosen = [cmd] { return cmd->parsed(); };
  features.run = [opts](const program_context& program) {
    auto* level = std::getenv("TROUPE_LOG");
    log::init("features", level ? level : "error");
    return run(*opts, program.register_kinds);
  };
  return {features};
}

} // namespace

family declare_family() {
  // Shards of a new feature store, set by `troupe node --feature-shards`.
  auto shards = std::make_shared<uint32_t>(4);
  family f;
  f.name = "features";
  f.kinds = [](caf::actor_system_config& cfg) { register_kinds(cfg); };
  f.node_flags = [shards](CLI::App& node) {
    node.add_option("--feature-shards", *shards,
                    "shards of a new feature store (head)")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
  };
  f.head_services = [shards](node_options& node) {
    node.services.push_back(
        {service_kind, service_name, "shards=" + std::to_string(*shards)});
    node.rpc_services.push_back(make_rpc_service());
  };
  f.commands = add_commands;
  f.shell = make_shell_extension();
  return f;
}

} // namespace troupe::features
