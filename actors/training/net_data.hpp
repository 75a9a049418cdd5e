#pragma once

// The rows a neural-net job trains on (the mlp, torchscript and pipeline
// families): a CSV through the tabular preprocessor (its validation rows
// from [data] valid or split off by valid_fraction) or Fashion-MNIST's IDX
// files (t10k validates), every value present, the training rows dealt in
// a shuffled order. Read once by the job's coordinator, off its thread.

#include <cstdint>
#include <optional>
#include <vector>

#include <caf/error.hpp>

#include "actors/tabular/dataset.hpp"
#include "actors/training/job_config.hpp"

namespace troupe::training {

struct net_data {
  tabular::matrix train, valid;
  /// A table's preprocessor (none for images).
  std::optional<tabular::preprocessor> prep;
  tabular::task_kind task = tabular::task_kind::binary;
  size_t classes = 0;
  /// The images' side, 0 for a table.
  size_t side = 0;
};

/// Reads the job's data; errors name the file and the column
/// (invalid_argument: bad input).
caf::error read_net_data(const job_config& cfg, net_data& out);

/// Each column's mean and standard deviation over `m`'s rows (1 for a
/// constant column): a net's input standardisation.
void column_scaling(const tabular::matrix& m, std::vector<float>& center,
                    std::vector<float>& scale);

/// The order the rows are dealt in: a Fisher-Yates shuffle (i from n-1
/// down to 1 swaps i with j = z mod (i + 1)) drawing z from splitmix64
/// seeded with `seed`. Written out so that another program can deal the
/// same rows (bench_torch_parallel's DDP peer does); std::shuffle's draws
/// belong to the standard library's implementation.
std::vector<size_t> deal_order(size_t n, uint64_t seed);

} // namespace troupe::training
