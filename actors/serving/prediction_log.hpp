#pragma once

// The prediction log: every predicted row a deployment answered, kept in one
// bounded LMDB environment so that low-confidence cases can be exported to
// labeling. Plain C++; a replica or router appends one batch per call, the
// CLI reads (possibly from another process) while a node writes.
//
// Rotation: records are keyed by a big-endian sequence number, so the oldest
// is the first key. Each append writes its batch and then deletes the oldest
// records until both bounds (max_records, max_bytes) hold again, all in the
// same write transaction: readers see either the state before the batch or
// the trimmed state after it, never an overfull log. Counters (next sequence
// number, record count, stored bytes) live in a second database updated in
// that transaction. A full map (MDB_MAP_FULL) aborts the transaction, so the
// records already stored are kept and the error says what to raise.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/lmdb.hpp"

namespace troupe::serving {

/// One predicted row.
struct prediction_record {
  /// Id of the request the row came in (any bytes, any length).
  std::string request_id;
  /// Index of the row within its request.
  uint32_t row = 0;
  /// Name of the deployment that answered.
  std::string deployment;
  /// Model name and version that produced the prediction.
  std::string model;
  uint32_t version = 0;
  /// When the request was answered, in microseconds since the epoch (UTC).
  int64_t time_us = 0;
  /// Latency of the whole request, in microseconds.
  int64_t latency_us = 0;
  /// The row's numeric feature vector, if stored.
  std::vector<float> inputs;
  /// The row's raw cells as text (categorical strings, …), if stored.
  std::vector<std::string> input_cells;
  /// True when only a 64-bit hash of the inputs is kept (then `inputs` and
  /// `input_cells` are empty).
  bool hashed = false;
  /// The hash of the inputs when `hashed` (see hash_inputs).
  uint64_t input_hash = 0;
  /// The model's outputs: class probabilities or the regression value.
  std::vector<float> scores;
  /// The predicted class; empty for regression.
  std::string label;
  /// How sure the model was (e.g. the top class probability).
  float confidence = 0;
};

/// FNV-1a 64-bit hash of a record's inputs (feature bits, then cells with
/// their lengths): equal inputs hash equal across processes and machines.
uint64_t hash_inputs(const prediction_record& r);

/// Replaces a record's inputs by their hash (no-op if already hashed).
void hash_in_place(prediction_record& r);

/// Serializes a record compactly (a versioned binary layout with varints).
std::string encode(const prediction_record& r);

/// Reads encode()'s bytes back; an error names what is wrong.
caf::expected<prediction_record> decode(std::string_view bytes);

/// Settings of a prediction log.
struct prediction_log_options {
  /// Most records kept; older ones are deleted. Must be at least 1.
  uint64_t max_records = 1'000'000;
  /// Most bytes of records (keys and encoded values) kept; 0: no byte bound.
  uint64_t max_bytes = uint64_t{1} << 30;
  /// LMDB map size; 0 derives one from the bounds: 3 × max_bytes + 64 MiB
  /// (room for copy-on-write pages and readers holding old snapshots), or
  /// 16 GiB without a byte bound. An explicit one must be >= 2 × max_bytes.
  size_t map_size = 0;
  /// Keep only a hash of each record's inputs (privacy, space).
  bool hash_inputs = false;
  /// Skip the fsync at commit: a crash may lose the last batches, never
  /// corrupt the log.
  bool no_sync = true;
};

/// Counters of a log.
struct prediction_log_stats {
  /// Records stored now.
  uint64_t records = 0;
  /// Bytes of the stored records (keys and values).
  uint64_t bytes = 0;
  /// Sequence number of the oldest stored record (== next_seq when empty).
  uint64_t first_seq = 0;
  /// Sequence number the next appended record gets (= records ever
  /// appended).
  uint64_t next_seq = 0;
};

/// Which records an export looks at.
struct export_filter {
  /// Only this deployment; empty: every deployment.
  std::string deployment;
  /// Only this model; empty: every model.
  std::string model;
  /// Only records at or after this time (microseconds since the epoch);
  /// by default every record.
  int64_t since_us = std::numeric_limits<int64_t>::min();
  /// Header names of the input columns; missing ones are input_0, …
  std::vector<std::string> input_names;
  /// Header names of the score columns (e.g. class names); missing ones are
  /// score_0, …
  std::vector<std::string> score_names;
};

/// A bounded, rotating log of predictions in an LMDB environment. Safe to use
/// from several threads and processes (LMDB serializes writers; readers see
/// snapshots); no transaction outlives a call.
class prediction_log {
public:
  /// Opens (creating) the log in directory `dir`. Fails on bad options
  /// (max_records 0, map too small for max_bytes) or a damaged store, with a
  /// message naming the directory.
  static caf::expected<std::unique_ptr<prediction_log>>
  open(const std::string& dir, prediction_log_options opts = {});

  /// Appends a batch in one write transaction and trims the oldest records
  /// until the bounds hold. If the batch alone exceeds max_records only its
  /// newest max_records rows are written. A record larger than max_bytes, or
  /// a full map, fails the whole batch and keeps what was stored.
  caf::error append(const std::vector<prediction_record>& batch);

  /// The number of records stored.
  caf::expected<size_t> size();

  /// Record count, bytes and sequence numbers.
  caf::expected<prediction_log_stats> stats();

  /// Calls f(seq, record) for up to `limit` stored records with sequence
  /// number >= from_seq, oldest first, until f returns false. A damaged
  /// record is an error naming its sequence number.
  caf::error
  scan(uint64_t from_seq, size_t limit,
       const std::function<bool(uint64_t, const prediction_record&)>& f);

  /// Writes the records matching `filter` whose confidence is below
  /// `threshold` (or NaN: a model that cannot say how sure it is) as CSV:
  /// request_id,row,deployment,model,version,time,latency_us,label,
  /// confidence, then input columns (cells if a record has them, else its
  /// feature values) or input_hash when a record's inputs were hashed, then
  /// score columns. Returns the number of rows written.
  caf::expected<size_t> export_low_confidence(double threshold,
                                              std::ostream& out,
                                              const export_filter& filter = {});

  /// The directory of the store.
  const std::string& path() const { return env_.path(); }

private:
  prediction_log(lmdb::env env, MDB_dbi records, MDB_dbi meta,
                 prediction_log_options opts)
      : env_(std::move(env)), records_(records), meta_(meta), opts_(opts) {}
  caf::expected<prediction_log_stats> read_stats(lmdb::txn& t);
  lmdb::env env_;
  MDB_dbi records_;
  MDB_dbi meta_;
  prediction_log_options opts_;
};

} // namespace troupe::serving
