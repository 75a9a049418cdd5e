#pragma once

// Where a command's work runs (`troupe automl`, `troupe train`, the feature
// store's commands): a one-node cluster embedded in this process when no
// gateway address is given, or the cluster whose gateway is at HOST:PORT;
// either way a client of its gateway.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/client.hpp"
#include "runtime/node.hpp"

namespace troupe {

struct command_cluster {
  std::unique_ptr<local_cluster> embedded; ///< null for a remote cluster
  std::unique_ptr<cluster_client> client;
};

/// With `address` empty: creates `data_dir` and starts a one-node cluster
/// with `slots` slots, `services` on its head (their data in `data_dir`) and
/// `rpc` on its gateway. Otherwise parses `address` (HOST:PORT, default
/// 127.0.0.1:7701). Then connects a client. Errors: invalid_argument for a
/// bad address, io_failure for a data directory that cannot be made, and
/// those of starting or reaching the cluster.
caf::expected<command_cluster> open_command_cluster(
    const std::string& address, uint32_t slots, const kind_registrar& kinds,
    std::vector<head_service> services, const std::string& data_dir,
    std::vector<rpc_service> rpc = {});

/// How a command exits after open_command_cluster failed: 2 for a bad
/// address (a usage error), 1 otherwise.
int command_exit_code(const caf::error& err);

} // namespace troupe
