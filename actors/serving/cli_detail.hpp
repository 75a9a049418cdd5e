#pragma once

// What the files of the serving CLI share (cli.cpp: the commands and their
// dispatch; cli_serve.cpp: `serve`; cli_registry.cpp: `models register|list|
// stage`; cli_deploy.cpp: the deployment commands; cli_predict.cpp:
// `predict --endpoint` and `predictions export`). Internal to
// actors/serving; the API is cli.hpp.

#include <cstdint>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/serving/cli.hpp"
#include "actors/serving/convert.hpp"
#include "runtime/client.hpp"
#include "schemas/serving.capnp.h"

namespace troupe::serving::cli_detail {

/// Prints "troupe CMD: WHAT" on stderr and returns `code`.
int fail(const std::string& cmd, const std::string& what, int code = 1);

/// A version number: "3" or "v3", from 1 to 2^32 - 1.
caf::expected<uint32_t> parse_version(const std::string& text);

/// The Predictor of the cluster at opts.cluster.
struct predictor_connection {
  std::unique_ptr<cluster_client> client;
  schema::Predictor::Client api = nullptr;
};

/// Connects to the gateway at `address` (HOST:PORT) and gets its Predictor.
caf::expected<predictor_connection> connect(const std::string& address);

/// Fills a Registration from the model files named in `opts`
/// (cli_registry.cpp).
caf::error fill_registration(const cli_options& opts,
                             schema::Registration::Builder r);

/// "NAME vN (format, task, K features, metrics) [stages] by USER at TIME"
/// (cli_registry.cpp).
std::string describe_version(schema::ModelVersion::Reader v);

/// The deployment settings the options give for deployment `name`
/// (cli_deploy.cpp).
caf::expected<deployment_settings> settings_of(const cli_options& opts,
                                               const std::string& name);

/// `troupe serve` (cli_serve.cpp).
int run_serve(cli_options& opts, const kind_registrar& kinds,
              node_options node);

/// `troupe models register|list|stage` (cli_registry.cpp).
int run_register(cli_options& opts);
int run_list(cli_options& opts);
int run_stage(cli_options& opts);

/// The deployment commands (cli_deploy.cpp).
/// `troupe deploy NAME`: deploys a registered model.
int run_deploy(cli_options& opts);
/// `troupe deployments [NAME]`: lists deployments, or shows one.
int run_deployments(cli_options& opts);
/// `troupe scale NAME MIN:MAX`: sets a deployment's replicas.
int run_scale(cli_options& opts);
/// `troupe traffic NAME 1=90,2=10`: splits traffic between versions.
int run_traffic(cli_options& opts);
/// `troupe promote NAME V`: sends all traffic to a version.
int run_promote(cli_options& opts);
/// `troupe rollback NAME`: sends all traffic back to the stable version.
int run_rollback(cli_options& opts);
/// `troupe undeploy NAME`: stops a deployment.
int run_undeploy(cli_options& opts);

/// `troupe predictions export` (cli_predict.cpp).
int run_export(cli_options& opts);

} // namespace troupe::serving::cli_detail
