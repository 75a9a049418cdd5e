#pragma once

// Logistic regression over hashed sparse features, as parameter-server
// workers train it: a minibatch names the keys it touches, the worker pulls
// their weights, and pushes one summed gradient per distinct key. Plain C++:
// the same functions run in a worker actor and in a single process, so that
// a synchronous job with one worker equals in-process training exactly.

#include <cmath>
#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

#include "actors/models/hashed_features.hpp"
#include "actors/training/sparse_table.hpp"

namespace troupe::training {

using models::bias_key;
using models::predict_with;
using models::sparse_row;

/// What a worker pulls for a minibatch: its distinct keys, the bias first,
/// then each in the order it first appears.
std::vector<uint64_t> keys_of(const std::vector<sparse_row>& rows, size_t begin,
                              size_t end);

/// A minibatch's gradient: one summed value per distinct key, in the order
/// of `keys`, and the minibatch's summed logloss before the update.
struct sparse_gradient {
  std::vector<uint64_t> keys;
  std::vector<float> grads;
  double loss = 0;
  size_t rows = 0;
};

/// The gradient of rows [begin, end) given the pulled weights of `keys`
/// (keys_of's order). Errors: sizes that do not match, a key not pulled.
caf::expected<sparse_gradient> gradient(const std::vector<sparse_row>& rows,
                                        size_t begin, size_t end,
                                        const std::vector<uint64_t>& keys,
                                        const std::vector<float>& weights);

/// P(label = 1) of a row under `table`.
float predict(const sparse_table& table, const sparse_row& row);

/// Trains `table` in one process: minibatches of `batch` rows in order, one
/// pull and one push per minibatch, for `epochs` passes.
caf::error train_in_process(sparse_table& table,
                            const std::vector<sparse_row>& rows, size_t batch,
                            size_t epochs);

} // namespace troupe::training
