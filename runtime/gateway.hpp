#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <capnp/capability.h>

namespace troupe {

/// What the factory of an RPC interface is given: the actor system, the
/// cluster directory, and the other interfaces served on the same gateway
/// thread, by name, for a server that calls another one (one family's
/// interface looking data up through another's); `service` throws a
/// kj::Exception naming the known interfaces for an unknown name.
struct rpc_context {
  caf::actor_system& sys;
  caf::actor directory;
  std::function<capnp::Capability::Client(const std::string& name)> service;
};

/// Makes the server of another RPC interface the gateway serves by name
/// (`Cluster.service(name)`). Called once on each gateway thread, when a
/// client of that thread (or another interface, through rpc_context) first
/// asks for it; the server lives on that thread.
using rpc_service_factory =
    std::function<capnp::Capability::Client(const rpc_context& ctx)>;

/// A named RPC interface and its factory.
struct rpc_service {
  std::string name;
  rpc_service_factory make;
};

/// The head's Cap'n Proto RPC server (`Cluster` in schemas/cluster.capnp).
/// It runs KJ event loops on threads of its own and meets CAF through
/// short-lived bridge actors and cross-thread fulfillers, so neither side ever
/// blocks the other. A client that sends garbage loses its connection only.
class gateway {
public:
  /// Serves from `threads` threads, each with its own event loop and
  /// servers, accepting on one listening socket (0: one per core, at most 4).
  gateway(caf::actor_system& sys, caf::actor directory,
          std::chrono::milliseconds call_timeout = std::chrono::seconds{30},
          std::vector<rpc_service> services = {}, size_t threads = 0);
  ~gateway();

  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  /// Starts listening on bind:port (port 0 picks a free one) and returns the
  /// port in use, or an error naming the address.
  caf::expected<uint16_t> start(const std::string& bind, uint16_t port);

  /// Stops the server and joins its thread. Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe
