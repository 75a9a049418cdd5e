#pragma once

// The serving commands of `troupe`:
//   troupe serve --model DIR | --xgboost F --spec S | --torchscript F --spec S
//                 embedded one-node serving: registers, deploys, serves
//   troupe models register|list|stage     the model registry of a cluster
//   troupe deploy NAME --version V --replicas MIN:MAX
//   troupe deployments | deployment NAME | scale NAME MIN:MAX
//   troupe traffic NAME 1=90,2=10 | promote NAME V | rollback NAME
//   troupe undeploy NAME
//   troupe predict --endpoint HOST:PORT --deployment NAME --data x.csv
//   troupe predictions export --low-confidence 0.6
// Commands that talk to a cluster take --cluster HOST:PORT (its gateway;
// default 127.0.0.1:7701).

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/node.hpp"

namespace troupe::serving {

struct cli_options {
  std::string cluster = "127.0.0.1:7701";
  // a model given by files
  std::string model_dir;
  std::string xgboost_file;
  std::string torchscript_file;
  std::string spec_file;
  std::string name;
  std::string description;
  std::vector<std::string> metrics; ///< NAME=VALUE
  std::vector<std::string> stages;
  bool disallow_nan = false;
  // deployments
  std::string model;
  std::string version = "latest";
  std::string replicas = "1:1";
  uint32_t max_batch = 32;
  uint32_t max_delay_us = 2000;
  uint32_t queue_bound = 4096;
  uint32_t target_in_flight = 16;
  uint32_t target_p99_ms = 0;
  uint32_t upscale_ms = 3000;
  uint32_t downscale_ms = 30000;
  std::string features; ///< G1,G2
  std::string log_inputs = "values";
  uint32_t threads = 1;
  std::string weights;
  std::string stage;
  bool off = false;
  // serve
  uint16_t port = 7701;
  std::string bind = "127.0.0.1";
  uint16_t metrics_port = 7702;
  std::string data_dir = "runs/serving";
  uint32_t slots = 0;
  size_t gateway_threads = 0;   ///< serve: RPC threads (0: auto)
  size_t scheduler_threads = 0; ///< serve: actor threads (0: 1)
  // predict
  std::string endpoint;
  std::string deployment;
  std::string data;
  std::string out;
  size_t batch_rows = 256;
  std::string entities_column;
  // predictions export
  double low_confidence = 0.6;
  std::string since;

  CLI::App* serve_cmd = nullptr;
  CLI::App* models_cmd = nullptr;
  CLI::App* register_cmd = nullptr;
  CLI::App* list_cmd = nullptr;
  CLI::App* stage_cmd = nullptr;
  CLI::App* deploy_cmd = nullptr;
  CLI::App* deployments_cmd = nullptr;
  CLI::App* scale_cmd = nullptr;
  CLI::App* traffic_cmd = nullptr;
  CLI::App* promote_cmd = nullptr;
  CLI::App* rollback_cmd = nullptr;
  CLI::App* undeploy_cmd = nullptr;
  CLI::App* predictions_cmd = nullptr;
  CLI::App* export_cmd = nullptr;
};

/// Adds the serving commands to `app`.
void add_commands(CLI::App& app, cli_options& opts);

/// Adds --endpoint and its options to the existing `troupe predict`.
void add_predict_options(CLI::App& predict, cli_options& opts);

/// Whether one of the serving commands was given.
bool chosen(const cli_options& opts);

/// Runs the parsed serving command; 0 ok, 1 it failed, 2 bad usage.
int run(cli_options& opts, const kind_registrar& kinds,
        node_options node_template);

/// `troupe predict --endpoint`: 0 ok, 1 failed, 2 bad usage.
int run_remote_predict(const cli_options& opts);

} // namespace troupe::serving
