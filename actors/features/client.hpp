#pragma once

// Reaching the feature store from a program: a cluster's gateway
// (--cluster HOST:PORT) or an embedded one-node cluster whose store lives in
// a local data directory. Blocking; use it on one thread.

#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/features/group.hpp"
#include "runtime/client.hpp"
#include "runtime/node.hpp"
#include "schemas/features.capnp.h"

namespace troupe::features {

/// A connection to a feature store.
struct store_connection {
  std::unique_ptr<local_cluster> embedded; ///< set in embedded mode
  std::unique_ptr<cluster_client> client;
  schema::FeatureStore::Client store = nullptr;

  /// Runs `f()` (which waits on `client`) and turns an RPC failure into an
  /// error starting with `what`.
  template <class F>
  auto call(const std::string& what, F&& f) -> caf::expected<decltype(f())> {
    return rpc_call(what, std::forward<F>(f));
  }

  /// Every group, by name.
  caf::expected<std::vector<group_spec>> groups();
  /// The group named `name`; the error lists the groups there are.
  caf::expected<group_spec> group(const std::string& name);
  /// Registers a group (the same definition again is accepted).
  caf::expected<group_spec> create(const group_spec& g);
  /// Forces the shards' writes to disk.
  caf::expected<void> flush();
};

/// Where to find the store.
struct store_options {
  std::string cluster; ///< gateway HOST:PORT; empty: embedded
  std::string data_dir = "runs/features"; ///< embedded store's directory
  uint32_t shards = 4;                    ///< shards of a new embedded store
};

/// Connects to a cluster's store, or starts an embedded one (its kinds
/// registered by `kinds`).
caf::expected<store_connection> connect_store(const store_options& opts,
                                              const kind_registrar& kinds);

} // namespace troupe::features
