// The `troupe` executable: the one place that knows every actor family and
// wires their subcommands.

#include <unistd.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "actors/demo/primes.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "runtime/shell.hpp"

namespace {

/// Registers every actor family's kinds.
void register_all_kinds(caf::actor_system_config& cfg) {
  troupe::demo::register_kinds(cfg);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"troupe: a machine-learning production line as actors"};
  app.require_subcommand(1);

  // troupe node
  troupe::node_options node;
  std::vector<std::string> labels;
  std::string scheduler = "sharing";
  int64_t heartbeat_ms = 500;
  int64_t timeout_ms = 3000;
  int64_t connect_ms = 30000;
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
      ->add_option("--gateway-bind", node.gateway_bind,
                   "RPC gateway address (head)")
      ->capture_default_str();
  node_cmd->add_option("--data-dir", node.data_dir,
                       "data directory (head; default run/NAME)");
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

  // troupe shell
  troupe::shell_options shell;
  auto* shell_cmd = app.add_subcommand("shell", "interactive actor shell");
  shell_cmd->add_option("address", shell.address, "gateway HOST:PORT")
      ->capture_default_str();
  shell_cmd->add_option("-c", shell.commands, "run \"cmd; cmd\" and exit");
  shell_cmd->add_option("--history-file", shell.history_file,
                        "history file (default ~/.troupe_history)");

  // troupe demo
  size_t demo_nodes = 3;
  size_t demo_tasks = 12;
  auto* demo_cmd = app.add_subcommand(
      "demo", "form a cluster in this process, spawn workers, send them work");
  demo_cmd->add_option("--nodes", demo_nodes, "nodes in the cluster")
      ->capture_default_str();
  demo_cmd->add_option("--tasks", demo_tasks, "work items to send")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);

  if (*node_cmd) {
    if (!node.head && node.join.empty()) {
      std::fprintf(stderr, "troupe node: give --head or --join HOST:PORT\n");
      return 2;
    }
    if (!troupe::log::valid_level(node.log_level)) {
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
    troupe::log::init(node.name, node.log_level, node.log_file);
    return troupe::run_node(node, register_all_kinds);
  }
  if (*shell_cmd) {
    troupe::log::init("shell", "warn");
    return troupe::run_shell(shell);
  }
  if (*demo_cmd) {
    troupe::log::init(
        "demo", std::getenv("TROUPE_LOG") ? std::getenv("TROUPE_LOG") : "warn");
    return troupe::demo::run_demo(demo_nodes, demo_tasks);
  }
  return 2;
}
