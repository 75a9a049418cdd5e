#pragma once

// Between the serving schema (schemas/serving.capnp) and the serving
// classes: deployment settings, model versions, requests encoded for a
// model, predictions written into answers.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/models/servable.hpp"
#include "actors/serving/registry.hpp"
#include "schemas/serving.capnp.h"

namespace troupe::serving {

using models::servable;

/// The checksum the registry records for a file's content.
inline uint64_t checksum(const void* data, size_t size) {
  return fnv1a64(data, size);
}

/// Whether a model file's name is a plain file name (no directory, not "."
/// or ".."), as files travel by name between the registry and replicas.
inline bool valid_file_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." &&
         name != "..";
}

/// A deployment's settings (DeploymentSpec).
struct deployment_settings {
  std::string name;
  std::string model;
  std::string version = "latest";
  uint32_t min_replicas = 1;
  uint32_t max_replicas = 1;
  uint32_t max_batch_rows = 32;
  uint32_t max_queue_delay_us = 2000;
  uint32_t queue_bound_rows = 4096;
  uint32_t target_in_flight = 16;
  uint32_t upscale_delay_ms = 3000;
  uint32_t downscale_delay_ms = 30000;
  std::vector<std::string> feature_groups;
  std::string log_inputs = "values";
  uint32_t threads_per_replica = 1;
  uint32_t target_p99_ms = 0; ///< 0: the autoscaler ignores latency
};

deployment_settings from_schema(schema::DeploymentSpec::Reader r);
void to_schema(const deployment_settings& d, schema::DeploymentSpec::Builder b);

/// Checks a deployment's settings; the error names the bad setting.
caf::error validate(const deployment_settings& d);

/// A registered version as its schema record, with the files' content read
/// from `artifact_dir` when `with_content` (a replica loads from it).
caf::error to_schema(const model_version& v, schema::ModelVersion::Builder b,
                     bool with_content);

/// A model format as the schema's enum.
schema::ModelFormat to_schema(models::model_format f);

/// The format of `mv`: its formatKind, or its (deprecated) text field for a
/// record written before formatKind; the error names the unknown text.
caf::expected<models::model_format> format_of(schema::ModelVersion::Reader mv);

/// Loads the model whose files (as described by `mv`) lie in `dir`.
caf::expected<std::unique_ptr<servable>>
load_cached(schema::ModelVersion::Reader mv, const std::string& dir,
            size_t threads = 1);

/// Traffic weights from "1=90,2=10" (a version may be written v1).
caf::expected<std::map<uint32_t, uint32_t>>
parse_weights(const std::string& text);

/// The rows of `r` encoded for `model` (rows x features floats): encoded
/// values as they are, raw cells through the model's preprocessing. Errors
/// name the request, the row and the feature: no rows, a wrong feature
/// count, NaN where the model allows none, a cell that is not a number.
caf::expected<std::vector<float>>
encode_request(const servable& model, schema::PredictRequest::Reader r);

/// Fills r.classes and r.predictions from `rows` rows of scores.
void fill_predictions(const servable& model, const float* scores, size_t rows,
                      schema::PredictResponse::Builder r);

} // namespace troupe::serving
