// The `troupe` program: the runtime's own subcommands (`node`, `shell`)
// and those of every family, each family's registrations gathered into one
// program_context.

#include "runtime/family.hpp"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "runtime/log.hpp"

namespace troupe {

kind_registrar all_kinds(const std::vector<family>& families) {
  return [families](caf::actor_system_config& cfg) {
    for (auto& f : families)
      if (f.kinds) f.kinds(cfg);
  };
}

namespace {

/// `troupe node`'s settings as parsed.
struct node_command {
  node_options node;
  std::vector<std::string> labels;
  std::string scheduler = "sharing";
  int64_t heartbeat_ms = 500;
  int64_t timeout_ms = 3000;
  int64_t connect_ms = 30000;
  CLI::App* cmd = nullptr;
};

void add_node_command(CLI::App& app, node_command& nc) {
  auto& node = nc.node;
  auto& labels = nc.labels;
  auto& scheduler = nc.scheduler;
  auto& heartbeat_ms = nc.heartbeat_ms;
  auto& timeout_ms = nc.timeout_ms;
  auto& connect_ms = nc.connect_ms;
  auto* node_cmd = app.add_subcommand("node", "run a cluster node");
  auto* head_flag = node_cmd->add_flag("--head", node.head, "run the head");
  node_cmd->add_option("--join", node.join, "HOST:PORT of the head to join")
      ->excludes(head_flag);
  node_cmd->add_option("--name", node.name,
                       "node name (default: head, or "
                       "the host name and pid)");
  node_cmd->add_option("--port", node.port, "port for nodes (head)")
      ->capture_default_str();
  node_cmd->add_option("--bind", node.bind, "address for nodes (head)")
      ->capture_default_str();
  node_cmd
      ->add_option("--gateway-port", node.gateway_port,
                   "RPC gateway port (head)")
      ->capture_default_str();
  node_cmd
      ->add_option("--gateway-threads", node.gateway_threads,
                   "RPC gateway threads (head; 0: one per core, at most 4)")
      ->capture_default_str();
  node_cmd
      ->add_option("--gateway-bind", node.gateway_bind,
                   "RPC gateway address (head)")
      ->capture_default_str();
  node_cmd->add_option("--data-dir", node.data_dir,
                       "data directory (default run/NAME)");
  node_cmd->add_option("--secret-file", node.secret_file,
                       "file holding the cluster secret");
  node_cmd->add_option("--slots", node.slots, "worker slots offered")
      ->capture_default_str();
  node_cmd->add_option("--label", labels, "label KEY=VALUE (repeatable)");
  node_cmd
      ->add_option("--log-level", node.log_level,
                   "trace|debug|info|warn|error|critical|off")
      ->capture_default_str();
  node_cmd->add_option("--log-file", node.log_file, "also log to this file");
  node_cmd
      ->add_option("--heartbeat-ms", heartbeat_ms, "heartbeat interval (head)")
      ->capture_default_str();
  node_cmd
      ->add_option("--node-timeout-ms", timeout_ms,
                   "a silent node is removed after this (head)")
      ->capture_default_str();
  node_cmd
      ->add_option("--connect-timeout-ms", connect_ms,
                   "how long a worker tries to reach the head")
      ->capture_default_str();
  node_cmd->add_option("--scheduler", scheduler, "sharing|stealing")
      ->capture_default_str();
  node_cmd->add_option("--threads", node.scheduler.threads,
                       "scheduler threads (0: one per core)");
  node_cmd
      ->add_option("--metrics-port", node.metrics_port,
                   "serve Prometheus /metrics on this port (0: off)")
      ->capture_default_str();
  node_cmd
      ->add_option("--metrics-bind", node.metrics_bind,
                   "address of the metrics endpoint")
      ->capture_default_str();

  nc.cmd = node_cmd;
}

int run_node_command(node_command& nc, const program_context& program) {
  auto& node = nc.node;
  auto& labels = nc.labels;
  auto& scheduler = nc.scheduler;
  auto heartbeat_ms = nc.heartbeat_ms;
  auto timeout_ms = nc.timeout_ms;
  auto connect_ms = nc.connect_ms;
  if (!node.head && node.join.empty()) {
    std::fprintf(stderr, "troupe node: give --head or --join HOST:PORT\n");
    return 2;
  }
  if (!log::valid_level(node.log_level)) {
    std::fprintf(stderr,
                 "troupe node: --log-level '%s' is not one of "
                 "trace|debug|info|warn|error|critical|off\n",
                 node.log_level.c_str());
    return 2;
  }
  if (scheduler != "sharing" && scheduler != "stealing") {
    std::fprintf(stderr,
                 "troupe node: --scheduler '%s' is not sharing or "
                 "stealing\n",
                 scheduler.c_str());
    return 2;
  }
  if (heartbeat_ms < 10 || timeout_ms < 2 * heartbeat_ms) {
    std::fprintf(stderr, "troupe node: need --heartbeat-ms >= 10 and "
                         "--node-timeout-ms >= 2 x heartbeat\n");
    return 2;
  }
  node.scheduler.policy = scheduler;
  node.heartbeat = std::chrono::milliseconds{heartbeat_ms};
  node.node_timeout = std::chrono::milliseconds{timeout_ms};
  node.connect_timeout = std::chrono::milliseconds{connect_ms};
  for (auto& kv : labels) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "troupe node: --label '%s' is not KEY=VALUE\n",
                   kv.c_str());
      return 2;
    }
    node.labels.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (node.name.empty()) {
    if (node.head) {
      node.name = "head";
    } else {
      char host[128] = {0};
      gethostname(host, sizeof(host) - 1);
      node.name = std::string{host} + "-" + std::to_string(getpid());
    }
  }
  log::init(node.name, node.log_level, node.log_file);
  program.add_head_services(node);
  program.add_node_services(node);
  return run_node(node, program.register_kinds);
}

} // namespace

