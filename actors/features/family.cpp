// The feature store's declaration: its kinds, the head's "features" service
// and RPC interface, `troupe node --feature-shards` and the RESP endpoint a
// node may serve (`--resp-port`), `troupe features` and the shell's feature
// commands.

#include "actors/features/family.hpp"

#include <cstdlib>
#include <memory>

#include <CLI/CLI.hpp>

#include "actors/features/cli.hpp"
#include "actors/features/resp_endpoint.hpp"
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
  // The node's RESP endpoint (`--resp-port`, 0: none).
  auto resp = std::make_shared<resp_endpoint_options>();
  family f;
  f.name = "features";
  f.kinds = [](caf::actor_system_config& cfg) { register_kinds(cfg); };
  f.node_flags = [shards, resp](CLI::App& node) {
    node.add_option("--feature-shards", *shards,
                    "shards of a new feature store (head)")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    node.add_option("--resp-port", resp->port,
                    "serve feature reads over the Redis protocol (RESP) on "
                    "this port (0: off)")
        ->capture_default_str();
    node.add_option("--resp-bind", resp->host, "address of the RESP endpoint")
        ->capture_default_str();
    node.add_option("--resp-threads", resp->threads,
                    "threads of the RESP endpoint")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
  };
  f.node_services = [resp](node_options& node) {
    if (resp->port == 0) return;
    node.extensions.push_back([resp](const node_context& ctx)
                                  -> caf::expected<std::shared_ptr<void>> {
      auto e = resp_endpoint::start(ctx.sys, ctx.directory, ctx.name, *resp,
                                    real_clock());
      if (!e) return e.error();
      return std::shared_ptr<void>{std::move(*e)};
    });
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
