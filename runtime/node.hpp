#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "runtime/gateway.hpp"

namespace troupe {

class metrics_registry;

/// The process's metrics registry: what `--metrics-port` serves.
metrics_registry& process_metrics();

/// Registers actor kinds (CAF actor factories) with a config. The `troupe`
/// binary passes one that knows every actor family.
using kind_registrar = std::function<void(caf::actor_system_config&)>;

/// Scheduler settings of a node's actor system.
struct scheduler_options {
  /// "sharing" (the default) or "stealing" (CAF's).
  std::string policy = "sharing";
  /// Worker threads; 0 = one per core.
  size_t threads = 0;
  /// Threads that deserialize incoming remote messages; 0 = the network
  /// thread itself (fewer hand-offs, lower latency on small machines).
  size_t basp_workers = 0;
};

/// Marks an actor kind as a service: its actors do not take one of their
/// node's worker slots (services and workers of the families, which hand out
/// the slots themselves). Process-wide; call it where the kind is registered.
void mark_service_kind(const std::string& kind);

/// True if `kind` was marked with mark_service_kind.
bool is_service_kind(const std::string& kind);

/// An actor the head spawns on itself when it starts, registered under
/// `name`; its kind_args.config is `config`, or the head's data directory
/// when that is empty (kind_args.data_dir is the data directory either way).
struct head_service {
  std::string kind;
  std::string name;
  std::string config;
};

/// What a node extension is started with.
struct node_context {
  caf::actor_system& sys;
  /// The cluster's directory (on a worker, its proxy).
  caf::actor directory;
  /// The node's name.
  std::string name;
};

/// Something a family runs beside a node's actors (a RESP endpoint, say),
/// started once the node runs, head or worker; what it returns is kept
/// until the node stops. An error stops the node.
using node_extension =
    std::function<caf::expected<std::shared_ptr<void>>(const node_context&)>;

/// Everything `troupe node` accepts.
struct node_options {
  bool head = false;
  std::string join; ///< HOST:PORT of the head (workers)
  std::string name;
  uint16_t port = 7700;
  std::string bind = "0.0.0.0";
  uint16_t gateway_port = 7701;
  size_t gateway_threads = 0; ///< 0: one per core, at most 4
  std::string gateway_bind = "127.0.0.1";
  std::string data_dir;
  /// Prometheus /metrics of process_metrics() on this port (0: off).
  uint16_t metrics_port = 0;
  std::string metrics_bind = "127.0.0.1";
  std::string secret_file;
  uint32_t slots = 0;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string log_level = "info";
  std::string log_file;
  std::chrono::milliseconds heartbeat{500};
  std::chrono::milliseconds node_timeout{3000};
  std::chrono::milliseconds connect_timeout{30000};
  scheduler_options scheduler;
  /// Spawned on the head once it runs (ignored on workers).
  std::vector<head_service> services;
  /// Further RPC interfaces the head's gateway serves (ignored on workers).
  std::vector<rpc_service> rpc_services;
  /// Started on every node, head or worker.
  std::vector<node_extension> extensions;
};

/// Applies scheduler options, loads the middleman, registers troupe's types,
/// the built-in kinds and `kinds`.
void configure(caf::actor_system_config& cfg, const scheduler_options& sched,
               const kind_registrar& kinds);

/// Registers the runtime's own kinds ("echo").
void register_builtin_kinds(caf::actor_system_config& cfg);

/// Reads a secret file (whitespace trimmed). Errors name the file.
caf::expected<std::string> read_secret(const std::string& path);

/// Returns the secret from `path`, or creates `dir/secret` with a fresh
/// random secret (mode 0600) if `path` is empty and none exists there.
caf::expected<std::string> load_or_create_secret(const std::string& path,
                                                 const std::string& dir);

/// Runs `troupe node` until it is told to stop (SIGINT/SIGTERM, a shutdown
/// request, the head lost). Returns the process exit code.
int run_node(const node_options& opts, const kind_registrar& kinds);

/// A head and its workers inside one process, joined over loopback through
/// the middleman as separate nodes: the embedded cluster used by embedded
/// commands, the tests and the benchmarks.
class local_cluster {
public:
  /// Starts a head with a gateway on an ephemeral port and `workers` worker
  /// nodes with `slots` slots each; waits until all joined.
  /// `services` are spawned on the head with `data_dir` as their config;
  /// the head's data directory is `data_dir`, worker i's `data_dir/worker-i`
  /// (none when `data_dir` is empty). The gateway serves `rpc_services`.
  static caf::expected<std::unique_ptr<local_cluster>>
  start(size_t workers, uint32_t slots, const kind_registrar& kinds,
        scheduler_options sched = {}, std::vector<head_service> services = {},
        std::string data_dir = {}, std::vector<rpc_service> rpc_services = {});

  ~local_cluster();

  caf::actor_system& head_system();
  caf::actor directory() const;
  uint16_t gateway_port() const;
  uint16_t node_port() const;

  /// Stops worker `index` (1..workers) as if its process went away: sends an
  /// exit to its agent (which stops the actors it spawned there) and tears
  /// its actor system down, so the head sees the node leave. Blocks until the
  /// node's actors are done. For tests of node loss.
  caf::error stop_node(size_t index);

private:
  struct impl;
  explicit local_cluster(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace troupe