int run_program(int argc, char** argv, const std::vector<family>& families) {
  CLI::App app{"troupe: a machine-learning production line as actors"};
  app.require_subcommand(1);

  node_command nc;
  add_node_command(app, nc);
  for (auto& f : families)
    if (f.node_flags) f.node_flags(*nc.cmd);

  shell_options shell;
  auto* shell_cmd = app.add_subcommand("shell", "interactive actor shell");
  shell_cmd->add_option("address", shell.address, "gateway HOST:PORT")
      ->capture_default_str();
  shell_cmd->add_option("-c", shell.commands, "run \"cmd; cmd\" and exit");
  shell_cmd->add_option("--history-file", shell.history_file,
                        "history file (default ~/.troupe_history)");

  shell_options status;
  auto* status_cmd = app.add_subcommand(
      "status", "the cluster's nodes, and who holds each of their slots");
  status_cmd->add_option("address", status.address, "gateway HOST:PORT")
      ->capture_default_str();

  std::vector<cli_command> commands;
  for (auto& f : families)
    if (f.commands)
      for (auto& c : f.commands(app))
        commands.push_back(std::move(c));

  CLI11_PARSE(app, argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);

  program_context program;
  program.register_kinds = all_kinds(families);
  program.add_head_services = [&families](node_options& node) {
    for (auto& f : families)
      if (f.head_services) f.head_services(node);
  };
  program.add_node_services = [&families](node_options& node) {
    for (auto& f : families)
      if (f.node_services) f.node_services(node);
  };
  if (*nc.cmd) return run_node_command(nc, program);
  if (*shell_cmd) {
    log::init("shell", "warn");
    std::vector<shell_extension> extensions;
    for (auto& f : families)
      if (f.shell) extensions.push_back(f.shell);
    return run_shell(shell, extensions);
  }
  if (*status_cmd) {
    log::init("shell", "warn");
    status.commands = "nodes; slots";
    return run_shell(status, {});
  }
  for (auto& c : commands)
    if (c.chosen()) return c.run(program);
  return 2;
}

} // namespace troupe
