#pragma once

// The shell's model-serving commands (`deployments`, `deployment NAME`,
// `scale NAME N|MIN:MAX`), registered by the family (family.cpp), and the
// renderings of the Predictor's answers that `troupe deployments` prints too.
// The shell reaches the head's "serving" RPC service (a Predictor,
// schemas/serving.capnp) through the gateway's `service`.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/envelope.hpp"
#include "runtime/shell.hpp"

namespace troupe::serving {

/// Renders a DeploymentList as the `deployments` table: NAME MODEL VERSIONS
/// ("1=90,2=10", the traffic split) REPLICAS ("ready/desired (min..max)")
/// REQUESTS ERRORS SHED RETRIES QUEUED P50 P99, one row per deployment, then
/// "N deployments". An error if `list` holds no DeploymentList.
caf::expected<std::string> format_deployments(const envelope& list);

/// Renders a DeploymentStatus as `deployment NAME` prints it: the spec
/// (replicas as "MIN:MAX (want D, R ready)"), traffic split, stable and
/// previous version, counters and latencies as aligned "key  value" lines, then
/// the replicas (REPLICA NODE VERSION STATE IN-FLIGHT SERVED).
caf::expected<std::string> format_deployment(const envelope& status);

/// Renders a DeploymentStatus as one line, as `scale` prints it: "NAME:
/// model M, replicas MIN..MAX, R/D ready, traffic 1=100, N requests".
caf::expected<std::string> format_deployment_line(const envelope& status);

/// The deployment names of a DeploymentList, in its order.
caf::expected<std::vector<std::string>> deployment_names(const envelope& list);

/// Parses the replicas of `scale`: "N" (exactly N) or "MIN:MAX", with
/// 1 <= MIN <= MAX <= 1024. Errors name the part that is wrong.
caf::expected<std::pair<uint32_t, uint32_t>>
parse_replica_range(const std::string& text);

/// A latency or delay in microseconds as "850us", "1.23ms", "3s"; "-" for 0,
/// negative or NaN (no samples).
std::string duration_text(double micros);

/// What the commands ask of model serving, as envelopes: a DeploymentList,
/// and a DeploymentStatus for `deployment` and `scale` (which sets the
/// replica range). The defaults answer that there is no model serving;
/// production calls the "serving" RPC service, tests fake it.
class serving_shell_backend {
public:
  virtual ~serving_shell_backend();
  virtual caf::expected<envelope> deployments();
  virtual caf::expected<envelope> deployment(const std::string& name);
  virtual caf::expected<envelope>
  scale(const std::string& name, uint32_t min_replicas, uint32_t max_replicas);
};

/// The commands over `backend`; deployment names complete from the last
/// listing (refreshed after about a second).
std::vector<shell_command>
shell_commands(std::shared_ptr<serving_shell_backend> backend);

/// The family's shell extension: the commands over the head's "serving" RPC
/// service (reached through the core backend's client).
shell_extension make_shell_extension();

} // namespace troupe::serving
