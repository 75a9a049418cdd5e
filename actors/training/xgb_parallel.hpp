#pragma once

// One worker's part of a data-parallel XGBoost job, as plain C++: it joins
// the job's collective (xgb::collective, through the rabit tracker the
// coordinator runs), builds a DMatrix of its own rows only, and boosts
// round after round; XGBoost sums each round's quantile sketches and
// gradient histograms over the workers, so every worker ends with the same
// booster, the one a single process would train on all the rows (exactly
// so where the features' distinct values fit the histogram bins).
//
// Everything runs on the calling thread, from joining to leaving: XGBoost's
// communicator is thread-local. Training continues from a checkpoint when
// one is given (a regrouped or resumed job).

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "actors/models/xgb.hpp"
#include "actors/tabular/dataset.hpp"
#include "actors/training/worker_usage.hpp"

namespace troupe::training {

struct xgb_part {
  /// The rabit tracker; port 0: no collective (one process, all rows).
  std::string tracker_host;
  int tracker_port = 0;
  int world = 1;
  /// Orders the workers' ranks.
  std::string task;
  /// XGBoost parameters (objective, tree_method, nthread, ...).
  std::vector<std::pair<std::string, std::string>> params;
  /// Feature types, "c" or "q" per column (empty: all numeric).
  std::vector<std::string> types;
  /// Boosting rounds the model should have at the end.
  uint32_t rounds = 0;
  /// Continue from this model (empty bytes: from scratch).
  xgb::checkpoint start;
  /// After each round, with the rounds done: false stops training early
  /// (the job was stopped). Called on the training thread.
  std::function<bool(uint32_t, const xgb::booster&)> after_round;
  /// Where the worker's time goes, if anyone asks: joining the collective
  /// is comm, building the DMatrix data, the rounds compute (XGBoost
  /// allreduces each round's histograms inside its update: that wait is
  /// not told apart).
  usage_meter* usage = nullptr;
};

/// Trains this worker's part on `rows` (features and labels) and returns
/// the model and its config after the last round. Errors: no rows or no
/// labels, the tracker cannot be reached, XGBoost's own (a bad parameter,
/// a peer that went away).
caf::expected<xgb::checkpoint> train_part(const xgb_part& part,
                                          const tabular::matrix& rows);

/// The rows of worker `index` of `workers`: a contiguous block, the blocks'
/// sizes differing by at most one.
std::pair<size_t, size_t> block_of(size_t rows, size_t index, size_t workers);

} // namespace troupe::training
