#pragma once

// A data-parallel worker's rows as a file (a raw layout, row_shard.cpp): the
// job writes one per worker each time it places its gang, puts it in the head's
// dataset cache, and the worker's node fetches it (part_worker.hpp). A
// shard of no columns holds labels alone (a pipeline's last stage).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe::training {

/// Rows of float32 values and their labels.
struct row_block {
  uint32_t cols = 0;
  std::vector<float> values; ///< rows x cols, row-major
  std::vector<float> labels;
  size_t rows() const { return labels.size(); }
};

/// Writes `rows` rows (`values` row-major, `cols` each) and their labels to
/// `path`. invalid_argument when a field would pass 512 MiB (more workers
/// make smaller shards); io_failure naming the path.
caf::error write_row_shard(const std::string& path, uint32_t cols,
                           const float* values, const float* labels,
                           size_t rows);

/// Reads a shard written by write_row_shard; errors name the file.
caf::expected<row_block> read_row_shard(const std::string& path);

} // namespace troupe::training
