// The demo family's declaration: its worker kind and `troupe demo`.

#include "actors/demo/family.hpp"

#include <cstdlib>
#include <memory>

#include <CLI/CLI.hpp>

#include "actors/demo/primes.hpp"
#include "runtime/log.hpp"

namespace troupe::demo {

namespace {

std::vector<cli_command> add_commands(CLI::App& app) {
  struct settings {
    size_t nodes = 3;
    size_t tasks = 12;
  };
  auto opts = std::make_shared<settings>();
  auto* cmd = app.add_subcommand(
      "demo", "form a cluster in this process, spawn workers, send them work");
  cmd->add_option("--nodes", opts->nodes, "nodes in the cluster")
      ->capture_default_str();
  cmd->add_option("--tasks", opts->tasks, "work items to send")
      ->capture_default_str();
  cli_command demo;
  demo.chosen = [cmd] { return cmd->parsed(); };
  demo.run = [opts](const program_context&) {
    auto* level = std::getenv("TROUPE_LOG");
    log::init("demo", level ? level : "warn");
    return run_demo(opts->nodes, opts->tasks);
  };
  return {demo};
}

} // namespace

family declare_family() {
  family f;
  f.name = "demo";
  f.kinds = register_kinds;
  f.commands = add_commands;
  return f;
}

} // namespace troupe::demo
