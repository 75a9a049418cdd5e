#pragma once

// The router of one deployment (protocol in service.hpp).

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "runtime/clock.hpp"
#include "runtime/envelope.hpp"

namespace troupe::serving {

class prediction_sink;

/// What a router starts from.
struct router_config {
  /// The serving service: where the router fetches model files.
  caf::actor service;
  /// The cluster directory: where replicas are spawned and stopped.
  caf::actor directory;
  /// DeploymentStatus: the spec, the traffic split and the stable version.
  envelope status;
  /// Where predictions are logged (null: not logged).
  std::shared_ptr<prediction_sink> log;
  /// What the router's timed decisions read: request and attempt ages,
  /// start backoffs, the load average, the autoscaler's delays.
  clock_ptr clock = real_clock();
};

/// Spawns the router of a deployment on `sys`.
caf::actor spawn_router(caf::actor_system& sys, router_config cfg);

} // namespace troupe::serving
