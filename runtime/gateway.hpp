#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

namespace troupe {

/// The head's Cap'n Proto RPC server (`Cluster` in schemas/cluster.capnp).
/// It runs its own KJ event loop on its own thread and meets CAF through
/// short-lived bridge actors and cross-thread fulfillers, so neither side ever
/// blocks the other. A client that sends garbage loses its connection only.
class gateway {
public:
  gateway(caf::actor_system& sys, caf::actor directory,
          std::chrono::milliseconds call_timeout = std::chrono::seconds{30});
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
