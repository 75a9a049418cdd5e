#pragma once

// A node's RESP endpoint (`troupe node --resp-port`): the feature commands
// (resp_commands.hpp) on a resp_server, over the feature store as this
// node sees it. The shards on this node are read in place from their LMDB
// environments on the server's threads; a key whose shard is on another
// node is read from that shard's actor in one hop (one read a shard and
// command) and answered when it returns.
//
// Why fetch rather than redirect: a redirect (Redis Cluster's -MOVED)
// only helps clients in cluster mode, and those route by CRC16 hash slots,
// which troupe's jump-hash shards are not, so they would be redirected
// again and again; a fetch lets any Redis client, in any mode, connect to
// any node and read every key, at the price of one hop for keys that live
// elsewhere. Clients that want no hop connect to the node that holds the
// shard (`troupe features` and the shell's `feature-group` name it).
//
// What it knows of the store (the groups, every shard's node and actor) it
// fetches from the features service and the directory every `refresh`; as
// often, a thread of its own maps what the local shards wrote into the
// process's page tables, so that no read takes a page fault on a page's
// first touch (LMDB's pages are the file's, mapped; Redis's are its own).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/features/resp_server.hpp"
#include "runtime/clock.hpp"

namespace troupe::features {

struct resp_endpoint_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0; ///< 0: the kernel picks one
  unsigned threads = 2;
  /// How often the store's layout is fetched again.
  std::chrono::milliseconds refresh{1000};
  /// How long a read from another node may take.
  std::chrono::milliseconds timeout{5000};
};

class resp_endpoint {
public:
  /// Starts the endpoint of node `node` (actor system `sys`, the cluster's
  /// directory `dir`); `clock` decides what has expired. Errors: the
  /// address (named) cannot be bound.
  static caf::expected<std::unique_ptr<resp_endpoint>>
  start(caf::actor_system& sys, caf::actor dir, std::string node,
        resp_endpoint_options options, clock_ptr clock);
  ~resp_endpoint();
  resp_endpoint(const resp_endpoint&) = delete;
  resp_endpoint& operator=(const resp_endpoint&) = delete;

  uint16_t port() const;
  resp_server_stats stats() const;
  /// True once the store's layout has been fetched (keys can be routed).
  bool ready() const;

  struct state;

private:
  resp_endpoint() = default;
  std::shared_ptr<state> state_;
  std::unique_ptr<resp_server> server_;
};

} // namespace troupe::features
