#pragma once

// The data and results of a sparse-lr job (job.hpp runs it): the config's
// CSV read and hashed (hashed_features.hpp) and split into training and
// validation rows, the training rows dealt to workers; at the end, the
// trained weights validated (logloss, AUC, KS) and written out: model.json
// (the transform and every non-zero weight) and summary.json. Plain
// functions: reading and hashing block, so the job runs them off its
// scheduler threads.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "actors/models/hashed_features.hpp"
#include "actors/training/job_config.hpp"
#include "actors/training/sparse_lr.hpp"

namespace troupe::training {

struct sparse_data {
  hashed_transform transform;
  std::vector<sparse_row> train;
  std::vector<sparse_row> valid;
};

/// Rows of the training file the hashing is fitted on (column kinds,
/// quantile cuts, the label's classes): a uniform sample, drawn from the
/// config's seed; a file of no more rows is fitted whole.
inline constexpr size_t fit_sample_rows = 200000;

/// Reads, hashes and splits the config's data; the training rows are
/// shuffled by the config's seed. The files stream: the hashing is fitted
/// on a sample of fit_sample_rows rows, and then each row is hashed as it
/// is read, so that only the rows' keys are held (a file of 10 million
/// rows is never a table of strings). Errors name the file or column
/// (errc::invalid_argument for bad data, not_found for a missing file).
caf::expected<sparse_data> prepare_sparse_data(const job_config& cfg);

/// How many rows worker w of `workers` is dealt of `rows` training rows:
/// every workers-th row from w.
inline size_t rows_dealt(size_t rows, uint32_t w, uint32_t workers) {
  return w < rows ? (rows - w + workers - 1) / workers : 0;
}

/// What the job's actors produced.
struct sparse_outcome {
  std::vector<uint64_t> keys; ///< every stored key
  std::vector<float> weights; ///< their weights
  uint64_t examples = 0;      ///< minibatch rows trained, all epochs
  double loss = 0;            ///< their summed logloss before each update
  double train_seconds = 0;
  uint64_t start_step = 0;      ///< the checkpoint the last placement began at
  uint64_t examples_before = 0; ///< of `examples`, those the checkpoint had
  uint32_t attempts = 1;        ///< placements (1 + regroups and resumes)
  /// The validations while training (valid_every): [{"step", "seconds",
  /// "logloss", "auc", "ks"}], written to the summary as valid_history.
  nlohmann::json history = nlohmann::json::array();
  /// Each worker's time split (job_run.hpp's usage_json) and the share of
  /// their time spent waiting for data.
  nlohmann::json usage = nlohmann::json::array();
  double data_wait_share = 0;
};

/// Validation metrics of the outcome's weights: logloss, auc, ks.
nlohmann::json validate_sparse(const sparse_data& data,
                               const sparse_outcome& out);

/// Writes OUT/model.json and OUT/summary.json; returns the summary.
caf::expected<nlohmann::json> write_sparse_results(const job_config& cfg,
                                                   const std::string& out_dir,
                                                   const sparse_data& data,
                                                   const sparse_outcome& out,
                                                   double elapsed_seconds);

} // namespace troupe::training
