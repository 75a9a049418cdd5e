#pragma once

// The router of one deployment: its protocol, its settings and its spawn
// function. The decisions are router_core's (router_core.hpp); the actor
// (router.cpp) adapts messages to it.

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/serving/atoms.hpp"
#include "actors/serving/predict_reply.hpp"
#include "actors/serving/service.hpp"
#include "runtime/clock.hpp"
#include "runtime/envelope.hpp"

namespace troupe::serving {

class prediction_sink;

/// A deployment's router (one per deployment, on the head, spawned by the
/// service). It sends each request to the least-loaded ready replica of the
/// version the traffic split picks, re-sends the requests of a replica that
/// goes down to another one, refuses past the queue bound ("overloaded"),
/// scales replicas between min and max, and logs every prediction.
using router_actor = caf::typed_actor<
    /// (predict, PredictRequest) -> PredictResponse, or the error: not
    /// served (serving::errc::no_traffic), overloaded, no replica ready in
    /// 30 s (no_replica), replicas lost (replicas_lost), a replica's error.
    caf::replies_to<predict_atom, envelope>::with<envelope>,
    /// (relay, PredictRequest, predict_reply): the gateway's predict; the
    /// answer (or error) settles the KJ promise behind predict_reply
    /// directly, without a reply hop through an actor; a router that is
    /// gone drops the message, which rejects it.
    caf::reacts_to<relay_atom, envelope, predict_reply>,
    /// (deployment) -> DeploymentStatus as the router sees it: replicas,
    /// counters, latencies.
    caf::replies_to<deployment_atom>::with<envelope>,
    /// (configure, DeploymentStatus) -> DeploymentStatus: a new spec and
    /// traffic split (an invalid one changes nothing and is answered with
    /// the error).
    caf::replies_to<configure_atom, envelope>::with<envelope>,
    /// (tick): from the router to itself every 250 ms: timeouts,
    /// autoscaling, reconciling.
    caf::reacts_to<tick_atom>>;

/// What a router starts from.
struct router_config {
  /// The serving service: where the router fetches model files.
  service_actor service;
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

/// Spawns the router of a deployment on `sys`; it quits at once with the
/// error when cfg.status is invalid.
router_actor spawn_router(caf::actor_system& sys, router_config cfg);

} // namespace troupe::serving
