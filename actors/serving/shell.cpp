// The shell's model-serving commands: `deployments`, `deployment NAME`,
// `scale NAME N|MIN:MAX`, the pure functions that render the Predictor's
// answers, and the calls of the "serving" RPC service over a cluster_client.

#include "actors/serving/shell.hpp"

#include <cmath>
#include <cstdio>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <capnp/message.h>

#include "runtime/errors.hpp"
#include "runtime/shell_detail.hpp"
#include "schemas/serving.capnp.h"

namespace troupe::serving {

namespace {

using shell_detail::text_of;

/// The RPC service the head's gateway serves model serving under.
const std::string serving_service = "serving";

/// The most replicas a deployment may have (as the serving service checks).
constexpr uint64_t max_replicas = 1024;

/// "1=90,2=10", or "-" without a split.
std::string traffic_text(capnp::List<schema::VersionWeight>::Reader xs) {
  std::string result;
  for (auto w : xs)
    result += (result.empty() ? "" : ",") + std::to_string(w.getVersion()) +
              "=" + std::to_string(w.getWeight());
  return result.empty() ? "-" : result;
}

size_t ready_replicas(schema::DeploymentStatus::Reader s) {
  size_t n = 0;
  for (auto r : s.getReplicas())
    if (r.getState() == "ready") ++n;
  return n;
}

/// "2/3 (1..4)": ready of desired replicas, and the spec's range.
std::string replicas_cell(schema::DeploymentStatus::Reader s) {
  auto spec = s.getSpec();
  return std::to_string(ready_replicas(s)) + "/" +
         std::to_string(s.getDesiredReplicas()) + " (" +
         std::to_string(spec.getMinReplicas()) + ".." +
         std::to_string(spec.getMaxReplicas()) + ")";
}

/// "v3", or "-" for 0 (none).
std::string version_text(uint32_t v) {
  return v == 0 ? "-" : "v" + std::to_string(v);
}

/// "a, b", or "-" when empty.
std::string joined(capnp::List<capnp::Text>::Reader xs) {
  std::string result;
  for (auto x : xs)
    result += (result.empty() ? "" : ", ") + text_of(x);
  return result.empty() ? "-" : result;
}

/// A whole number of at most 10 digits, or nothing.
std::optional<uint64_t> whole(const std::string& text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

} // namespace

// -- rendering ----------------------------------------------------------------

std::string duration_text(double micros) {
  if (!(micros > 0) || !std::isfinite(micros)) return "-";
  static const char* units[] = {"us", "ms", "s"};
  size_t unit = 0;
  // Moves on at 999.5 so that rounding never shows "1e+03".
  while (micros >= 999.5 && unit + 1 < std::size(units)) {
    micros /= 1000;
    ++unit;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), micros >= 999.5 ? "%.0f%s" : "%.3g%s", micros,
                units[unit]);
  return buf;
}

caf::expected<std::string> format_deployments(const envelope& list) {
  return list.visit<schema::DeploymentList>(
      [](schema::DeploymentList::Reader x) {
        std::vector<std::vector<std::string>> rows;
        for (auto s : x.getDeployments()) {
          auto spec = s.getSpec();
          rows.push_back(
              {text_of(spec.getName()), text_of(spec.getModel()),
               traffic_text(s.getTraffic()), replicas_cell(s),
               std::to_string(s.getRequests()), std::to_string(s.getErrors()),
               std::to_string(s.getShed()), std::to_string(s.getRetries()),
               std::to_string(s.getQueuedRows()), duration_text(s.getP50Us()),
               duration_text(s.getP99Us())});
        }
        return format_table({"NAME", "MODEL", "VERSIONS", "REPLICAS",
                             "REQUESTS", "ERRORS", "SHED", "RETRIES", "QUEUED",
                             "P50", "P99"},
                            rows) +
               std::to_string(rows.size()) + " deployments\n";
      });
}

caf::expected<std::string> format_deployment(const envelope& status) {
  return status.visit<schema::DeploymentStatus>(
      [](schema::DeploymentStatus::Reader s) {
        auto spec = s.getSpec();
        auto ms = [](uint32_t x) { return duration_text(x * 1000.0); };
        std::vector<std::vector<std::string>> lines{
            {"deployment", text_of(spec.getName())},
            {"model", text_of(spec.getModel())},
            {"version", text_of(spec.getVersion())},
            {"replicas", std::to_string(spec.getMinReplicas()) + ":" +
                             std::to_string(spec.getMaxReplicas()) + " (want " +
                             std::to_string(s.getDesiredReplicas()) + ", " +
                             std::to_string(ready_replicas(s)) + " ready)"},
            {"max batch rows", std::to_string(spec.getMaxBatchRows())},
            {"max queue delay", duration_text(spec.getMaxQueueDelayUs())},
            {"queue bound", std::to_string(spec.getQueueBoundRows()) + " rows"},
            {"target in flight",
             std::to_string(spec.getTargetInFlight()) + " rows"},
            {"target p99", spec.getTargetP99Ms() > 0
                               ? ms(spec.getTargetP99Ms())
                               : std::string{"- (latency ignored)"}},
            {"upscale delay", ms(spec.getUpscaleDelayMs())},
            {"downscale delay", ms(spec.getDownscaleDelayMs())},
            {"feature groups", joined(spec.getFeatureGroups())},
            {"log inputs", text_of(spec.getLogInputs())},
            {"traffic", traffic_text(s.getTraffic())},
            {"stable version", version_text(s.getStableVersion())},
            {"previous version", version_text(s.getPreviousVersion())},
            {"requests", std::to_string(s.getRequests())},
            {"rows", std::to_string(s.getRows())},
            {"errors", std::to_string(s.getErrors())},
            {"shed", std::to_string(s.getShed())},
            {"retries", std::to_string(s.getRetries())},
            {"queued rows", std::to_string(s.getQueuedRows())},
            {"latency", "p50 " + duration_text(s.getP50Us()) + ", p99 " +
                            duration_text(s.getP99Us())}};
        auto result = format_table({}, lines) + '\n';
        std::vector<std::vector<std::string>> replicas;
        for (auto r : s.getReplicas())
          replicas.push_back(
              {text_of(r.getName()), text_of(r.getNode()),
               version_text(r.getVersion()), text_of(r.getState()),
               std::to_string(r.getInFlight()), std::to_string(r.getServed())});
        if (replicas.empty()) return result + "no replicas\n";
        return result +
               format_table({"REPLICA", "NODE", "VERSION", "STATE", "IN-FLIGHT",
                             "SERVED"},
                            replicas) +
               std::to_string(replicas.size()) + " replicas\n";
      });
}

caf::expected<std::string> format_deployment_line(const envelope& status) {
  return status.visit<schema::DeploymentStatus>(
      [](schema::DeploymentStatus::Reader s) {
        auto spec = s.getSpec();
        return text_of(spec.getName()) + ": model " + text_of(spec.getModel()) +
               ", replicas " + std::to_string(spec.getMinReplicas()) + ".." +
               std::to_string(spec.getMaxReplicas()) + ", " +
               std::to_string(ready_replicas(s)) + "/" +
               std::to_string(s.getDesiredReplicas()) + " ready, traffic " +
               traffic_text(s.getTraffic()) + ", " +
               std::to_string(s.getRequests()) + " requests\n";
      });
}

caf::expected<std::vector<std::string>> deployment_names(const envelope& list) {
  return list.visit<schema::DeploymentList>(
      [](schema::DeploymentList::Reader x) {
        std::vector<std::string> names;
        for (auto s : x.getDeployments())
          names.push_back(text_of(s.getSpec().getName()));
        return names;
      });
}

caf::expected<std::pair<uint32_t, uint32_t>>
parse_replica_range(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_argument,
                      "replicas '" + text + "': " + why);
  };
  auto colon = text.find(':');
  auto number = [&](const std::string& part,
                    const std::string& what) -> caf::expected<uint64_t> {
    auto n = whole(part);
    if (!n) return bad(what + " '" + part + "' is not a whole number");
    if (*n == 0) return bad(what + " must be at least 1");
    if (*n > max_replicas)
      return bad(what + " must be at most " + std::to_string(max_replicas));
    return *n;
  };
  if (colon == std::string::npos) {
    auto n = number(text, "N");
    if (!n) return n.error();
    return std::make_pair(static_cast<uint32_t>(*n), static_cast<uint32_t>(*n));
  }
  auto lo = number(text.substr(0, colon), "MIN");
  if (!lo) return lo.error();
  auto hi = number(text.substr(colon + 1), "MAX");
  if (!hi) return hi.error();
  if (*lo > *hi)
    return bad("MIN " + std::to_string(*lo) + " is greater than MAX " +
               std::to_string(*hi));
  return std::make_pair(static_cast<uint32_t>(*lo), static_cast<uint32_t>(*hi));
}

