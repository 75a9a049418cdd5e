#pragma once

// What a deployment's router decides, as a plain class (no CAF actor inside;
// the router actor in router.cpp only adapts messages to it): the traffic
// split, the least-loaded replica choice, admission against the queue bound
// (load shedding), retries when a replica is lost, the replicas' lifecycle
// (start, ready, drain, stop) and autoscaling. Time comes from the injected
// clock; everything the core wants done outside (send a request to a
// replica, answer a caller, start or stop a replica) goes through
// router_io, which tests implement with a recorder.
//
// Files along the seams: router_core.cpp (settings, status), router_admission
// .cpp, router_routing.cpp, router_lifecycle.cpp, router_autoscaling.cpp;
// load_meter.hpp.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/serving/autoscaler.hpp"
#include "actors/serving/convert.hpp"
#include "actors/serving/errors.hpp"
#include "actors/serving/load_meter.hpp"
#include "actors/serving/telemetry.hpp"
#include "actors/serving/traffic.hpp"
#include "runtime/clock.hpp"
#include "runtime/envelope.hpp"
#include "runtime/log.hpp"

namespace troupe::serving {

/// How long a request may wait for a replica, and an attempt for its answer.
inline constexpr auto router_request_timeout = std::chrono::seconds{30};
/// How often the router ticks (timeouts, autoscaling, reconciling).
inline constexpr auto router_tick_every = std::chrono::milliseconds{250};
/// How many replicas may be lost serving one request before it fails.
inline constexpr uint32_t router_max_attempts = 3;
/// How long a version waits before starting another replica after a start
/// failed (no free slot, a node lost while spawning).
inline constexpr auto router_start_backoff = std::chrono::seconds{1};

/// One attempt at a request: what the core hands router_io::send and wants
/// back with the attempt's outcome (on_answer, on_error).
struct router_attempt {
  uint64_t id = 0;     ///< the request
  uint32_t number = 0; ///< 1 for the first attempt
  std::string replica; ///< where it went
  uint32_t rows = 0;   ///< the rows it put on the replica
};

/// What the router core asks of the world. The router actor implements it
/// with CAF requests; tests record the calls.
class router_io {
public:
  virtual ~router_io();

  /// Sends the attempt's request (PredictRequest) to its replica; its
  /// outcome comes back through on_answer or on_error.
  virtual void send(const router_attempt& a, const envelope& request) = 0;

  /// Answers request `id` (PredictResponse).
  virtual void answer(uint64_t id, const envelope& response) = 0;

  /// Fails request `id`.
  virtual void fail(uint64_t id, caf::error err) = 0;

  /// Fetches ModelVersion `version` (with content) of the deployment's
  /// model; the result goes to model_fetched.
  virtual void fetch(const std::string& model, uint32_t version) = 0;

  /// Spawns replica `name` and loads ModelVersion `model` with
  /// DeploymentSpec `spec` on it; the steps go to replica_placed,
  /// replica_ready or replica_start_failed.
  virtual void start(const std::string& name, const envelope& model,
                     const envelope& spec) = 0;

  /// Drains replica `name`; when it answers (or fails) the result goes to
  /// replica_drained.
  virtual void drain(const std::string& name) = 0;

  /// Stops replica `name` through the directory and forgets its handle.
  virtual void stop(const std::string& name) = 0;
};

/// The `q` quantile (0..1) of `xs`, by nth_element; 0 for none.
double percentile(std::vector<double> xs, double q);

/// Where a replica of the deployment is in its life.
enum class replica_phase { starting, ready, draining };

/// "starting", "ready" or "draining" (ReplicaStatus.state, deprecated).
const char* to_string(replica_phase p);

/// The phase as ReplicaStatus.stateKind.
schema::ReplicaState to_schema(replica_phase p);

/// A replica as the router sees it.
struct replica_slot {
  std::string name;
  std::string node;
  uint32_t version = 0;
  /// Whether it was spawned and found (its handle is known).
  bool placed = false;
  replica_phase phase = replica_phase::starting;
  uint32_t in_flight = 0; ///< rows sent and not answered
  uint64_t served = 0;
};

/// What admission found out about a request.
struct router_ticket {
  uint32_t version = 0;
  size_t rows = 0;
  std::string request_id;
};

/// The decisions of one deployment's router.
class router_core {
public:
  /// A core with no settings yet (configure() gives them). `io` and
  /// `time` outlive the core; `log` may be null (predictions not logged).
  router_core(router_io& io, clock_ptr time,
              std::shared_ptr<prediction_sink> log);

  // Settings (router_core.cpp).

  /// Takes a DeploymentStatus: spec, traffic split, stable version. The
  /// first call also sets the replica count to the spec's minimum and
  /// names the metrics. An invalid status changes nothing.
  caf::error configure(const envelope& status);

  /// DeploymentStatus as the router sees it now.
  envelope status() const;

