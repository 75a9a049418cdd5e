#pragma once

// `troupe features ingest` and `troupe features join`: streaming a CSV into a
// group, and matching label rows point-in-time with groups into a training
// set. Both stream with constant memory and keep a few requests in flight.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/features/client.hpp"

namespace troupe::features {

struct ingest_options {
  std::string group;
  std::string file;
  std::string entity_column;
  std::string time_column;
  std::string time_unit = "s";   ///< integers in the time column
  std::string on_error = "stop"; ///< stop | skip
  bool upsert = false;
  size_t batch_rows = 0; ///< 0: about 4 MiB of rows per batch
  size_t in_flight = 2;  ///< batches sent before waiting for the oldest
  bool quiet = false;
};

/// What an ingest did.
struct ingest_result {
  uint64_t rows = 0;     ///< rows written
  uint64_t bad_rows = 0; ///< rows refused (skipped, or the one that stopped)
  uint64_t batches = 0;  ///< batches sent
  double seconds = 0;
  std::vector<std::string> errors; ///< the first few bad rows, by line
  std::string stopped; ///< why it stopped early ("" when it read the file)
};

/// Streams `opts.file` into the group. A bad row is reported with its line
/// and either stops the ingest (rows before it are written; `stopped` says
/// why) or is skipped. Errors: the group, the file or its columns.
caf::expected<ingest_result> ingest(store_connection& c,
                                    const ingest_options& opts);

struct join_options {
  std::string labels;
  std::string entity_column;
  std::string time_column;
  std::string time_unit = "s";
  std::vector<std::string> groups;
  std::string out;
  std::string on_error = "stop";
  size_t in_flight = 3;
  bool quiet = false;
};

struct join_result {
  uint64_t rows = 0;    ///< label rows written
  uint64_t matched = 0; ///< (row, group) pairs that found a version
  uint64_t missing = 0; ///< (row, group) pairs without one
  uint64_t bad_rows = 0;
  double seconds = 0;
  std::vector<std::string> errors;
};

/// Writes every label row with each group's features as of its time (the
/// latest version at or before it; none from the future) to `opts.out`:
/// the label columns, then GROUP.FIELD and GROUP.VECTOR_i columns; a missing
/// value is an empty cell.
caf::expected<join_result> join(store_connection& c, const join_options& opts);

} // namespace troupe::features