// -- backends -----------------------------------------------------------------

namespace {

template <class Status>
envelope status_envelope(Status status) {
  capnp::MallocMessageBuilder message;
  message.setRoot(status);
  return envelope::of<schema::DeploymentStatus>(message);
}

caf::expected<envelope> rpc_deployments(cluster_client& client) {
  return shell_detail::with_service<schema::Predictor>(
      client, serving_service, [&](schema::Predictor::Client api) {
        auto resp = client.wait(api.deploymentsRequest().send());
        capnp::MallocMessageBuilder message;
        message.setRoot(resp.getList());
        return envelope::of<schema::DeploymentList>(message);
      });
}

caf::expected<envelope> rpc_deployment(cluster_client& client,
                                       const std::string& name) {
  return shell_detail::with_service<schema::Predictor>(
      client, serving_service, [&](schema::Predictor::Client api) {
        auto req = api.deploymentRequest();
        req.setName(name);
        return status_envelope(client.wait(req.send()).getStatus());
      });
}

caf::expected<envelope> rpc_scale(cluster_client& client,
                                  const std::string& name,
                                  uint32_t min_replicas,
                                  uint32_t max_replicas) {
  return shell_detail::with_service<schema::Predictor>(
      client, serving_service, [&](schema::Predictor::Client api) {
        auto req = api.scaleRequest();
        req.setName(name);
        req.setMinReplicas(min_replicas);
        req.setMaxReplicas(max_replicas);
        return status_envelope(client.wait(req.send()).getStatus());
      });
}

/// The production backend: the head's "serving" RPC service.
class rpc_backend final : public serving_shell_backend {
public:
  explicit rpc_backend(cluster_client& client) : client_(client) {}