  const deployment_settings& spec() const { return spec_; }
  uint32_t desired() const { return desired_; }
  const std::vector<replica_slot>& replicas() const { return replicas_; }
  const replica_slot* find_replica(const std::string& name) const;
  /// Requests arrived and not answered.
  size_t pending() const { return pending_.size(); }
  /// Requests waiting for a ready replica.
  size_t parked() const { return parked_.size(); }
  const load_meter& load() const { return load_; }

  // Admission (router_admission.cpp).

  /// Picks the request's version and checks it against the queue bound:
  /// the ticket, or the error to answer at once (errc::no_traffic: the
  /// version takes no traffic; errc::overloaded, counted as shed).
  caf::expected<router_ticket> admit(const envelope& request);

  // Routing (router_routing.cpp).

  /// Records an admitted request; its id (answered through router_io).
  uint64_t open(const envelope& request, const router_ticket& t);

  /// Sends request `id` to the least-loaded ready replica of its version,
  /// or parks it until one is ready.
  void route(uint64_t id);

  /// The attempt `a` was answered with `response`.
  void on_answer(const router_attempt& a, const envelope& response);

  /// The attempt `a` failed with `err`: a lost replica (down, timed out,
  /// shutting down) has its requests retried elsewhere; other errors
  /// answer the request (no capacity: counted as shed).
  void on_error(const router_attempt& a, caf::error err);

  /// Replica `name` went down (`why`); its requests go to another one.
  void replica_down(const std::string& name, const std::string& why);

  /// Fails every request (the router stops) and stops every placed
  /// replica.
  void shutdown();

  // Lifecycle (router_lifecycle.cpp).

  /// The model files of `version` arrived (or could not be fetched).
  void model_fetched(uint32_t version, caf::expected<envelope> model);

  /// Replica `name` was spawned on `node` and its handle found; whether it
  /// is still wanted (false: it was retired meanwhile, leave it alone).
  bool replica_placed(const std::string& name, const std::string& node);

  /// Replica `name` loaded its model.
  void replica_ready(const std::string& name);

  /// Replica `name` did not start (`why`): forgotten, stopped when placed,
  /// and its version waits router_start_backoff before the next try.
  void replica_start_failed(const std::string& name, const std::string& why);

  /// Replica `name` finished draining (or could not be asked): stopped.
  void replica_drained(const std::string& name);

  /// Brings the replicas in line with the traffic split and the desired
  /// count: starts and retires replicas.
  void reconcile();

  // Autoscaling (router_autoscaling.cpp).

  /// Fails requests parked too long, stops replicas stuck on an attempt,
  /// asks the autoscaler for the replica count and reconciles.
  void tick();

private:
  /// A request between its arrival and its answer.
  struct outstanding {
    envelope request;
    std::string request_id;
    uint32_t version = 0;
    size_t rows = 0;
    std::string replica; ///< empty while parked
    uint32_t attempt = 0;
    troupe::clock::time_point arrived;
    troupe::clock::time_point sent; ///< when the current attempt went out
  };

  replica_slot* find(const std::string& name);
  std::vector<uint32_t> live_versions() const;
  size_t count_replicas(uint32_t version, bool with_draining) const;
  void record_latency(double us);
  void publish_gauges();
  void fail(uint64_t id, caf::error err, bool shed = false);
  void unpark();
  void lose_replica(std::string name, const std::string& why);
  void start_replica(uint32_t version);
  void retire_replica(const std::string& name);
  std::map<uint32_t, uint32_t> targets() const;

  router_io& io_;
  clock_ptr clock_;
  std::shared_ptr<prediction_sink> log_;
  std::shared_ptr<spdlog::logger> logger_;
  bool configured_ = false;
  deployment_settings spec_;
  traffic_split split_;
  least_loaded chooser_;
  std::map<uint32_t, uint32_t> weights_; ///< version -> weight, as set
  uint32_t stable_ = 0;
  std::map<uint32_t, envelope> models_; ///< version -> ModelVersion
  std::map<uint32_t, bool> fetching_;
  /// version -> no new replica is started before this time (after a start
  /// failed, e.g. no node had a free slot)
  std::map<uint32_t, troupe::clock::time_point> start_after_;
  std::vector<replica_slot> replicas_;
  std::map<uint64_t, outstanding> pending_;
  load_meter load_;
  std::deque<uint64_t> parked_;
  uint64_t next_request_ = 1;
  uint32_t next_replica_ = 1;
  std::optional<autoscaler> scaler_;
  uint32_t desired_ = 1;
  uint64_t requests_ = 0, rows_ = 0, errors_ = 0, shed_ = 0, retries_ = 0;
  std::vector<double> latencies_us_;
  size_t latency_next_ = 0;
  /// Latencies since the last tick, for a latency target (else empty).
  std::vector<double> tick_latencies_us_;
  deployment_metrics metrics_;
};

} // namespace troupe::serving
