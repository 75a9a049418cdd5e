#pragma once

// How an actor family joins troupe. Each family declares, in one place
// (actors/<family>/family.cpp), everything it adds: its actor kinds, the
// services a head runs for it and the RPC interfaces its gateway serves,
// options of its own on `troupe node`, its `troupe` subcommands and its shell
// commands. The runtime knows no family by name: actors/main.cpp lists the
// families and hands them to run_program, the way CAF's actor_system_config
// takes actor types and the gateway takes rpc_service entries.

#include <functional>
#include <string>
#include <vector>

#include "runtime/node.hpp"
#include "runtime/shell.hpp"

namespace CLI {
class App;
} // namespace CLI

namespace troupe {

/// What a family's command is given when it runs: the whole program's
/// registrations, since an embedded cluster that a command starts runs every
/// family's kinds and head services.
struct program_context {
  /// Registers every family's actor kinds.
  kind_registrar register_kinds;
  /// Adds every family's head services and RPC interfaces to `node`.
  std::function<void(node_options& node)> add_head_services;
  /// Adds every family's node extensions to `node` (`troupe node`).
  std::function<void(node_options& node)> add_node_services;
};

/// One `troupe` subcommand (or group of them) of a family.
struct cli_command {
  /// Whether the user chose it (after parsing).
  std::function<bool()> chosen;
  /// Runs it; returns the process exit code.
  std::function<int(const program_context& program)> run;
};

/// Everything a family adds to troupe. Every member may be empty.
struct family {
  /// The family's name, for messages.
  std::string name;
  /// Registers the family's actor kinds (cfg.add_actor_type).
  kind_registrar kinds;
  /// Adds the services a head runs for the family (node.services) and the
  /// RPC interfaces its gateway serves (node.rpc_services).
  std::function<void(node_options& node)> head_services;
  /// Adds options of the family's own to the `troupe node` subcommand.
  std::function<void(CLI::App& node_command)> node_flags;
  /// Adds what every node (head or worker) runs for the family beside its
  /// actors (node.extensions), as its flags say.
  std::function<void(node_options& node)> node_services;
  /// Adds the family's subcommands to `app`; returns them.
  std::function<std::vector<cli_command>(CLI::App& app)> commands;
  /// The family's shell commands.
  shell_extension shell;
};

/// The whole program of every family: every family's kinds registered.
kind_registrar all_kinds(const std::vector<family>& families);

/// The `troupe` program: the runtime's `node` and `shell` subcommands and
/// every family's; parses `argv`, runs the chosen command and returns its
/// exit code (2 for bad usage).
int run_program(int argc, char** argv, const std::vector<family>& families);

} // namespace troupe