  caf::expected<envelope> deployments() override {
    return rpc_deployments(client_);
  }

  caf::expected<envelope> deployment(const std::string& name) override {
    return rpc_deployment(client_, name);
  }

  caf::expected<envelope> scale(const std::string& name, uint32_t min_replicas,
                                uint32_t max_replicas) override {
    return rpc_scale(client_, name, min_replicas, max_replicas);
  }

private:
  cluster_client& client_;
};

caf::error no_serving() {
  return make_error(errc::not_found,
                    "this shell's backend has no model serving");
}

} // namespace

serving_shell_backend::~serving_shell_backend() = default;

caf::expected<envelope> serving_shell_backend::deployments() {
  return no_serving();
}

caf::expected<envelope> serving_shell_backend::deployment(const std::string&) {
  return no_serving();
}

caf::expected<envelope> serving_shell_backend::scale(const std::string&,
                                                     uint32_t, uint32_t) {
  return no_serving();
}

// -- commands -----------------------------------------------------------------

namespace {

using args = std::vector<std::string>;

shell_outcome run_deployment(shell& sh, serving_shell_backend& backend,
                             const args& a) {
  if (a.empty() || a[0].empty())
    return sh.usage("deployment", "deployment: NAME is missing");
  if (a.size() > 1) return sh.usage("deployment");
  auto status = backend.deployment(a[0]);
  if (!status) return sh.fail(status.error());
  auto text = format_deployment(*status);
  if (!text) return sh.fail(text.error());
  sh.out() << *text;
  return shell_outcome::ok;
}

shell_outcome run_scale(shell& sh, serving_shell_backend& backend,
                        const args& a) {
  if (a.empty() || a[0].empty())
    return sh.usage("scale", "scale: NAME is missing");
  if (a.size() < 2) return sh.usage("scale", "scale: N or MIN:MAX is missing");
  if (a.size() > 2) return sh.usage("scale");
  auto range = parse_replica_range(a[1]);
  if (!range) return sh.usage("scale", "scale: " + describe(range.error()));
  auto status = backend.scale(a[0], range->first, range->second);
  if (!status) return sh.fail(status.error());
  auto text = format_deployment_line(*status);
  if (!text) return sh.fail(text.error());
  sh.out() << *text;
  return shell_outcome::ok;
}

} // namespace

std::vector<shell_command>
shell_commands(std::shared_ptr<serving_shell_backend> backend) {
  // The deployment names offered for completion, shared by the commands.
  auto names = std::make_shared<completion_list>();
  auto complete_name = [backend, names](shell& sh, const args& positional) {
    if (!positional.empty()) return std::vector<std::string>{};
    names->refresh(sh.now(), [&]() -> caf::expected<std::vector<std::string>> {
      auto list = backend->deployments();
      if (!list) return list.error();
      return deployment_names(*list);
    });
    return names->names;
  };
  std::vector<shell_command> out;
  out.push_back({{"deployments", "deployments", "list the model deployments"},
                 [backend, names](shell& sh, const args& a) {
                   if (!a.empty()) return sh.usage("deployments");
                   auto list = backend->deployments();
                   if (!list) return sh.fail(list.error());
                   auto text = format_deployments(*list);
                   if (!text) return sh.fail(text.error());
                   names->keep(deployment_names(*list), sh.now());
                   sh.out() << *text;
                   return shell_outcome::ok;
                 },
                 nullptr});
  out.push_back({{"deployment", "deployment NAME",
                  "a deployment's spec, counters and replicas"},
                 [backend](shell& sh, const args& a) {
                   return run_deployment(sh, *backend, a);
                 },
                 complete_name});
  out.push_back({{"scale", "scale NAME N|MIN:MAX",
                  "set a deployment's replicas (N: exactly N)"},
                 [backend](shell& sh, const args& a) {
                   return run_scale(sh, *backend, a);
                 },
                 complete_name});
  return out;
}

shell_extension make_shell_extension() {
  return [](shell_backend& core) {
    auto* client = core.client();
    return client ? shell_commands(std::make_shared<rpc_backend>(*client))
                  : shell_commands(std::make_shared<serving_shell_backend>());
  };
}

} // namespace troupe::serving
