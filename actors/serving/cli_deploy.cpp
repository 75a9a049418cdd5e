#include <cstdio>

#include "actors/serving/cli_detail.hpp"
#include "actors/serving/convert.hpp"
#include "actors/serving/rpc.hpp"
#include "actors/serving/shell.hpp"
#include "runtime/bridge.hpp"
#include "runtime/errors.hpp"

// The deployment commands: deploy, deployments, scale, traffic, promote,
// rollback, undeploy.

namespace troupe::serving::cli_detail {

namespace {

/// Prints a reply (root `T`) the way the shell shows it (`format`, from
/// actors/serving/shell.hpp), so that the CLI and the shell agree; a reply that
/// cannot be shown fails the call.
template <class T>
void print_as_shell(typename T::Reader r,
                    caf::expected<std::string> (*format)(const envelope&)) {
  capnp::MallocMessageBuilder mb;
  mb.setRoot(r);
  auto text = format(envelope::of<T>(mb));
  if (!text) throw rpc_failure(describe(text.error()));
  std::fputs(text->c_str(), stdout);
}

/// Runs a call that answers a DeploymentStatus and prints it.
template <class F>
int status_call(cli_options& opts, const std::string& cmd, F&& make) {
  auto c = connect(opts.cluster);
  if (!c) return fail(cmd, describe(c.error()));
  auto out = rpc_call(cmd, [&] {
    auto answer = make(*c);
    print_as_shell<schema::DeploymentStatus>(answer.getStatus(),
                                             format_deployment);
    return true;
  });
  if (!out) return fail(cmd, describe(out.error()));
  return 0;
}

} // namespace

caf::expected<deployment_settings> settings_of(const cli_options& opts,
                                               const std::string& name) {
  deployment_settings d;
  d.name = name;
  d.model = opts.model.empty() ? name : opts.model;
  d.version = opts.version;
  auto r = parse_replica_range(opts.replicas);
  if (!r) return r.error();
  d.min_replicas = r->first;
  d.max_replicas = r->second;
  d.max_batch_rows = opts.max_batch;
  d.max_queue_delay_us = opts.max_delay_us;
  d.queue_bound_rows = opts.queue_bound;
  d.target_in_flight = opts.target_in_flight;
  d.target_p99_ms = opts.target_p99_ms;
  d.upscale_delay_ms = opts.upscale_ms;
  d.downscale_delay_ms = opts.downscale_ms;
  size_t at = 0;
  while (!opts.features.empty() && at <= opts.features.size()) {
    auto end = opts.features.find(',', at);
    if (end == std::string::npos) end = opts.features.size();
    if (end > at)
      d.feature_groups.push_back(opts.features.substr(at, end - at));
    at = end + 1;
  }
  d.log_inputs = opts.log_inputs;
  d.threads_per_replica = opts.threads;
  if (auto err = validate(d)) return err;
  return d;
}

int run_deploy(cli_options& opts) {
  auto d = settings_of(opts, opts.name);
  if (!d) return fail("deploy", describe(d.error()), 2);
  return status_call(opts, "deploy", [&](predictor_connection& c) {
    auto req = c.api.deployRequest();
    to_schema(*d, req.initSpec());
    return c.client->wait(req.send());
  });
}

int run_deployments(cli_options& opts) {
  if (!opts.name.empty())
    return status_call(opts, "deployment", [&](predictor_connection& c) {
      auto req = c.api.deploymentRequest();
      req.setName(opts.name);
      return c.client->wait(req.send());
    });
  auto c = connect(opts.cluster);
  if (!c) return fail("deployments", describe(c.error()));
  auto out = rpc_call("deployments", [&] {
    auto list = c->client->wait(c->api.deploymentsRequest().send());
    print_as_shell<schema::DeploymentList>(list.getList(), format_deployments);
    return true;
  });
  if (!out) return fail("deployments", describe(out.error()));
  return 0;
}

int run_scale(cli_options& opts) {
  auto r = parse_replica_range(opts.replicas);
  if (!r) return fail("scale", describe(r.error()), 2);
  return status_call(opts, "scale", [&](predictor_connection& c) {
    auto req = c.api.scaleRequest();
    req.setName(opts.name);
    req.setMinReplicas(r->first);
    req.setMaxReplicas(r->second);
    return c.client->wait(req.send());
  });
}

int run_traffic(cli_options& opts) {
  auto w = parse_weights(opts.weights);
  if (!w) return fail("traffic", describe(w.error()), 2);
  return status_call(opts, "traffic", [&](predictor_connection& c) {
    auto req = c.api.setTrafficRequest();
    req.setName(opts.name);
    auto l = req.initWeights(static_cast<unsigned>(w->size()));
    unsigned i = 0;
    for (auto& [v, weight] : *w) {
      l[i].setVersion(v);
      l[i].setWeight(weight);
      ++i;
    }
    return c.client->wait(req.send());
  });
}

int run_promote(cli_options& opts) {
  auto parsed = parse_version(opts.version);
  if (!parsed) return fail("promote", describe(parsed.error()), 2);
  auto v = *parsed;
  return status_call(opts, "promote", [&](predictor_connection& c) {
    auto req = c.api.promoteRequest();
    req.setName(opts.name);
    req.setVersion(v);
    return c.client->wait(req.send());
  });
}

int run_rollback(cli_options& opts) {
  return status_call(opts, "rollback", [&](predictor_connection& c) {
    auto req = c.api.rollbackRequest();
    req.setName(opts.name);
    return c.client->wait(req.send());
  });
}

int run_undeploy(cli_options& opts) {
  auto c = connect(opts.cluster);
  if (!c) return fail("undeploy", describe(c.error()));
  auto out = rpc_call("undeploy", [&] {
    auto req = c->api.undeployRequest();
    req.setName(opts.name);
    c->client->wait(req.send());
    return true;
  });
  if (!out) return fail("undeploy", describe(out.error()));
  std::printf("undeployed %s\n", opts.name.c_str());
  return 0;
}

} // namespace troupe::serving::cli_detail
